"""Stage `collect`: labelled image files (yours, or the generated demo set) into a Parquet catalogue.

Each file is read once: SHA-256 of its bytes, one reduced-size decode (JPEG draft mode)
into a square thumbnail and a perceptual hash. Undecodable files keep a row with the
reason; the validate stage decides what to do with them.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from flows.day_night.common import retries
from flows.runtime import Progress, in_order, logger, publish_table, stage_main, with_runner
from tasks.config import BaseParams
from tasks.day_night.config import CollectParams, DayNightParams, GenerateParams, Layout
from tasks.day_night.demo import DemoItem, demo_plan, write_items, write_odd_files
from tasks.errors import DataError
from tasks.images.catalogue import (
    CATALOGUE_SCHEMA,
    Item,
    catalogue_shard,
    from_folder,
    from_manifest,
)
from tasks.io import atomic_dir, refuse_overlap, write_json, write_parquet

render_shard = task(write_items, name="render-demo-shard", cache_policy=NO_CACHE)
catalogue_task = task(catalogue_shard, name="catalogue-shard", cache_policy=NO_CACHE)


def generate_demo(out: Path, base: BaseParams, params: GenerateParams) -> dict:
    """Write the demo set into the (empty) folder ``out``; returns counts."""
    plan: list[DemoItem] = demo_plan(params, base.seed)
    shards = [plan[i:i + params.shard_size] for i in range(0, len(plan), params.shard_size)]
    rows: list[dict] = []
    with Progress(len(plan), "generate demo images", unit="img") as bar:
        for part in in_order(lambda s: render_shard.with_options(**retries(base)).submit(s, out),
                             shards, window=2 * base.workers):
            rows += part
            bar.update(len(part))
    odd = write_odd_files(out, base.seed, params.sizes) if params.odd_files else []
    write_parquet(out / "scenes.parquet", pd.DataFrame(rows))
    write_parquet(out / "odd_files.parquet", pd.DataFrame(odd, columns=["path", "expected"]))
    return {"images": len(rows), "odd_files": len(odd)}


def source_items(params: CollectParams, demo_dir: Path) -> tuple[list[Item], str]:
    """The files to catalogue and a description of where they come from."""
    if params.manifest:
        return from_manifest(Path(params.manifest).expanduser()), f"manifest {params.manifest}"
    if params.images_dir:
        return from_folder(Path(params.images_dir).expanduser()), f"folder {params.images_dir}"
    return from_folder(demo_dir), f"generated demo set in {demo_dir}"


def catalogue_items(items: list[Item], base: BaseParams, params: CollectParams) -> tuple[pd.DataFrame, np.ndarray]:
    """Catalogue ``items`` in shards on the task runner; rows and thumbnails in item order."""
    size = params.thumb_size
    shards = [items[i:i + params.shard_size] for i in range(0, len(items), params.shard_size)]
    rows: list[dict] = []
    thumbs = [np.zeros((0, size, size, 3), np.uint8)]
    with Progress(len(items), "catalogue images", unit="img") as bar:
        for part_rows, part_thumbs in in_order(
                lambda s: catalogue_task.with_options(**retries(base)).submit(s, size), shards,
                window=2 * base.workers):
            rows += part_rows
            thumbs.append(part_thumbs)
            bar.update(len(part_rows))
    frame = pd.DataFrame(rows, columns=[f.name for f in CATALOGUE_SCHEMA])
    frame["thumb"] = np.arange(len(frame), dtype=np.int64)
    return frame, np.concatenate(thumbs)


@flow(name="day-night-collect")
def collect(base: BaseParams, generate: GenerateParams, params: CollectParams, demo_dir: str,
            out_dir: str) -> dict:
    """Generate the demo set when no source is given, then catalogue the source (folders replaced atomically)."""
    log = logger()
    demo = Path(demo_dir)
    if not (params.images_dir or params.manifest):
        with atomic_dir(demo) as tmp:
            made = generate_demo(Path(tmp), base, generate)
        log.info("generated %(images)d demo images and %(odd_files)d odd files", made)
    else:
        demo.mkdir(parents=True, exist_ok=True)  # a DVC output: exists, empty, when your own data is used
    items, where = source_items(params, demo)
    if not items:
        raise DataError(f"no image files found in the {where}")
    log.info("collect: %d files from the %s", len(items), where)
    with atomic_dir(out_dir) as tmp:
        frame, thumbs = catalogue_items(items, base, params)
        write_parquet(Path(tmp) / "catalogue.parquet", frame, schema=CATALOGUE_SCHEMA)
        np.save(Path(tmp) / "thumbs.npy", thumbs)
        counts = {"files": len(frame), "decoded": int(frame.error.isna().sum()),
                  "undecodable": int(frame.error.notna().sum()), "source": where,
                  "thumb_size": params.thumb_size}
        write_json(Path(tmp) / "summary.json", counts)
    per_label = frame.groupby("label", dropna=False).size().reset_index(name="files")
    publish_table("day-night-collect", per_label.to_dict("records"), f"Files per label ({where})")
    return counts


def run(base: BaseParams, p: DayNightParams, L: Layout, runner: str | None = None) -> None:
    """Stage dn_collect: labelled images (yours, or the generated demo set) into a catalogue."""
    refuse_overlap(L.collect, [("day_night.collect.images_dir", p.collect.images_dir),
                               ("day_night.collect.manifest", p.collect.manifest)],
                   "the collect stage's output")  # replaced whole: never around a user's photos
    with_runner(collect, base, runner)(base, p.generate, p.collect, str(L.demo), str(L.collect))


if __name__ == "__main__":
    stage_main(run, "day_night", DayNightParams, Layout)
