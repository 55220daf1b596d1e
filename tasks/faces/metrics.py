"""Verification, identification and clustering metrics on embeddings (any unit vectors).

Distances are Euclidean between unit vectors (0 = identical, 2 = opposite). A pair
*matches* when its distance is at most the threshold.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.metrics import normalized_mutual_info_score, roc_auc_score, roc_curve


def pair_distances(emb: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distances and same-person flags of every unordered pair ``i < j``."""
    emb = emb.astype(np.float64)
    sq = np.clip(2.0 - 2.0 * emb @ emb.T, 0.0, None)  # unit vectors: |a - b|^2 = 2 - 2 a.b
    i, j = np.triu_indices(len(emb), k=1)
    return np.sqrt(sq[i, j]), labels[i] == labels[j]


def threshold_for_far(impostor: np.ndarray, target_far: float) -> float:
    """The largest distance threshold whose false-accept rate on ``impostor`` distances is at most
    ``target_far`` (a pair matches when its distance is <= the threshold)."""
    if len(impostor) == 0:
        raise ValueError("no impostor pairs to calibrate on (need at least two people)")
    d = np.sort(impostor)
    allowed = int(np.floor(target_far * len(d)))
    if allowed >= len(d):
        return float(d[-1])
    return float(np.nextafter(d[allowed], 0.0))


def rates_at(dist: np.ndarray, same: np.ndarray, threshold: float) -> tuple[float, float]:
    """(true-accept rate, false-accept rate) at a threshold."""
    accept = dist <= threshold
    tar = float(accept[same].mean()) if same.any() else float("nan")
    far = float(accept[~same].mean()) if (~same).any() else float("nan")
    return tar, far


def verification(dist: np.ndarray, same: np.ndarray, target_far: float,
                 threshold: float | None = None) -> tuple[dict, dict]:
    """ROC summary: AUC, TAR at the target FAR (threshold set on these pairs), and TAR/FAR at a
    given (calibrated elsewhere) threshold. Returns (metrics, curve with fpr/tpr/threshold lists)."""
    if same.all() or not same.any():
        raise ValueError("need both same-person and different-person pairs")
    fpr, tpr, thr = roc_curve(same.astype(int), -dist)
    auc = float(roc_auc_score(same.astype(int), -dist))
    t_own = threshold_for_far(dist[~same], target_far)
    tar_own, far_own = rates_at(dist, same, t_own)
    out = {"auc": auc, "tar_at_far": tar_own, "far_at_own_threshold": far_own, "own_threshold": t_own,
           "genuine_pairs": int(same.sum()), "impostor_pairs": int((~same).sum())}
    if threshold is not None:
        tar, far = rates_at(dist, same, threshold)
        out |= {"tar_at_calibrated": tar, "far_at_calibrated": far}
    curve = {"fpr": fpr.tolist(), "tpr": tpr.tolist(), "threshold": np.minimum(-thr, 4.0).tolist()}
    return out, curve


def knn_vote(dists: np.ndarray, persons: list[str], threshold: float | None) -> str | None:
    """The person chosen from the k nearest neighbours (``dists`` ascending, ``persons`` theirs).

    Only neighbours within ``threshold`` vote; the person with the most votes wins, ties going
    to the one with the nearer closest photo. None ("unknown") when no neighbour is close enough.
    """
    votes: dict[str, list[float]] = {}
    for d, p in zip(dists, persons, strict=True):
        if threshold is None or d <= threshold:
            votes.setdefault(p, []).append(float(d))
    if not votes:
        return None
    return min(votes, key=lambda p: (-len(votes[p]), min(votes[p]), p))


def identification(gallery: np.ndarray, gallery_persons: np.ndarray, queries: np.ndarray,
                   query_persons: np.ndarray, k: int, threshold: float) -> dict:
    """Top-1 accuracy of nearest-neighbour search, and accuracy of the k-NN vote with threshold
    (an "unknown" answer counts as wrong)."""
    if len(gallery) == 0 or len(queries) == 0:
        raise ValueError("identification needs a gallery and queries")
    q, g = queries.astype(np.float64), gallery.astype(np.float64)
    d = np.sqrt(np.clip((q * q).sum(1)[:, None] + (g * g).sum(1)[None, :] - 2.0 * q @ g.T, 0.0, None))
    order = np.argsort(d, axis=1, kind="stable")[:, :k]
    top1 = float(np.mean(gallery_persons[order[:, 0]] == query_persons))
    voted = [knn_vote(d[i, order[i]], list(gallery_persons[order[i]]), threshold) for i in range(len(queries))]
    correct = np.array([v == q for v, q in zip(voted, query_persons, strict=True)])
    unknown = np.array([v is None for v in voted])
    return {"top1": top1, "top1_knn_threshold": float(correct.mean()), "unknown_rate": float(unknown.mean()),
            "queries": int(len(queries)), "gallery": int(len(gallery))}


def purity(labels_true: np.ndarray, labels_pred: np.ndarray) -> float:
    """Share of items whose cluster's majority person is their own."""
    total = 0
    for c in np.unique(labels_pred):
        _, counts = np.unique(labels_true[labels_pred == c], return_counts=True)
        total += counts.max()
    return float(total / len(labels_true))


def merged_people(labels_true: np.ndarray, labels_pred: np.ndarray) -> int:
    """People whose main cluster (where most of their assigned photos went) is also another
    person's main cluster: two people merged count 2. Unassigned photos (label -1) are ignored."""
    main: dict = {}
    for person in np.unique(labels_true):
        got = labels_pred[(labels_true == person) & (labels_pred >= 0)]
        if len(got):
            values, counts = np.unique(got, return_counts=True)
            main[person] = values[np.argmax(counts)]
    shared = pd.Series(list(main.values()), dtype="int64").value_counts()
    return int(shared[shared > 1].sum())


def clustering_scores(labels_true: np.ndarray, labels_pred: np.ndarray) -> dict:
    """Purity and NMI over the photos given a cluster (label >= 0), the share given one, merged people."""
    kept = labels_pred >= 0
    t, p = labels_true[kept], labels_pred[kept]
    return {"purity": purity(t, p) if kept.any() else 0.0,
            "nmi": float(normalized_mutual_info_score(t, p)) if kept.any() else 0.0,
            "assigned": float(kept.mean()) if len(kept) else 0.0,
            "merged_people": merged_people(labels_true, labels_pred),
            "clusters": int(len(np.unique(p))), "people": int(len(np.unique(labels_true)))}


def probe_scores(gallery: np.ndarray, gallery_persons: np.ndarray, probes: np.ndarray,
                 probe_persons: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Verification scores as ``verify`` computes them: for every probe and every gallery person,
    the distance to that person's nearest gallery photo. Returns (distances, same-person flags)."""
    p, g = probes.astype(np.float64), gallery.astype(np.float64)
    sq = (p * p).sum(axis=1)[:, None] + (g * g).sum(axis=1)[None, :] - 2.0 * p @ g.T  # (M, G); any lengths
    d = np.sqrt(np.clip(sq, 0.0, None))
    people = np.unique(gallery_persons)
    per_person = np.stack([d[:, gallery_persons == p].min(axis=1) for p in people], axis=1)  # (M, people)
    same = probe_persons[:, None] == people[None, :]
    return per_person.ravel(), same.ravel()
