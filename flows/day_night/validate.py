"""Stage `validate`: quarantine unusable files (with the reason), group duplicates, report resolutions.

Works on the catalogue alone (nothing is decoded again), so changing a limit is cheap.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from prefect import flow

from flows.runtime import logger, publish_table, stage_main, with_runner
from tasks.config import BaseParams
from tasks.day_night.config import DayNightParams, Layout, ValidateParams
from tasks.errors import DataError
from tasks.images.io import ImageLimits
from tasks.images.review import group_summary, resolution_table, review
from tasks.io import atomic_dir, atomic_file, read_parquet, write_json, write_parquet, write_text


def resolution_plot(path: Path, usable: pd.DataFrame, candidates: Sequence[int]) -> None:
    """Histogram of the images' shorter side, with a line at each candidate input size."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import NullFormatter, ScalarFormatter

    short = usable[["width", "height"]].min(axis=1).to_numpy() if len(usable) else np.ones(1)
    lo, hi = min(short.min(), min(candidates)) / 1.2, max(short.max(), max(candidates)) * 1.2
    fig, ax = plt.subplots(figsize=(6, 3.5), dpi=100)
    ax.hist(short, bins=np.geomspace(lo, hi, 50), color="#4a7ab5")
    for c in candidates:
        ax.axvline(c, color="#c0392b", linestyle="--", linewidth=1)
        ax.text(c, ax.get_ylim()[1] * 0.95, f" {c}", color="#c0392b", fontsize=8, va="top")
    ax.set_xscale("log")
    ax.set_xticks([t for t in (8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192) if lo <= t <= hi])
    ax.xaxis.set_major_formatter(ScalarFormatter())
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_xlabel("shorter side (px, log scale)")
    ax.set_ylabel("images")
    ax.set_title("Image sizes vs candidate input resolutions")
    fig.tight_layout()
    with atomic_file(path) as tmp:
        fig.savefig(tmp, format="png", metadata={"Software": None})
    plt.close(fig)


def quarantine_counts(quarantine: pd.DataFrame) -> list[dict]:
    """Quarantined files per reason (the text before the first colon)."""
    kinds = quarantine.reason.str.split(":").str[0] if len(quarantine) else pd.Series([], dtype=str)
    counts = kinds.value_counts().sort_index()
    return [{"reason": k, "files": int(v)} for k, v in counts.items()]


@flow(name="day-night-validate")
def validate(base: BaseParams, params: ValidateParams, labels: tuple[str, ...], resolutions: tuple[int, ...],
             catalogue_path: str, out_dir: str, resolution_csv: str, resolution_png: str) -> dict:
    """Usable images with duplicate groups, the quarantine report and the resolution report."""
    log = logger()
    catalogue = read_parquet(catalogue_path, "image catalogue")
    usable, quarantine = review(catalogue, ImageLimits(params.min_side, params.max_aspect),
                                params.near_duplicate_distance, labels)
    if usable.empty:
        raise DataError(f"{catalogue_path}: no usable image among {len(catalogue)} files; see the reasons "
                        f"in {Path(out_dir) / 'quarantine.csv'}")
    table = resolution_table(usable, resolutions)
    groups = usable[usable.group_size > 1].sort_values(["group", "path"])[["group", "path", "label"]]
    summary = {"files": len(catalogue), "usable": len(usable), "quarantined": len(quarantine),
               "by_reason": {r["reason"]: r["files"] for r in quarantine_counts(quarantine)},
               "per_label": {k: int(v) for k, v in usable.label.value_counts().sort_index().items()},
               **group_summary(usable)}
    with atomic_dir(out_dir) as tmp:
        write_parquet(Path(tmp) / "images.parquet", usable)
        write_text(Path(tmp) / "quarantine.csv", quarantine.to_csv(index=False))
        write_text(Path(tmp) / "duplicate_groups.csv", groups.to_csv(index=False))
        write_json(Path(tmp) / "summary.json", summary)
        # failing here leaves the old folder untouched
        write_text(resolution_csv, table.to_csv(index=False))
        resolution_plot(Path(resolution_png), usable, resolutions)
    publish_table("day-night-validate-counts",
                  [{"count": k, "value": v} for k, v in summary.items() if isinstance(v, int)],
                  "Files, usable, quarantined and near-duplicate groups")
    publish_table("day-night-quarantine", quarantine[["rel_path", "label", "reason"]].to_dict("records")
                  or [{"rel_path": "-", "label": "-", "reason": "nothing quarantined"}],
                  "Quarantined files and why")
    publish_table("day-night-quarantine-counts", quarantine_counts(quarantine) or [{"reason": "-", "files": 0}],
                  "Quarantined files per reason")
    publish_table("day-night-resolution", table.to_dict("records"),
                  "Usable images whose shorter side is below each candidate input size")
    log.info("validate: %(usable)d usable, %(quarantined)d quarantined, %(groups)d groups "
             "(%(in_groups_of_2_or_more)d images in near-duplicate groups)", summary)
    return summary


def run(base: BaseParams, p: DayNightParams, L: Layout, runner: str | None = None) -> None:
    """Stage dn_validate: quarantine unusable files, group duplicates, report resolutions."""
    with_runner(validate, base, runner)(base, p.validate_, p.labels, p.resolutions, str(L.catalogue),
                                        str(L.validate), str(L.resolution_table), str(L.resolution_plot))


if __name__ == "__main__":
    stage_main(run, "day_night", DayNightParams, Layout)
