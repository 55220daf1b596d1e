"""The real-photo check: labelled photographs a model never trains on, scored per source.

A check set is a CSV (``file`` or ``path``, ``label``, optionally ``source_package`` or
``source``; paths relative to the CSV). Its pictures go through the same preprocessing as
training's (one reduced-size decode, squeezed to the thumbnail square). Scores: accuracy,
the recall of each class and their mean (balanced accuracy: a check set of 13 days and 3
nights must not reward calling everything day), overall and per source.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from tasks.errors import DataError
from tasks.images.io import ImageReadError, load_image
from tasks.images.thumbs import square


def read_check_set(manifest: Path | str, labels: tuple[str, str]) -> pd.DataFrame:
    """Rows ``path, file, label, source`` of the check CSV; a clear error naming the file otherwise."""
    manifest = Path(manifest)
    if not manifest.is_file():
        raise DataError(f"{manifest}: real-photo check manifest not found (day_night.check.manifest)")
    table = pd.read_csv(manifest)
    name = "file" if "file" in table else "path"
    if name not in table or "label" not in table:
        raise DataError(f"{manifest}: needs a file (or path) column and a label column")
    bad = sorted(set(table.label) - set(labels))
    if bad:
        raise DataError(f"{manifest}: labels {bad} are not among {list(labels)}")
    source = next((c for c in ("source_package", "source") if c in table), None)
    return pd.DataFrame({"path": [str(manifest.parent / f) for f in table[name]], "file": table[name],
                         "label": table.label, "source": table[source] if source else "check"})


def check_thumbs(frame: pd.DataFrame, thumb_size: int) -> np.ndarray:
    """``(n, S, S, 3)`` uint8 thumbnails, made as collect makes them; an unreadable file stops the run."""
    out = np.zeros((len(frame), thumb_size, thumb_size, 3), np.uint8)
    for i, path in enumerate(frame.path):
        try:
            img, _ = load_image(path, min_side=thumb_size)
        except (ImageReadError, OSError) as exc:
            raise DataError(f"{path}: check photo unreadable ({exc})") from None
        out[i] = square(img, thumb_size)
    return out


def _scores(y: np.ndarray, pred: np.ndarray, labels: tuple[str, str]) -> dict:
    row: dict = {"n": int(len(y)), "accuracy": round(float(np.mean(pred == y)), 4) if len(y) else None}
    recalls = []
    for k, name in enumerate(labels):
        sel = y == k
        r = float(np.mean(pred[sel] == k)) if sel.any() else None
        row[f"n_{name}"] = int(sel.sum())
        row[f"recall_{name}"] = None if r is None else round(r, 4)
        if r is not None:
            recalls.append(r)
    row["balanced_accuracy"] = round(float(np.mean(recalls)), 4) if recalls else None
    return row


def check_scores(frame: pd.DataFrame, p: np.ndarray, labels: tuple[str, str], threshold: float) -> dict:
    """Scores overall and per source for P(positive) ``p`` of the check set's rows."""
    y = (frame.label == labels[1]).to_numpy().astype(int)
    pred = (np.asarray(p) >= threshold).astype(int)
    sources = frame.source.to_numpy()
    return {"all": _scores(y, pred, labels),
            "per_source": {str(s): _scores(y[sources == s], pred[sources == s], labels)
                           for s in sorted(set(sources))}}
