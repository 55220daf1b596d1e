"""Stage `word_encoder`: the word encoder of ``enrol-word`` (see :mod:`tasks.trigger_word.word_encoder_stage`)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from prefect import flow

from flows.runtime import logger, stage_main, with_runner
from tasks.config import BaseParams
from tasks.io import atomic_dir, write_json, write_text
from tasks.trigger_word.config import Layout, TriggerWordParams
from tasks.trigger_word.word_encoder_stage import run as train_word_encoder


@flow(name="trigger-word-word-encoder")
def word_encoder(base: BaseParams, params: TriggerWordParams, data_dir: str) -> dict:
    """Train the encoder into ``layout.word_encoder`` (replaced atomically) and write its reports."""
    layout = Layout(data_dir)
    tts = params.collect.tts
    grid = [(r, p) for r in tts.rates for p in tts.pitches]
    with atomic_dir(layout.word_encoder) as tmp:
        metrics, history, dev_curve = train_word_encoder(Path(tmp), layout.collect, layout.split, params.word_encoder, grid,
                                          base.seed)
    layout.reports.mkdir(parents=True, exist_ok=True)
    write_text(layout.word_encoder_history, pd.DataFrame(history).to_csv(index=False))
    write_text(layout.word_encoder_dev_curve, pd.DataFrame(dev_curve).to_csv(index=False))
    write_json(layout.word_encoder_metrics, metrics)
    logger().info("word encoder: dev missed %.3f at %.2f FA/h (lambda %.2f)", metrics["dev_missed_rate"],
                  metrics["dev_false_accepts_per_hour"], metrics["lambda"])
    return metrics


def run(base: BaseParams, params: TriggerWordParams, layout: Layout, runner: str | None = None) -> None:
    """Stage tw_word_encoder."""
    with_runner(word_encoder, base, runner)(base, params, str(base.data_dir))


if __name__ == "__main__":
    stage_main(run, "trigger_word", TriggerWordParams, Layout)
