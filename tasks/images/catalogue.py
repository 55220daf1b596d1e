"""A catalogue of labelled image files: where they are, what they are, what they look like.

Sources are a folder per class (``DIR/<label>/**/*.jpg``) or a CSV manifest with
``path`` and ``label`` columns. Each file is read once: its bytes are hashed (exact
duplicates), it is decoded once at reduced size (JPEG draft mode) into a square thumbnail
(the largest input any model will need) and a perceptual hash (near duplicates). A file
that cannot be decoded still gets a row, with the reason in ``error``: checks downstream
decide what to do with it. Files are only read, never modified.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa

from tasks.errors import DataError
from tasks.images.hashing import phash
from tasks.images.io import ImageReadError, list_images, load_image
from tasks.images.thumbs import square
from tasks.io import sha256_file

CATALOGUE_SCHEMA = pa.schema([
    ("path", pa.string()),  # as the pipeline opens it (source root joined, not resolved)
    ("rel_path", pa.string()),  # relative to the source root (folder) or as written in the manifest
    ("label", pa.string()),
    ("bytes", pa.int64()),
    ("sha256", pa.string()),
    ("width", pa.int32()),  # after EXIF orientation; null when undecodable
    ("height", pa.int32()),
    ("mode", pa.string()),  # the file's own mode (RGB, L, P, CMYK, RGBA, ...)
    ("format", pa.string()),
    ("phash", pa.string()),  # 16 hex digits; null when undecodable
    ("error", pa.string()),  # why the file could not be decoded; null when it could
    ("thumb", pa.int64()),  # row in the thumbnail array
])


@dataclass(frozen=True)
class Item:
    """One labelled file to catalogue."""

    path: str
    rel_path: str
    label: str


def from_folder(root: Path | str) -> list[Item]:
    """A folder per class: ``root/<label>/...``; files directly in ``root`` get an empty label."""
    root_path = Path(root)
    if not root_path.is_dir():
        raise DataError(f"{root}: not a folder (expected one subfolder per class)")
    items = []
    for p in list_images(root_path):
        rel = p.relative_to(root_path)
        label = rel.parts[0] if len(rel.parts) > 1 else ""
        items.append(Item(str(Path(root) / rel), rel.as_posix(), label))
    return items


def from_manifest(manifest: Path | str) -> list[Item]:
    """A CSV with ``path`` and ``label`` columns; relative paths are relative to the CSV's folder."""
    manifest = Path(manifest)
    if not manifest.is_file():
        raise DataError(f"{manifest}: manifest not found")
    with open(manifest, newline="", encoding="utf-8-sig") as f:
        reader = csv.DictReader(f)
        missing = {"path", "label"} - set(reader.fieldnames or [])
        if missing:
            raise DataError(f"{manifest}: missing column(s) {sorted(missing)}; the header must name "
                            f"'path' and 'label' (found {reader.fieldnames})")
        items = []
        for line, row in enumerate(reader, start=2):
            raw = (row["path"] or "").strip()
            if not raw:
                raise DataError(f"{manifest}, line {line}: empty path")
            p = Path(raw)
            full = p if p.is_absolute() else manifest.parent / p
            items.append(Item(str(full), raw, (row["label"] or "").strip()))
    return sorted(items, key=lambda i: i.path)


def catalogue_file(item: Item, thumb_size: int) -> tuple[dict, np.ndarray | None]:
    """One catalogue row and the file's square RGB thumbnail (None when it cannot be decoded)."""
    row = {"path": item.path, "rel_path": item.rel_path, "label": item.label, "bytes": None,
           "sha256": None, "width": None, "height": None, "mode": None, "format": None,
           "phash": None, "error": None}
    p = Path(item.path)
    if not p.is_file():
        row["error"] = "missing: file not found"
        return row, None
    row["bytes"] = p.stat().st_size
    row["sha256"] = sha256_file(p)
    try:
        img, info = load_image(p, min_side=thumb_size)
    except ImageReadError as exc:
        row["error"] = str(exc)
        return row, None
    thumb = square(img, thumb_size)
    row.update(width=info.width, height=info.height, mode=info.mode, format=info.format,
               phash=phash(img))
    return row, thumb


def catalogue_shard(items: Sequence[Item], thumb_size: int) -> tuple[list[dict], np.ndarray]:
    """Rows and an ``(n, S, S, 3)`` uint8 thumbnail array (zeros where undecodable) for ``items``."""
    rows, thumbs = [], np.zeros((len(items), thumb_size, thumb_size, 3), dtype=np.uint8)
    for i, item in enumerate(items):
        row, thumb = catalogue_file(item, thumb_size)
        if thumb is not None:
            thumbs[i] = thumb
        rows.append(row)
    return rows, thumbs
