"""Split collected words and backgrounds into train/dev/test by speaker group and recording."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from tasks.config import BaseParams
from tasks.io import read_parquet, write_json, write_parquet
from tasks.splits import SPLITS, assign_groups, split_fractions
from tasks.trigger_word.config import SplitParams


def split_assignments(positives: pd.DataFrame, negatives: pd.DataFrame, backgrounds: pd.DataFrame,
                      params: SplitParams, seed: int) -> tuple[pd.DataFrame, dict[str, float]]:
    """One row per file (kind, id, path, group, split) and the fractions used.

    Words are split by speaker group (a TTS voice, a user's speaker folder) so no voice is
    heard in two splits; backgrounds by recording. The fractions follow the lecture's rule
    on the number of words unless params fix them. Rows marked ``train_only`` (SVOX Pico's
    made speakers, :mod:`tasks.trigger_word.pico_engine`) go to train and are left out of the
    rule and the draw, so every other group lands where it would without them.
    """
    words = pd.concat([positives, negatives], ignore_index=True)
    train_only = words.train_only.eq(True) if "train_only" in words else pd.Series(False, index=words.index)
    held = words[~train_only]
    both = sorted(set(held.group) & set(words.group[train_only]))
    if both:
        raise ValueError(f"speaker groups {both[:3]} hold train-only and other words")
    fractions = split_fractions(len(held), params.dev_fraction, params.test_fraction,
                                params.rule_fraction, params.rule_cap)
    word_split = assign_groups(held.group.tolist(), fractions, seed, salt="trigger_word.words")
    word_split |= dict.fromkeys(words.group[train_only], "train")
    bg_split = assign_groups(backgrounds.group.tolist(), fractions, seed, salt="trigger_word.backgrounds")
    rows = pd.concat([
        pd.DataFrame({"kind": words.kind, "id": words.word_id, "path": words.path, "group": words.group,
                      "split": words.group.map(word_split)}),
        pd.DataFrame({"kind": "background", "id": backgrounds.background_id, "path": backgrounds.path,
                      "group": backgrounds.group, "split": backgrounds.group.map(bg_split)}),
    ], ignore_index=True)
    return rows.sort_values(["kind", "id"], kind="stable").reset_index(drop=True), fractions


def split_counts(assignments: pd.DataFrame) -> list[dict]:
    """Files and groups per split and kind, for reports."""
    out = []
    for split in SPLITS:
        part = assignments[assignments.split == split]
        for kind in ("positive", "negative", "background"):
            k = part[part.kind == kind]
            out.append({"split": split, "kind": kind, "files": len(k), "groups": int(k.group.nunique())})
    return out


def split_into(out: Path, collect_dir: Path, base: BaseParams, params: SplitParams) -> list[dict]:
    frames = {k: read_parquet(collect_dir / f"{k}.parquet", f"collect manifest of {k}")
              for k in ("positives", "negatives", "backgrounds")}
    assignments, fractions = split_assignments(frames["positives"], frames["negatives"],
                                               frames["backgrounds"], params, base.seed)
    counts = split_counts(assignments)
    write_parquet(out / "assignments.parquet", assignments)
    write_json(out / "summary.json", {"fractions": fractions, "counts": counts})
    return counts
