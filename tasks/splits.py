"""Group-aware, stable train/dev/test assignment shared by every pipeline.

A *group* is what must never straddle two splits: a speaker or voice, a background
recording, a person, a cluster of near-duplicate images. Each group gets a stable number
in [0, 1) from a hash of (seed, salt, group) and falls in test, dev or train by comparing
it with the split fractions. So the assignment of a group never depends on which other
groups exist: adding files never moves existing ones. When the lecture's rule shrinks the
test share as the set grows, groups only move from test towards dev and train, never from
train into test.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from tasks.io import stable_unit

SPLITS = ("train", "dev", "test")


def rule_fraction(n_items: int, fraction: float = 0.2, cap: int = 10_000) -> float:
    """The lecture's rule for a dev or test share: ``fraction`` of a small set, at most ``cap`` items.

    10,000 items -> 20% (2,000); 1,000,000 items -> 1% (10,000): a test set only needs to be
    large enough to measure the model, not a fixed share of everything.
    """
    if n_items <= 0:
        return fraction
    return min(fraction, cap / n_items)


def split_fractions(n_items: int, dev: float | None, test: float | None,
                    fraction: float = 0.2, cap: int = 10_000) -> dict[str, float]:
    """Fractions of each split: explicit values win, otherwise :func:`rule_fraction`."""
    auto = rule_fraction(n_items, fraction, cap)
    f_dev = auto if dev is None else dev
    f_test = auto if test is None else test
    return {"train": 1.0 - f_dev - f_test, "dev": f_dev, "test": f_test}


def group_unit(group: str, seed: int, salt: str) -> float:
    return stable_unit("split", seed, salt, group)


def assign_groups(groups: Sequence[str], fractions: Mapping[str, float], seed: int,
                  salt: str = "", ensure_each: bool = True) -> dict[str, str]:
    """Map each distinct group to a split by its stable hash.

    With ``ensure_each``, a split whose fraction is positive but that drew no group takes
    the group whose hash lies nearest its range (only when there are at least as many groups
    as such splits), so small sets still get a test and a dev group.
    """
    unique = sorted(set(groups))
    units = {g: group_unit(g, seed, salt) for g in unique}
    t_hi = fractions.get("test", 0.0)
    d_hi = t_hi + fractions.get("dev", 0.0)

    def by_unit(u: float) -> str:
        return "test" if u < t_hi else "dev" if u < d_hi else "train"

    out = {g: by_unit(u) for g, u in units.items()}
    if not ensure_each:
        return out
    wanted = [s for s in SPLITS if fractions.get(s, 0.0) > 0]
    if len(unique) < len(wanted):
        return out
    centres = {"test": t_hi / 2, "dev": (t_hi + d_hi) / 2, "train": (d_hi + 1.0) / 2}
    for split in wanted:
        if split in out.values():
            continue
        counts = {s: list(out.values()).count(s) for s in SPLITS}
        donors = [g for g in unique if counts[out[g]] > 1]
        if not donors:
            continue
        g = min(donors, key=lambda g: (abs(units[g] - centres[split]), g))
        out[g] = split
    return out
