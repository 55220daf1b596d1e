"""The trigger-word stage registry: dvc.yaml (``python -m flows.dvc_stages``) and the CLI are made from it."""

from __future__ import annotations

from flows.registry import Stage, out, report
from tasks.trigger_word.config import Layout

DET = {"x": "false_accepts_per_hour", "y": "false_reject_rate"}


def stages(layout: Layout) -> list[Stage]:
    """The stages in run order; paths come from ``layout`` (built on ``${base.data_dir}`` for dvc.yaml)."""
    L = layout
    return [
        Stage("tw_collect", "collect", "flows.trigger_word.collect:run",
              "words (text to speech, your recordings) and backgrounds into checked manifests",
              params=["base.seed", "trigger_word.collect"], outs=[L.collect]),
        Stage("tw_split", "split", "flows.trigger_word.split:run",
              "train/dev/test with no voice or background in two splits",
              params=["base.seed", "trigger_word.split"],
              deps=[f"{L.collect}/positives.parquet", f"{L.collect}/negatives.parquet",
                    f"{L.collect}/backgrounds.parquet"],
              outs=[L.split]),
        Stage("tw_synthesize", "synthesize", "flows.trigger_word.synthesize:run",
              "labelled 10-second clips per split", params=["base.seed", "trigger_word.synthesize"],
              deps=[L.collect, L.split], outs=[L.clips]),
        Stage("tw_features", "features", "flows.trigger_word.features:run", "features of every clip, in shards",
              params=["trigger_word.features"], deps=[L.clips], outs=[L.features]),
        Stage("tw_train", "train", "flows.trigger_word.train:run", "train the model, best epoch by dev quality",
              params=["base.seed", "trigger_word.train"], deps=[L.features, f"{L.clips}/clips.parquet"],
              # train_state: the resumable state of a run in progress, kept across runs, never cached.
              outs=[L.train, out(L.train_state, cache=False)],
              metrics=[report(L.train_metrics)],
              plots=[report(L.train_history, x="epoch", y="dev_loss", title="Loss on dev clips per epoch")]),
        Stage("tw_word_encoder", "word_encoder", "flows.trigger_word.word_encoder:run",
              "the word encoder of enrol-word (triplet loss over the frozen frontend), checked on unseen words",
              params=["base.seed", "trigger_word.collect.tts.rates", "trigger_word.collect.tts.pitches",
                      "trigger_word.word_encoder"],
              deps=[L.collect, L.split], outs=[L.word_encoder], metrics=[report(L.word_encoder_metrics)],
              plots=[report(L.word_encoder_history, x="epoch", y="dev_loss",
                            title="Word encoder: triplet loss on dev per epoch"),
                     report(L.word_encoder_dev_curve, x="false_accepts_per_hour", y="missed_rate",
                            title="enrol-word on dev: missed vs FA/h per rule")]),
        Stage("tw_evaluate", "evaluate", "flows.trigger_word.evaluate:run",
              "threshold on dev, results on held-out voices, ship the model",
              params=["base.seed", "trigger_word.synthesize", "trigger_word.evaluate"],
              deps=[L.train, L.features, L.collect, L.split, f"{L.clips}/clips.parquet"],
              outs=[L.eval, L.model], metrics=[report(L.eval_metrics)],
              plots=[report(L.det_test, **DET, title="DET curve on held-out voices (test)"),
                     report(L.det_dev, **DET, title="DET curve (dev)"),
                     report(L.det_cross_test, **DET, title="DET curve, engine never in training (test)"),
                     report(L.det_cross_dev, **DET, title="DET curve, engine never in training (dev)")]),
    ]
