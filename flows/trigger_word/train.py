"""Stage `tw_train` (Prefect wiring): the lecture's model on the feature shards, best epoch kept by dev quality.

The body is :func:`tasks.trigger_word.fit.train_into` (resumable from ``train_state/``).
"""

from __future__ import annotations

from pathlib import Path

from prefect import flow

from flows.runtime import (
    markdown_table,
    publish_markdown,
    publish_table,
    stage_main,
    with_runner,
)
from tasks.config import BaseParams
from tasks.io import atomic_dir, write_json, write_text
from tasks.trigger_word.config import Layout, TrainParams, TriggerWordParams
from tasks.trigger_word.fit import history_csv, train_into


@flow(name="trigger-word-train")
def train(base: BaseParams, params: TrainParams, data_dir: str) -> dict:
    """Train the model; writes the best checkpoint to ``train/`` and metrics and history to ``reports/``."""
    layout = Layout(data_dir)
    layout.train_state.mkdir(parents=True, exist_ok=True)
    with atomic_dir(layout.train) as tmp:
        result = train_into(Path(tmp), layout, base, params)
    write_json(layout.train_metrics, result["summary"])
    write_text(layout.train_history, history_csv(result["history"]))
    publish_table("trigger-word-train-history", result["history"], "Loss and dev quality per epoch")
    publish_markdown("trigger-word-train-summary", "### train\n\n" + markdown_table([result["summary"]]),
                     "Best epoch (by dev false-reject rate at the target false accepts per hour)")
    return result["summary"]


def run(base: BaseParams, params: TriggerWordParams, layout: Layout, runner: str | None = None) -> None:
    """Stage tw_train: the model on the feature shards, best epoch kept by dev quality."""
    with_runner(train, base, runner)(base, params.train, str(base.data_dir))


if __name__ == "__main__":
    stage_main(run, "trigger_word", TriggerWordParams, Layout)
