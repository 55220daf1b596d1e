"""Stage `evaluate`: the encoder on the test people (never trained on, never calibrated on).

Verification ROC (AUC, TAR at the calibrated threshold and at the target FAR) beside the
pixel-distance baseline, identification top-1, clustering purity/NMI, and an embedding map.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from prefect import flow

from flows.faces.train import load_split_crops
from flows.runtime import logger, publish_markdown, publish_table
from tasks.config import BaseParams
from tasks.faces.cluster import choose_k
from tasks.faces.config import ClusterParams, DatabaseParams
from tasks.faces.encoder import load_encoder
from tasks.faces.metrics import clustering_scores, identification, probe_scores, verification
from tasks.faces.split import gallery_and_probes
from tasks.faces.train import embed_crops, pixel_vectors
from tasks.io import atomic_dir, write_json, write_text


def thin_curve(curve: dict, points: int = 200) -> pd.DataFrame:
    frame = pd.DataFrame(curve)
    if len(frame) > points:
        frame = frame.iloc[np.unique(np.linspace(0, len(frame) - 1, points).round().astype(int))]
    return frame.round(6)


def embedding_map(path: Path, emb: np.ndarray, persons: np.ndarray, seed: int) -> None:
    """2-D t-SNE of the test embeddings, one colour per person."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sklearn.manifold import TSNE

    xy = TSNE(2, perplexity=min(30.0, max(2.0, (len(emb) - 1) / 3)), init="pca",
              random_state=seed).fit_transform(emb.astype(np.float64))
    fig, ax = plt.subplots(figsize=(6, 6), dpi=100)
    names = sorted(set(persons))
    cmap = plt.get_cmap("tab20", max(len(names), 1))
    for i, name in enumerate(names):
        m = persons == name
        ax.scatter(xy[m, 0], xy[m, 1], s=18, color=cmap(i), label=name if len(names) <= 20 else None)
    ax.set_title(f"Test people's embeddings (t-SNE), {len(names)} people")
    ax.set_xticks([])
    ax.set_yticks([])
    if len(names) <= 20:
        ax.legend(fontsize=6, loc="best", ncol=2)
    fig.tight_layout()
    fig.savefig(path, metadata={"Software": None})
    plt.close(fig)


def evaluate_into(tmp: Path, base: BaseParams, database: DatabaseParams, cluster: ClusterParams,
                  encoder_dir: Path, faces: Path, crops: Path, people: Path) -> dict:
    encoder = load_encoder(encoder_dir)
    threshold = encoder.calibration["threshold"]
    x, persons, ids = load_split_crops(faces, crops, people, "test")
    gallery = np.array(gallery_and_probes(ids, list(persons), database.gallery_per_person))
    metrics: dict = {"test_people": int(len(set(persons))), "test_photos": int(len(x)),
                     "threshold": threshold, "target_far": database.target_far}
    emb = embed_crops(encoder.model, x)
    for name, vectors in (("encoder", emb), ("pixels", pixel_vectors(x))):
        d, same = probe_scores(vectors[gallery], persons[gallery], vectors[~gallery], persons[~gallery])
        v, curve = verification(d, same, database.target_far, threshold if name == "encoder" else None)
        metrics[f"{name}_verification"] = v
        thin_curve(curve).to_csv(tmp / f"roc_{name}.csv", index=False)
        metrics[f"{name}_identification"] = identification(
            vectors[gallery], persons[gallery], vectors[~gallery], persons[~gallery], database.k,
            threshold if name == "encoder" else 2.0)
    labels, k, _ = choose_k(emb, cluster.k_min, min(cluster.k_max, len(emb) - 1), base.seed, cluster.n_init,
                            cluster.min_silhouette)
    metrics["clustering"] = clustering_scores(persons, labels) | {"chosen_k": int(k)}
    embedding_map(tmp / "embedding_map.png", emb, persons, base.seed)
    write_json(tmp / "metrics.json", metrics)
    ev, px = metrics["encoder_verification"], metrics["pixels_verification"]
    report = (f"### faces evaluate ({metrics['test_people']} test people)\n\n"
              f"| | AUC | TAR @ FAR {database.target_far} | top-1 |\n|---|---|---|---|\n"
              f"| encoder | {ev['auc']:.4f} | {ev['tar_at_far']:.4f} | {metrics['encoder_identification']['top1']:.4f} |\n"
              f"| pixels | {px['auc']:.4f} | {px['tar_at_far']:.4f} | {metrics['pixels_identification']['top1']:.4f} |\n\n"
              f"Calibrated threshold {threshold:.4f}: TAR {ev['tar_at_calibrated']:.4f}, "
              f"FAR {ev['far_at_calibrated']:.4f}. Clustering: k = {k}, purity "
              f"{metrics['clustering']['purity']:.4f}, NMI {metrics['clustering']['nmi']:.4f}.\n")
    write_text(tmp / "report.md", report)
    return metrics | {"report": report}


@flow(name="faces-evaluate")
def evaluate(base: BaseParams, database: DatabaseParams, cluster: ClusterParams, encoder_dir: str, faces: str,
             crops: str, people: str, out_dir: str) -> dict:
    """Write metrics.json, roc_encoder.csv, roc_pixels.csv, embedding_map.png and report.md."""
    with atomic_dir(out_dir) as tmp:
        metrics = evaluate_into(Path(tmp), base, database, cluster, Path(encoder_dir), Path(faces), Path(crops),
                                Path(people))
    report = metrics.pop("report")
    publish_markdown("faces-evaluate", report, "Faces evaluation on held-out people")
    publish_table("faces-evaluate-verification",
                  [{"model": m, **metrics[f"{m}_verification"]} for m in ("encoder", "pixels")],
                  "Verification on held-out people")
    logger().info("faces evaluate:\n%s", report)
    return metrics
