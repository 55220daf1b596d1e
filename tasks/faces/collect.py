"""Collecting face photos: a folder per person, a CSV manifest, or the generated demo set.

The result is one manifest row per photo (photo id, person, path, content hash); files
that cannot be taken (a photo outside any person folder, a manifest path that does not
exist) are reported, not fatal. Decoding and face checks come later (``detect``).
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image

from tasks.errors import DataError
from tasks.faces import synth
from tasks.faces.config import DemoParams
from tasks.faces.db import check_name
from tasks.images.io import list_images
from tasks.io import sha256_file

MANIFEST_COLUMNS = ["photo_id", "person", "path", "sha256"]


def person_name(index: int) -> str:
    return f"person_{index:04d}"


def save_jpeg(path: Path, rgb: np.ndarray, quality: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(rgb).save(path, format="JPEG", quality=quality)


def render_person_photos(folder: Path, seed: int, index: int, photos: int, size: int,
                         stem: str = "", first: int = 0) -> list[Path]:
    """Write photos ``first .. first + photos - 1`` of synthetic person ``index`` into ``folder``."""
    person = synth.make_person(seed, index)
    out = []
    for j in range(first, first + photos):
        rng = np.random.default_rng([seed, 7101, index, j])
        shot = synth.make_shot(rng)
        path = folder / f"{stem}{j:03d}.jpg"
        save_jpeg(path, synth.render_photo(person, shot, size, rng), shot.quality)
        out.append(path)
    return out


def render_demo_people(root: Path, seed: int, first: int, count: int, demo: DemoParams) -> None:
    """Folder-per-person photos of people ``first .. first + count - 1`` under ``root``."""
    for i in range(first, first + count):
        render_person_photos(root / person_name(i), seed, i, demo.photos_per_person, demo.photo_size)


def render_demo_problems(root: Path, seed: int, demo: DemoParams) -> None:
    """Photos that detection must set aside: no face, and a person with a bystander (two faces)."""
    size = demo.photo_size
    for j in range(demo.no_face_photos):
        rng = np.random.default_rng([seed, 7201, j])
        i = int(rng.integers(demo.people))
        save_jpeg(root / person_name(i) / f"noface_{j:02d}.jpg",
                  synth.render_no_face(size, rng, synth.make_person(seed, i)), 90)
    for j in range(demo.group_photos):
        rng = np.random.default_rng([seed, 7301, j])
        i, o = (int(v) for v in rng.choice(demo.people, 2, replace=False))
        save_jpeg(root / person_name(i) / f"group_{j:02d}.jpg",
                  synth.render_group_photo(synth.make_person(seed, i), synth.make_person(seed, 10_000 + j),
                                           int(size * 1.4), rng), 90)


def render_demo_extras(root: Path, seed: int, demo: DemoParams) -> None:
    """People never seen by the pipeline, for the commands: ``new_people/<person>/`` to enrol,
    ``queries/`` (one more photo of each), ``unlabelled/`` (mixed people, to cluster)."""
    start = demo.people
    for i in range(start, start + demo.new_people):
        render_person_photos(root / "new_people" / person_name(i), seed, i, demo.new_photos_per_person,
                             demo.photo_size)
        render_person_photos(root / "queries", seed, i, 1, demo.photo_size, stem=f"{person_name(i)}_",
                             first=demo.new_photos_per_person)
    start += demo.new_people
    files = []
    for i in range(start, start + demo.unlabelled_people):
        files += render_person_photos(root / "unlabelled", seed, i, demo.unlabelled_photos_per_person,
                                      demo.photo_size, stem=f"tmp_{i}_")
    order = np.random.default_rng([seed, 7401]).permutation(len(files))  # hide who is who
    truth = []
    for n, k in enumerate(order):
        files[k].rename(root / "unlabelled" / f"photo_{n:03d}.jpg")
        truth.append(f"photo_{n:03d}.jpg,{person_name(start + k // demo.unlabelled_photos_per_person)}")
    (root / "unlabelled_truth.csv").write_text("file,person\n" + "".join(t + "\n" for t in truth))


def from_folders(root: Path) -> tuple[pd.DataFrame, list[dict]]:
    """Manifest of ``root/<person>/**/*.jpg`` (the layout of LFW and similar sets)."""
    root = Path(root)
    if not root.is_dir():
        raise DataError(f"faces.collect.photos_dir: {root} is not a folder")
    rows, problems = [], []
    for path in list_images(root):
        rel = path.relative_to(root)
        if len(rel.parts) < 2:
            problems.append({"path": str(path), "reason": "not in a person folder (expected DIR/<person>/photo)"})
            continue
        bad = name_problem(rel.parts[0])
        if bad:
            problems.append({"path": str(path), "reason": bad})
            continue
        rows.append({"photo_id": rel.with_suffix("").as_posix(), "person": rel.parts[0], "path": str(path)})
    return _finish(rows), problems


def from_csv(manifest: Path) -> tuple[pd.DataFrame, list[dict]]:
    """Manifest from a CSV with columns person, path[, id]; relative paths are taken from the CSV's folder."""
    manifest = Path(manifest)
    if not manifest.is_file():
        raise DataError(f"faces.collect.manifest: {manifest} not found")
    with manifest.open(newline="") as f:
        reader = csv.DictReader(f)
        missing = {"person", "path"} - set(reader.fieldnames or [])
        if missing:
            raise DataError(f"{manifest}: missing column(s) {sorted(missing)}; expected person, path[, id]")
        records = list(reader)
    rows, problems = [], []
    for n, rec in enumerate(records, start=2):
        path = Path(rec["path"])
        path = path if path.is_absolute() else manifest.parent / path
        bad = name_problem(rec["person"] or "")
        if bad:
            problems.append({"path": str(path), "reason": f"{manifest} line {n}: {bad}"})
        elif not path.is_file():
            problems.append({"path": str(path), "reason": f"{manifest} line {n}: file not found"})
        else:
            pid = rec.get("id") or f"{rec['person']}/{path.stem}"
            rows.append({"photo_id": pid, "person": rec["person"], "path": str(path)})
    frame = _finish(rows)
    dupes = frame["photo_id"].duplicated()
    if dupes.any():
        raise DataError(f"{manifest}: duplicate photo id(s) {sorted(frame.loc[dupes, 'photo_id'])[:5]}")
    return frame, problems


def name_problem(person: str) -> str | None:
    """Why ``person`` cannot be a person's name (:func:`tasks.faces.db.check_name`), or None."""
    try:
        check_name(person)
    except DataError as exc:
        return str(exc)
    return None


def _finish(rows: list[dict]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["photo_id", "person", "path"])
    frame["sha256"] = [sha256_file(p) for p in frame["path"]]
    return frame.sort_values("photo_id", kind="stable").reset_index(drop=True)[MANIFEST_COLUMNS]
