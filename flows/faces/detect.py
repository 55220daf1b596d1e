"""Stage `detect`: find and crop every face; no-face, too-small and unreadable photos to quarantine."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from flows.runtime import Progress, in_order, logger, publish_table, stage_main, with_runner
from tasks.config import BaseParams
from tasks.faces import pretrained as P
from tasks.faces.config import DetectParams, FacesParams, Layout
from tasks.faces.detect import detect_and_embed
from tasks.io import atomic_dir, read_parquet, write_json, write_parquet

detect_shard = task(detect_and_embed, name="detect-faces", cache_policy=NO_CACHE)


def detect_into(tmp: Path, manifest: Path, base: BaseParams, params: DetectParams) -> dict:
    frame = read_parquet(manifest, "faces manifest")
    rows = frame.to_dict("records")
    n = params.photos_per_task
    shards = [rows[i:i + n] for i in range(0, len(rows), n)]
    submit = detect_shard.with_options(retries=base.retries, retry_delay_seconds=1)
    records, crops, vectors = [], [], []
    with Progress(len(rows), "faces detect", unit="photo") as bar:
        for recs, cs, vs in in_order(lambda s: submit.submit(s, params.settings()), shards, window=2 * base.workers):
            records += recs
            crops += cs
            vectors.append(vs)
            bar.update(len(recs))
    table = pd.DataFrame(records)
    usable = table[table["status"] != "quarantined"].reset_index(drop=True)
    usable["crop_index"] = np.arange(len(usable))
    quarantine = table[table["status"] != "ok"][["photo_id", "person", "path", "faces", "face_px", "status", "reason"]]
    size = P.CHIP_SIZE if params.align == "five_point" else params.crop_size
    arr = np.stack(crops) if crops else np.zeros((0, size, size, 3), np.uint8)
    if params.align == "five_point":
        np.save(tmp / "dlib_resnet.npy", np.concatenate(vectors) if vectors else np.zeros((0, P.DIM), np.float32))
    write_parquet(tmp / "faces.parquet", usable)
    write_parquet(tmp / "quarantine.parquet", quarantine.reset_index(drop=True))
    np.save(tmp / "crops.npy", arr)
    counts = table["status"].value_counts().to_dict()
    summary = {"photos": len(table), "faces": len(usable), "ok": int(counts.get("ok", 0)),
               "flagged_multi_face": int(counts.get("flagged", 0)),
               "quarantined": int(counts.get("quarantined", 0)),
               "detection_rate": round(len(usable) / max(1, len(table)), 4)}
    write_json(tmp / "summary.json", summary)
    return {"summary": summary, "quarantine": quarantine}


@flow(name="faces-detect")
def detect(base: BaseParams, params: DetectParams, manifest: str, out_dir: str) -> dict:
    """Write ``faces.parquet`` (one row per usable photo), ``crops.npy``, ``quarantine.parquet`` and
    (aligned faces) ``dlib_resnet.npy``, the pretrained encoder's vectors of the crops."""
    with atomic_dir(out_dir) as tmp:
        result = detect_into(Path(tmp), Path(manifest), base, params)
    publish_table("faces-detect", [result["summary"]], "Faces found")
    publish_table("faces-detect-quarantine", result["quarantine"].head(500).to_dict("records"),
                  "Photos quarantined (no face, too small, too small or rotated for the landmark model, "
                  "unreadable) or flagged (several faces)")
    logger().info("faces detect: %s", result["summary"])
    return result["summary"]


def run(base: BaseParams, params: FacesParams, layout: Layout, runner: str | None = None) -> None:
    """Stage faces_detect: find and crop every face."""
    with_runner(detect, base, runner)(base, params.detect, str(layout.manifest), str(layout.detect))


if __name__ == "__main__":
    stage_main(run, "faces", FacesParams, Layout)
