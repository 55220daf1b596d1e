"""Grouping unlabelled faces by person: k-means with k chosen by the silhouette score.

Why the silhouette: the triplet loss trains the encoder to put every photo closer to its
own person's photos than to anyone else's by a margin, and the silhouette measures exactly
that per photo (``(b - a) / max(a, b)``: distance to the nearest other cluster ``b`` against
the mean distance within its own cluster ``a``). It needs no eyeballing (the elbow does)
and no Gaussian model of each cluster (X-means' BIC assumes spherical clusters of shared
variance in 128 dimensions, which unit-length embeddings are not). Its limit: it is
undefined for a single cluster, so a collection whose best silhouette stays below
``min_silhouette`` is reported as one person.
"""

from __future__ import annotations

import numpy as np
from sklearn.cluster import HDBSCAN, KMeans
from sklearn.metrics import silhouette_score


def kmeans(emb: np.ndarray, k: int, seed: int, n_init: int = 4) -> tuple[np.ndarray, float]:
    """Labels and inertia of k-means with ``k`` clusters (k-means++ starts drawn from ``seed``)."""
    km = KMeans(n_clusters=k, n_init=n_init, random_state=seed).fit(emb.astype(np.float64))
    return km.labels_.astype(np.int64), float(km.inertia_)


def choose_k(emb: np.ndarray, k_min: int, k_max: int, seed: int, n_init: int = 4,
             min_silhouette: float = 0.1, sample: int = 3000) -> tuple[np.ndarray, int, list[dict]]:
    """Cluster ``emb`` for every k in ``[k_min, k_max]`` (capped at n - 1) and keep the best silhouette.

    Returns (labels, k, one row per k tried: k, silhouette, inertia). Silhouettes are computed
    on at most ``sample`` photos (drawn from ``seed``) to keep large collections quick.
    """
    n = len(emb)
    if n == 0:
        return np.zeros(0, np.int64), 0, []
    hi = min(k_max, n - 1)
    lo = max(2, k_min)
    if hi < lo:
        return np.zeros(n, np.int64), 1, []
    rows, best = [], (-2.0, 1, np.zeros(n, np.int64))
    for k in range(lo, hi + 1):
        labels, inertia = kmeans(emb, k, seed, n_init)
        score = float(silhouette_score(emb, labels, sample_size=min(sample, n), random_state=seed))
        rows.append({"k": k, "silhouette": score, "inertia": inertia})
        if score > best[0]:
            best = (score, k, labels)
    if best[0] < min_silhouette:
        return np.zeros(n, np.int64), 1, rows
    return _relabel(best[2]), best[1], rows


def density(emb: np.ndarray, min_cluster_size: int = 2, min_samples: int = 1) -> np.ndarray:
    """HDBSCAN labels: photos it is not sure of stay unassigned (-1).

    A photo gallery suffers more from two people merged than from one person split, and a
    density method does not have to put every photo somewhere: k-means must, so an odd photo
    (profile, blur) drags a cluster towards its neighbour's person. No k to choose either.
    """
    if len(emb) < max(2, min_cluster_size):
        return np.full(len(emb), -1, np.int64)
    labels = HDBSCAN(min_cluster_size=min_cluster_size, min_samples=min_samples, copy=True).fit(
        emb.astype(np.float64)).labels_
    return _relabel(labels.astype(np.int64))


def _relabel(labels: np.ndarray) -> np.ndarray:
    """Number clusters by size (largest first, then first appearance) so output is stable; -1 stays -1."""
    kept = labels[labels >= 0]
    if len(kept) == 0:
        return labels.astype(np.int64)
    uniq, first, counts = np.unique(kept, return_index=True, return_counts=True)
    order = sorted(range(len(uniq)), key=lambda i: (-counts[i], first[i]))
    mapping = {uniq[i]: new for new, i in enumerate(order)} | {-1: -1}
    return np.array([mapping[v] for v in labels], np.int64)
