"""Stage `human` (the check sheet) and command `human-score` (reading the answers back)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
from prefect import flow

from flows.runtime import logger, publish_table, stage_main, with_runner
from tasks.config import BaseParams
from tasks.day_night.config import DayNightParams, HumanParams, Layout
from tasks.day_night.human import plan, score_answers, sheet_html
from tasks.io import atomic_dir, read_parquet, write_json, write_text


@flow(name="day-night-human-sheet")
def human_sheet(base: BaseParams, params: HumanParams, labels: tuple[str, ...], resolutions: tuple[int, ...],
                assignments: str, thumbs: str, out_dir: str) -> dict:
    """Write ``sheet.html`` (to give people) and ``key.json`` (to keep) into ``out_dir``."""
    assigned = read_parquet(assignments, "split assignments")
    part = assigned[assigned.split == params.split].sort_values("thumb")
    items = plan(part.sha256.tolist(), part.label.tolist(), resolutions, params.per_resolution, base.seed)
    thumb_rows, files = part.thumb.tolist(), part.rel_path.tolist()
    for it in items:  # positions in the split -> rows of the thumbnail array
        it["index"], it["file"] = int(thumb_rows[it["index"]]), files[it["index"]]
    sheet_id = hashlib.sha256(json.dumps(items, sort_keys=True).encode()).hexdigest()[:12]
    page = sheet_html(items, np.load(thumbs, mmap_mode="r"), labels, params.display_px, sheet_id)
    with atomic_dir(out_dir) as tmp:
        write_text(Path(tmp) / "sheet.html", page)
        write_json(Path(tmp) / "key.json", {"sheet": sheet_id, "items": items})
    summary = {"sheet": sheet_id, "questions": len(items), "split": params.split}
    logger().info("human: %(questions)d pictures on sheet %(sheet)s", summary)
    return summary


def human_score(answers: str, key_path: str, out_json: str | None = None) -> list[dict]:
    """Human accuracy per resolution; written to ``out_json`` when given, published when in a run."""
    path = Path(key_path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: sheet key not found; run the human stage first")
    rows = score_answers(answers, json.loads(path.read_text()))
    if out_json:
        write_json(out_json, rows)
    publish_table("day-night-human-accuracy", rows, "Human accuracy per resolution")
    return rows


def run(base: BaseParams, p: DayNightParams, L: Layout, runner: str | None = None) -> None:
    """Stage dn_human: a check sheet for people, per resolution."""
    with_runner(human_sheet, base, runner)(base, p.human, p.labels, p.resolutions, str(L.assignments),
                                           str(L.thumbs), str(L.human))


if __name__ == "__main__":
    stage_main(run, "day_night", DayNightParams, Layout)
