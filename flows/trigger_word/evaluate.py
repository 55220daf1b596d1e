"""Stage `tw_evaluate` (Prefect wiring): false-reject rate and false accepts per hour on voices never heard in
training; the body (calibrate on dev, measure on test, ship) is
:func:`tasks.trigger_word.evaluation.evaluate_into`.
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
from tasks.trigger_word.config import Layout, TriggerWordParams
from tasks.trigger_word.evaluation import (
    curve_csv,
    evaluate_into,
)


@flow(name="trigger-word-evaluate")
def evaluate(base: BaseParams, params: TriggerWordParams, data_dir: str) -> dict:
    """Evaluate on held-out voices, pick the threshold on dev, ship the model to ``model/``."""
    layout = Layout(data_dir)
    with atomic_dir(layout.eval) as tmp, atomic_dir(layout.model) as model_tmp:
        result = evaluate_into(Path(tmp), Path(model_tmp), layout, base, params)
    write_json(layout.eval_metrics, result["metrics"])
    write_text(layout.det_test, curve_csv(result["curves"]["test"]))
    write_text(layout.det_dev, curve_csv(result["curves"]["dev"]))
    for split, path in (("dev", layout.det_cross_dev), ("test", layout.det_cross_test)):
        # Written even when the check is off (no material): DVC expects every declared plot.
        write_text(path, curve_csv(result["curves"].get(f"cross_engine_{split}", [])))
    m = result["metrics"]
    publish_table("trigger-word-evaluate", [m], "Operating point (threshold chosen on dev) and test results")
    publish_markdown("trigger-word-evaluate-summary", (
        f"### evaluate\n\nThreshold **{m['threshold']:.3f}** (chosen on dev for ≤ {m['target_fa_per_hour']} "
        f"false accepts per hour).\n\n- test false-reject rate: **{m['test_false_reject_rate']:.1%}** "
        f"of {m['test_positives']} positives\n- test false accepts per hour: "
        f"**{m['test_false_accepts_per_hour']:.2f}** over {m['test_negative_hours']:.2f} h\n"
        f"- false accepts listed: {result['false_accepts']}; misses listed: {result['misses']}\n\n"
        f"DET curve: `{layout.det_test}` (`dvc plots show`).\n\n" + markdown_table([m])),
        "Wake-word metrics on held-out voices")
    return m


def run(base: BaseParams, params: TriggerWordParams, layout: Layout, runner: str | None = None) -> None:
    """Stage tw_evaluate: threshold on dev, results on held-out voices, the shipped model."""
    with_runner(evaluate, base, runner)(base, params, str(base.data_dir))


if __name__ == "__main__":
    stage_main(run, "trigger_word", TriggerWordParams, Layout)
