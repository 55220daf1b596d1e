"""Stage `split`: stratified train/dev/test with near-duplicate groups kept whole; class balance report."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from prefect import flow

from flows.day_night.common import montage_png, publish_montage
from flows.runtime import logger, publish_table, stage_main, with_runner
from tasks.config import BaseParams
from tasks.day_night.config import DayNightParams, Layout, SplitParams
from tasks.images.split import balance_report, stratified_split
from tasks.io import atomic_dir, read_parquet, stable_unit, write_json, write_parquet
from tasks.splits import SPLITS, split_fractions

COLUMNS = ["path", "rel_path", "label", "sha256", "group", "group_size", "width", "height", "thumb", "split"]


def assign(images: pd.DataFrame, params: SplitParams, seed: int) -> tuple[pd.DataFrame, dict[str, float]]:
    """Every usable image with its split, and the fractions used (explicit, or the lecture's rule)."""
    fractions = split_fractions(len(images), params.dev_fraction, params.test_fraction,
                                params.rule_fraction, params.rule_cap)
    out = images.copy()
    out["split"] = stratified_split(out, fractions, seed, salt="day_night")
    out = out.sort_values(["split", "path"], key=lambda c: c.map(SPLITS.index) if c.name == "split" else c,
                          kind="stable").reset_index(drop=True)
    return out[COLUMNS], fractions


def balance_advice(train: dict, labels: tuple[str, ...], choice: str) -> dict:
    """What the training's balance choice will do with the train split's counts."""
    n = [train[f"n_{lab}"] for lab in labels]
    pos_weight = round(n[0] / n[1], 4) if n[1] else None
    return {"choice": choice, "train_counts": dict(zip(labels, n, strict=True)),
            "pos_weight_if_class_weights": pos_weight,
            "train_images_if_downsample": 2 * min(n)}


def sample_rows(part: pd.DataFrame, k: int, seed: int) -> pd.DataFrame:
    """A stable sample of ``k`` rows, half from each label when possible."""
    ranked = part.assign(_u=[stable_unit("montage", seed, s) for s in part.sha256]).sort_values("_u")
    per = max(1, k // max(1, part.label.nunique()))
    return ranked.groupby("label", sort=True).head(per).sort_values(["label", "_u"]).head(k)


@flow(name="day-night-split")
def split(base: BaseParams, params: SplitParams, labels: tuple[str, ...], balance: str, images_path: str,
          thumbs_path: str, out_dir: str, balance_json: str) -> list[dict]:
    """Assign every usable image to a split; write assignments, balance report and montages."""
    images = read_parquet(images_path, "validated image list")
    assigned, fractions = assign(images, params, base.seed)
    report = balance_report(assigned, labels)
    train_row = next(r for r in report if r["split"] == "train")
    thumbs = np.load(thumbs_path, mmap_mode="r")
    with atomic_dir(out_dir) as tmp:
        write_parquet(Path(tmp) / "assignments.parquet", assigned)
        write_json(Path(tmp) / "fractions.json", fractions)
        sheets = {}
        for name in SPLITS:
            part = sample_rows(assigned[assigned.split == name], params.montage, base.seed)
            if params.montage and len(part):
                png = montage_png([thumbs[i] for i in part.thumb], list(part.label))
                (Path(tmp) / f"montage-{name}.png").write_bytes(png)
                sheets[name] = png
        write_json(balance_json, {"fractions": fractions, "splits": report,
                                  "balance": balance_advice(train_row, labels, balance)})
    publish_table("day-night-split", report, "Images, groups and class balance per split")
    for name, png in sheets.items():
        publish_montage(f"day-night-montage-{name}", png, f"Sample of the {name} split")
    for row in report:
        logger().info("split %-5s images=%5d groups=%5d ratio=%s", row["split"], row["images"], row["groups"],
                      row["ratio"])
    return report


def run(base: BaseParams, p: DayNightParams, L: Layout, runner: str | None = None) -> None:
    """Stage dn_split: stratified train/dev/test with near-duplicate groups kept whole."""
    with_runner(split, base, runner)(base, p.split, p.labels, p.train.balance, str(L.images), str(L.thumbs),
                                     str(L.split), str(L.balance))


if __name__ == "__main__":
    stage_main(run, "day_night", DayNightParams, Layout)
