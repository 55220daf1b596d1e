"""Stage `faces_evaluate` (Prefect wiring): pixels, the pretrained and the trained encoder side by side on the
test people (never trained on, never calibrated on); the body is :func:`tasks.faces.evaluation.evaluate_into`.

Per model: verification ROC (AUC, TAR at the target FAR, TAR/FAR at the threshold calibrated
on dev), identification top-1, clustering (k-means and HDBSCAN: purity, NMI, merged people);
and an embedding map of the encoder chosen on dev.
"""

from __future__ import annotations

from pathlib import Path

from prefect import flow

from flows.runtime import logger, publish_markdown, publish_table, stage_main, with_runner
from tasks.config import BaseParams
from tasks.faces.config import ClusterParams, DatabaseParams, FacesParams, Layout
from tasks.faces.evaluation import evaluate_into
from tasks.io import atomic_dir


@flow(name="faces-evaluate")
def evaluate(base: BaseParams, database: DatabaseParams, cluster: ClusterParams, train_dir: str, faces: str,
             crops: str, people: str, pretrained: str, out_dir: str) -> dict:
    """Write metrics.json, roc_<model>.csv, embedding_map.png and report.md."""
    with atomic_dir(out_dir) as tmp:
        metrics = evaluate_into(Path(tmp), base, database, cluster, Path(train_dir), Path(faces), Path(crops),
                                Path(people), Path(pretrained))
    report = metrics.pop("report")
    publish_markdown("faces-evaluate", report, "Faces evaluation on held-out people")
    publish_table("faces-evaluate-verification",
                  [{"model": m, **v["verification"]} for m, v in metrics["models"].items()],
                  "Verification on held-out people")
    logger().info("faces evaluate:\n%s", report)
    return metrics


def run(base: BaseParams, params: FacesParams, layout: Layout, runner: str | None = None) -> None:
    """Stage faces_evaluate: pixels, pretrained and trained encoders side by side on the test people."""
    L = layout
    with_runner(evaluate, base, runner)(base, params.database, params.cluster, str(L.train), str(L.faces),
                                        str(L.crops), str(L.assignments), str(L.pretrained), str(L.evaluate))


if __name__ == "__main__":
    stage_main(run, "faces", FacesParams, Layout)
