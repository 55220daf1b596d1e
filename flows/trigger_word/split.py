"""Stage `split`: train/dev/test assignment with no voice or background in two splits."""

from __future__ import annotations

from pathlib import Path

from prefect import flow

from flows.runtime import logger, publish_table, stage_main, with_runner
from tasks.config import BaseParams
from tasks.io import atomic_dir
from tasks.trigger_word.config import Layout, SplitParams, TriggerWordParams
from tasks.trigger_word.split import split_into


@flow(name="trigger-word-split")
def split(base: BaseParams, params: SplitParams, collect_dir: str, out_dir: str) -> list[dict]:
    """Assign every collected file to train, dev or test (``out_dir`` replaced atomically)."""
    with atomic_dir(out_dir) as tmp:
        counts = split_into(Path(tmp), Path(collect_dir), base, params)
    publish_table("trigger-word-split", counts, "Files and speaker groups per split and kind")
    for row in counts:
        logger().info("split %(split)-5s %(kind)-10s files=%(files)5d groups=%(groups)4d", row)
    return counts


def run(base: BaseParams, params: TriggerWordParams, layout: Layout, runner: str | None = None) -> None:
    """Stage tw_split: train/dev/test with no voice or background in two splits."""
    with_runner(split, base, runner)(base, params.split, str(layout.collect), str(layout.split))


if __name__ == "__main__":
    stage_main(run, "trigger_word", TriggerWordParams, Layout)
