"""The body of stage faces_evaluate: pixels, the pretrained and the trained encoder side by side on the test
people (never trained on, never calibrated on).

Per model: verification ROC (AUC, TAR at the target FAR, TAR/FAR at the threshold calibrated
on dev), identification top-1, clustering (k-means and HDBSCAN: purity, NMI, merged people);
and an embedding map of the encoder chosen on dev.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from tasks.config import BaseParams
from tasks.faces.cluster import choose_k, density
from tasks.faces.config import ClusterParams, DatabaseParams
from tasks.faces.encoder import load_encoder, pretrained_encoder, resize_crops
from tasks.faces.metrics import clustering_scores, identification, probe_scores, verification
from tasks.faces.split import gallery_and_probes
from tasks.faces.splitdata import embed_split, load_split
from tasks.faces.train import pixel_vectors
from tasks.io import write_json, write_text


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


def score(name: str, vectors: np.ndarray, persons: np.ndarray, gallery: np.ndarray, threshold: float | None,
          database: DatabaseParams, cluster: ClusterParams, seed: int, tmp: Path) -> dict:
    """Verification, identification and both clusterings of one model's test vectors."""
    d, same = probe_scores(vectors[gallery], persons[gallery], vectors[~gallery], persons[~gallery])
    v, curve = verification(d, same, database.target_far, threshold)
    thin_curve(curve).to_csv(tmp / f"roc_{name}.csv", index=False)
    ident = identification(vectors[gallery], persons[gallery], vectors[~gallery], persons[~gallery], database.k,
                           threshold if threshold is not None else 1e9)
    labels, k, _ = choose_k(vectors, cluster.k_min, min(cluster.k_max, len(vectors) - 1), seed, cluster.n_init,
                            cluster.min_silhouette)
    dens = density(vectors, cluster.min_cluster_size, cluster.min_samples)
    return {"verification": v, "identification": ident,
            "kmeans": clustering_scores(persons, labels) | {"chosen_k": int(k)},
            "hdbscan": clustering_scores(persons, dens)}


def evaluate_into(tmp: Path, base: BaseParams, database: DatabaseParams, cluster: ClusterParams,
                  train_dir: Path, faces: Path, crops: Path, people: Path, pretrained: Path) -> dict:
    cands = json.loads((train_dir / "candidates.json").read_text())
    chosen = load_encoder(train_dir / "encoder")
    trained = load_encoder(train_dir / "trained")
    test = load_split(faces, crops, people, "test", pretrained)
    gallery = np.array(gallery_and_probes(test.ids, list(test.persons), database.gallery_per_person))
    models = {"pixels": (pixel_vectors(resize_crops(test.crops, trained.detect.crop_size)), None),
              "trained": (embed_split(trained, test), cands["candidates"]["trained"]["threshold"])}
    if "pretrained" in cands["candidates"]:
        enc = pretrained_encoder(chosen.detect)
        models["pretrained"] = (embed_split(enc, test), cands["candidates"]["pretrained"]["threshold"])
    metrics: dict = {"test_people": int(len(set(test.persons))), "test_photos": int(len(test.persons)),
                     "target_far": database.target_far, "chosen_on_dev": cands["chosen"],
                     "trained_kind": trained.kind, "models": {}}
    for name, (vectors, threshold) in models.items():
        metrics["models"][name] = score(name, vectors, test.persons, gallery, threshold, database, cluster,
                                        base.seed, tmp)
    best = models[cands["chosen"]][0]
    embedding_map(tmp / "embedding_map.png", best, test.persons, base.seed)
    write_json(tmp / "metrics.json", metrics)
    rows = []
    for name, m in metrics["models"].items():
        v, km, hd = m["verification"], m["kmeans"], m["hdbscan"]
        tag = f"{name} ({trained.kind})" if name == "trained" else name
        tag += " **chosen on dev**" if name == cands["chosen"] else ""
        calib = (f"{v['tar_at_calibrated']:.4f} / {v['far_at_calibrated']:.4f}" if "tar_at_calibrated" in v
                 else "-")
        rows.append(f"| {tag} | {v['auc']:.4f} | {v['tar_at_far']:.4f} | {calib} | "
                    f"{m['identification']['top1']:.4f} | {km['purity']:.3f} / {km['nmi']:.3f} / "
                    f"{km['merged_people']} | {hd['purity']:.3f} / {hd['nmi']:.3f} / {hd['merged_people']} / "
                    f"{hd['assigned']:.2f} |")
    report = (f"### faces evaluate ({metrics['test_people']} test people, {metrics['test_photos']} photos)\n\n"
              f"| model | AUC | TAR @ FAR {database.target_far} | TAR / FAR at dev threshold | top-1 | "
              "k-means purity / NMI / merged | HDBSCAN purity / NMI / merged / assigned |\n"
              "|---|---|---|---|---|---|---|\n" + "\n".join(rows) + "\n")
    write_text(tmp / "report.md", report)
    return metrics | {"report": report}
