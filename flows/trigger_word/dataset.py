"""Command `dataset`: a labelled clip set from a user's own recordings (no text to speech)."""

from __future__ import annotations

import json
from pathlib import Path

from prefect import flow

from flows.runtime import logger, publish_table
from flows.trigger_word.collect import collect_into, publish_collect
from flows.trigger_word.synthesize import synthesize_into
from tasks.config import BaseParams
from tasks.io import atomic_output_dir
from tasks.trigger_word.clipset import split_pools
from tasks.trigger_word.config import SPLITS, TriggerWordParams, UserFolders
from tasks.trigger_word.split import split_into


def apportion(total: int, fractions: dict[str, float]) -> dict[str, int]:
    """Split ``total`` clips over the splits by ``fractions`` (largest remainder, exact sum)."""
    raw = {s: total * fractions.get(s, 0.0) for s in SPLITS}
    counts = {s: int(v) for s, v in raw.items()}
    for s in sorted(SPLITS, key=lambda s: (counts[s] - raw[s], SPLITS.index(s)))[: total - sum(counts.values())]:
        counts[s] += 1
    return counts


def dataset_params(params: TriggerWordParams, positives: str, negatives: str | None,
                   backgrounds: str | None) -> TriggerWordParams:
    """The pipeline's params with text to speech off and the user's folders as the only words."""
    c = params.collect
    gen = c.generated_backgrounds if backgrounds is None else c.generated_backgrounds.model_copy(update={"count": 0})
    collect = c.model_copy(update={
        "tts": c.tts.model_copy(update={"enabled": False}),
        "user": UserFolders(positives_dir=positives, negatives_dir=negatives, backgrounds_dir=backgrounds),
        "generated_backgrounds": gen,
        "min_negatives": 0 if negatives is None else c.min_negatives,
    })
    return params.model_copy(update={"collect": collect})


def dataset_inputs(params: TriggerWordParams) -> list[tuple[str, str | None]]:
    """The folders ``dataset`` reads, by the flag that names them (an output must stay clear of them)."""
    u = params.collect.user
    return [("--positives", u.positives_dir), ("--negatives", u.negatives_dir),
            ("--backgrounds", u.backgrounds_dir),
            ("trigger_word.synthesize.hard_negatives_dir", params.synthesize.hard_negatives_dir)]


@flow(name="trigger-word-dataset")
def dataset(base: BaseParams, params: TriggerWordParams, out_dir: str, clips: int, force: bool = False) -> dict:
    """Validate, split and synthesise a user's recordings into ``out_dir`` (replaced atomically).

    ``out_dir`` must be new, empty or a previous output (see :func:`tasks.io.check_output_dir`)
    unless ``force``, and never an input folder or inside one.

    ``OUT/clips.parquet`` lists the clips, ``OUT/<split>/`` holds them, ``OUT/collect/``
    the checked words and backgrounds with ``quarantine.parquet``, ``OUT/split/`` the split.
    """
    out_dir = Path(out_dir)
    with atomic_output_dir(out_dir, dataset_inputs(params), "flows.trigger_word dataset", force=force) as tmp:
        tmp = Path(tmp)
        collected = collect_into(tmp / "collect", base, params.collect)
        split_into(tmp / "split", tmp / "collect", base, params.split)
        fractions = json.loads((tmp / "split" / "summary.json").read_text())["fractions"]
        synth = params.synthesize.model_copy(update={"clips": apportion(clips, fractions)})
        pools = split_pools(tmp / "collect", tmp / "split")
        # One WAV per clip (not shards): a user's clip set goes into other tools, clip by clip.
        rows = synthesize_into(tmp, pools, base, synth, params.collect.sample_rate, base.workers,
                               one_file_per_clip=True)
    publish_collect(collected, prefix="trigger-word-dataset-collect")
    publish_table("trigger-word-dataset", rows, "Clips per split")
    logger().info("dataset: %s -> %s", rows, out_dir)
    return {"collect": collected["summary"], "clips": rows}
