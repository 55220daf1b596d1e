"""Turn a catalogue into usable images and a quarantine report, with duplicate groups.

Nothing here decodes a file again: the catalogue already holds what decoding found, so
changing a limit only re-runs this cheap step.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from tasks.images.hashing import near_duplicate_groups
from tasks.images.io import ImageLimits, size_problem

QUARANTINE_COLUMNS = ["path", "rel_path", "label", "reason"]


def _label_problem(label: str, allowed: Sequence[str] | None) -> str | None:
    if not label:
        return "no label: the file is not in a class folder"
    if allowed is not None and label not in allowed:
        return f"unknown label: {label!r} is not one of {', '.join(allowed)}"
    return None


def review(catalogue: pd.DataFrame, limits: ImageLimits, near_distance: int,
           labels: Sequence[str] | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Split ``catalogue`` rows into ``(usable, quarantine)``.

    Quarantined, with the reason: files that could not be read, unknown labels, images too
    small or too elongated, extra copies of the same bytes, and every copy of bytes that
    carry two different labels. Usable rows gain ``group`` (near duplicates share it: the
    SHA-256 prefix of the group's member with the smallest hash), ``group_size`` and
    ``duplicates`` (how many identical copies were set aside).
    """
    cat = catalogue.sort_values("path", kind="stable").reset_index(drop=True)
    reasons: list[str | None] = []
    for row in cat.itertuples(index=False):
        reason = row.error if isinstance(row.error, str) and row.error else None
        reason = reason or _label_problem(row.label, labels)
        if reason is None:
            reason = size_problem(int(row.width), int(row.height), limits)
        reasons.append(reason)
    cat["reason"] = reasons
    ok = cat.reason.isna()
    # exact duplicates among the files that passed so far
    dups = cat[ok].groupby("sha256", sort=False)
    cat["duplicates"] = 0
    for _, idx in dups.groups.items():
        if len(idx) < 2:
            continue
        members = cat.loc[idx].sort_values("path", kind="stable")
        if members.label.nunique() > 1:
            names = ", ".join(members.rel_path)
            conflict = f"label conflict: the same bytes are labelled {' and '.join(sorted(set(members.label)))} ({names})"
            cat.loc[members.index, "reason"] = conflict
        else:
            first = members.index[0]
            cat.loc[members.index[1:], "reason"] = f"duplicate: same bytes as {members.rel_path.iloc[0]}"
            cat.loc[first, "duplicates"] = len(members) - 1
    quarantine = cat[cat.reason.notna()][QUARANTINE_COLUMNS].reset_index(drop=True)
    usable = cat[cat.reason.isna()].drop(columns=["reason", "error"]).reset_index(drop=True)
    usable["group"], usable["group_size"] = _groups(usable, near_distance)
    return usable, quarantine


def _groups(usable: pd.DataFrame, near_distance: int) -> tuple[list[str], list[int]]:
    if usable.empty:
        return [], []
    first = near_duplicate_groups(usable.phash.tolist(), near_distance)
    sha = usable.sha256.to_numpy()
    anchor: dict[int, str] = {}
    for i, g in enumerate(first.tolist()):
        anchor[g] = min(anchor.get(g, sha[i]), sha[i])
    sizes = pd.Series(first).value_counts()
    return [anchor[g][:16] for g in first.tolist()], [int(sizes[g]) for g in first.tolist()]


def resolution_table(usable: pd.DataFrame, candidates: Sequence[int]) -> pd.DataFrame:
    """For each candidate input size: how many usable images have a shorter side below it.

    Those images would be upsampled to reach that input size: they carry less detail than
    the model is given.
    """
    short = np.minimum(usable.width.to_numpy(), usable.height.to_numpy()) if len(usable) else np.zeros(0)
    n = max(1, len(short))
    return pd.DataFrame([{"resolution": int(s), "below": int((short < s).sum()),
                          "share_below": round(float((short < s).sum()) / n, 4), "images": len(short)}
                         for s in sorted(candidates)])


def group_summary(usable: pd.DataFrame) -> dict:
    """Counts of near-duplicate groups, for reports."""
    if usable.empty:
        return {"groups": 0, "in_groups_of_2_or_more": 0, "largest_group": 0, "mixed_label_groups": 0}
    mixed = usable.groupby("group").label.nunique()
    return {"groups": int(usable.group.nunique()),
            "in_groups_of_2_or_more": int((usable.group_size > 1).sum()),
            "largest_group": int(usable.group_size.max()),
            "mixed_label_groups": int((mixed > 1).sum())}
