"""Stratified, leak-free, stable train/dev/test split of labelled images.

Near-duplicate groups are the units (a group never straddles two splits). Each group
belongs to the stratum of its most common label, and each stratum is split on its own with
:func:`tasks.splits.assign_groups`, so every split gets about the same share of every
class. A group's split depends only on the seed, its stratum and its key (a content hash),
so adding images never moves existing ones, unless a new image joins their group.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pandas as pd

from tasks.splits import SPLITS, assign_groups


def group_strata(images: pd.DataFrame) -> pd.Series:
    """Group -> the label most of its images carry (ties: the first label in sort order)."""
    counts = images.groupby(["group", "label"]).size().reset_index(name="n")
    counts = counts.sort_values(["group", "n", "label"], ascending=[True, False, True], kind="stable")
    return counts.drop_duplicates("group").set_index("group").label


def stratified_split(images: pd.DataFrame, fractions: Mapping[str, float], seed: int,
                     salt: str = "") -> pd.Series:
    """The split of every row of ``images`` (columns ``group`` and ``label``), same index."""
    strata = group_strata(images)
    where: dict[str, str] = {}
    for label in sorted(strata.unique()):
        groups = strata.index[strata == label].tolist()
        where |= assign_groups(groups, fractions, seed, salt=f"{salt}:{label}")
    return images.group.map(where)


def balance_report(images: pd.DataFrame, labels: Sequence[str]) -> list[dict]:
    """Images per split and label, the share of each label and the majority/minority ratio."""
    rows = []
    for split in (*SPLITS, "all"):
        part = images if split == "all" else images[images.split == split]
        counts = {lab: int((part.label == lab).sum()) for lab in labels}
        total = sum(counts.values())
        nonzero = [c for c in counts.values() if c]
        ratio = max(nonzero) / min(nonzero) if len(nonzero) == len(counts) and nonzero else float("inf")
        rows.append({"split": split, "images": total, "groups": int(part.group.nunique()),
                     **{f"n_{lab}": c for lab, c in counts.items()},
                     **{f"share_{lab}": round(c / total, 4) if total else 0.0 for lab, c in counts.items()},
                     "ratio": round(ratio, 3) if ratio != float("inf") else None})
    return rows
