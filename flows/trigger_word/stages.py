"""The trigger-word stages as DVC sees them (rendered into dvc.yaml by ``flows.dvc_stages``)."""

from __future__ import annotations

from tasks.trigger_word.config import Layout

CMD = "python -m flows.trigger_word"
COMMON = ["tasks/config.py", "tasks/io.py", "flows/runtime.py"]


def dvc_stages(layout: Layout) -> dict[str, dict]:
    """Stage name -> dvc.yaml entry; paths come from ``layout`` (built on ``${base.data_dir}``)."""
    return {
        "tw_collect": {
            "cmd": f"{CMD} collect",
            "deps": [*COMMON, "tasks/audio", "tasks/trigger_word/collect.py", "tasks/trigger_word/config.py",
                     "tasks/trigger_word/cross_engine.py", "flows/trigger_word/collect.py"],
            "params": ["base.seed", "trigger_word.collect"],
            "outs": [{str(layout.collect): {"persist": True}}],
        },
        "tw_split": {
            "cmd": f"{CMD} split",
            "deps": [*COMMON, "tasks/splits.py", "tasks/trigger_word/split.py", "flows/trigger_word/split.py",
                     f"{layout.collect}/positives.parquet", f"{layout.collect}/negatives.parquet",
                     f"{layout.collect}/backgrounds.parquet"],
            "params": ["base.seed", "trigger_word.split"],
            "outs": [{str(layout.split): {"persist": True}}],
        },
        "tw_synthesize": {
            "cmd": f"{CMD} synthesize",
            "deps": [*COMMON, "tasks/audio/augment.py", "tasks/audio/io.py", "tasks/trigger_word/synth.py",
                     "tasks/trigger_word/clipset.py", "tasks/trigger_word/hard_negatives.py",
                     "flows/trigger_word/synthesize.py",
                     str(layout.collect), str(layout.split)],
            "params": ["base.seed", "trigger_word.synthesize"],
            "outs": [{str(layout.clips): {"persist": True}}],
        },
        "tw_features": {
            "cmd": f"{CMD} features",
            "deps": [*COMMON, "tasks/audio/features.py", "tasks/audio/speech_embedding.py",
                     "tasks/audio/frontend_files.py", "tasks/trigger_word/features.py",
                     "flows/trigger_word/features.py", str(layout.clips)],
            "params": ["trigger_word.features"],
            "outs": [{str(layout.features): {"persist": True}}],
        },
        "tw_train": {
            "cmd": f"{CMD} train",
            "deps": [*COMMON, "models/trigger_word.py", "models/losses.py", "models/checkpoint.py",
                     "tasks/trigger_word/train.py", "tasks/trigger_word/modeling.py",
                     "tasks/trigger_word/detection.py", "flows/trigger_word/train.py",
                     str(layout.features), f"{layout.clips}/clips.parquet"],
            "params": ["base.seed", "trigger_word.train"],
            "outs": [{str(layout.train): {"persist": True}},
                     # Resumable state of a run in progress: kept across runs, never cached.
                     {str(layout.train_state): {"persist": True, "cache": False}}],
            "metrics": [{str(layout.train_metrics): {"cache": False}}],
            "plots": [{str(layout.train_history): {"cache": False, "x": "epoch",
                                                   "y": "dev_loss", "title": "Loss on dev clips per epoch"}}],
        },
        "tw_word_encoder": {
            "cmd": f"{CMD} word_encoder",
            "deps": [*COMMON, "models/word_encoder.py", "models/losses.py", "models/checkpoint.py",
                     "tasks/audio", "tasks/trigger_word/word_data.py", "tasks/trigger_word/word_encoder.py",
                     "tasks/trigger_word/word_encoder_config.py", "tasks/trigger_word/word_encoder_stage.py",
                     "tasks/trigger_word/word_eval.py", "tasks/trigger_word/enrol.py",
                     "tasks/trigger_word/detection.py", "flows/trigger_word/word_encoder.py",
                     str(layout.collect), str(layout.split)],
            "params": ["base.seed", "trigger_word.collect.tts.rates", "trigger_word.collect.tts.pitches",
                       "trigger_word.word_encoder"],
            "outs": [{str(layout.word_encoder): {"persist": True}}],
            "metrics": [{str(layout.word_encoder_metrics): {"cache": False}}],
            "plots": [{str(layout.word_encoder_history): {"cache": False, "x": "epoch", "y": "dev_loss",
                                                          "title": "Word encoder: triplet loss on dev per epoch"}},
                      {str(layout.word_encoder_dev_curve): {"cache": False, "x": "false_accepts_per_hour",
                                                            "y": "missed_rate",
                                                            "title": "enrol-word on dev: missed vs FA/h per rule"}}],
        },
        "tw_evaluate": {
            "cmd": f"{CMD} evaluate",
            "deps": [*COMMON, "models/trigger_word.py", "models/checkpoint.py", "tasks/audio",
                     "tasks/trigger_word/detection.py", "tasks/trigger_word/inference.py",
                     "tasks/trigger_word/negatives.py", "tasks/trigger_word/synth.py",
                     "tasks/trigger_word/model_card.py", "tasks/trigger_word/hard_negatives.py",
                     "tasks/trigger_word/cross_engine.py", "tasks/trigger_word/modeling.py",
                     "flows/trigger_word/evaluate.py",
                     str(layout.train), str(layout.features), str(layout.collect), str(layout.split),
                     f"{layout.clips}/clips.parquet"],
            "params": ["base.seed", "trigger_word.synthesize", "trigger_word.evaluate"],
            "outs": [{str(layout.eval): {"persist": True}}, {str(layout.model): {"persist": True}}],
            "metrics": [{str(layout.eval_metrics): {"cache": False}}],
            "plots": [{str(layout.det_test): {"cache": False, "x": "false_accepts_per_hour",
                                              "y": "false_reject_rate",
                                              "title": "DET curve on held-out voices (test)"}},
                      {str(layout.det_dev): {"cache": False, "x": "false_accepts_per_hour",
                                             "y": "false_reject_rate", "title": "DET curve (dev)"}},
                      {str(layout.det_cross_test): {"cache": False, "x": "false_accepts_per_hour",
                                                    "y": "false_reject_rate",
                                                    "title": "DET curve, engine never in training (test)"}},
                      {str(layout.det_cross_dev): {"cache": False, "x": "false_accepts_per_hour",
                                                   "y": "false_reject_rate",
                                                   "title": "DET curve, engine never in training (dev)"}}],
        },
    }
