"""The built-in demo set: generated day and night pictures, written as real JPEG/PNG files.

The files look like what people point the pipeline at: typical photo sizes (0.3-1 MP),
mostly JPEG with some PNG, portrait and landscape, some stored sideways with an EXIF
orientation tag, a few greyscale, a few webcam-sized; burst shots of the same scene (near
duplicates); and, unless turned off, a handful of odd files that the quarantine must catch.
Everything derives from the seed, so the same params write the same bytes.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from tasks.day_night.config import GenerateParams
from tasks.day_night.render import render
from tasks.day_night.scenes import Scene, burst_of, sample_scene

SMALL_SIZES = [(160, 120), (120, 96), (96, 72)]
_ORIENTATION = 0x0112
_STORE = {6: Image.Transpose.ROTATE_90, 8: Image.Transpose.ROTATE_270, 3: Image.Transpose.ROTATE_180}


@dataclass(frozen=True)
class DemoItem:
    """One file of the demo set: its scene and how it is stored."""

    name: str  # relative path, e.g. "night/night-000042.jpg"
    scene: Scene
    group: str  # the scene it shows (burst shots share it)
    format: str  # JPEG | PNG
    quality: int
    orientation: int  # EXIF orientation tag written (1 = none)
    grey: bool


def demo_plan(params: GenerateParams, seed: int) -> list[DemoItem]:
    """Every file to write, ``params.images`` of them, in a stable order."""
    items: list[DemoItem] = []
    scene_no = 0
    while len(items) < params.images:
        rng = np.random.default_rng([seed, 4, scene_no])
        label = "night" if rng.random() < params.night_share else "day"
        small = rng.random() < params.small_share
        scene = sample_scene(rng, label, SMALL_SIZES if small else [tuple(s) for s in params.sizes],
                             params.portrait_share)
        shots = [scene]
        if rng.random() < params.burst_share:
            shots += [burst_of(scene, rng) for _ in range(int(rng.integers(1, 3)))]
        group = f"{label}-{scene_no:06d}"
        for k, shot in enumerate(shots[: params.images - len(items)]):
            png = rng.random() < params.png_share
            orientation = int(rng.choice([6, 8, 3])) if (not png and rng.random() < params.rotated_share) else 1
            name = f"{label}/{group}{'' if k == 0 else f'-burst{k}'}.{'png' if png else 'jpg'}"
            items.append(DemoItem(name, shot, group, "PNG" if png else "JPEG",
                                  int(rng.integers(params.jpeg_quality[0], params.jpeg_quality[1] + 1)),
                                  orientation, bool(rng.random() < params.grayscale_share)))
        scene_no += 1
    return items


def encode(img: Image.Image, fmt: str, quality: int, orientation: int = 1) -> bytes:
    """Image -> file bytes; with an orientation tag the pixels are stored turned, as cameras do."""
    buf = io.BytesIO()
    if fmt == "PNG":
        img.save(buf, "PNG", compress_level=1)
    else:
        kw = {}
        if orientation != 1:
            exif = Image.Exif()
            exif[_ORIENTATION] = orientation
            img, kw = img.transpose(_STORE[orientation]), {"exif": exif.tobytes()}
        img.save(buf, "JPEG", quality=quality, **kw)
    return buf.getvalue()


def write_items(items: Sequence[DemoItem], out: Path) -> list[dict]:
    """Render and write ``items`` under ``out``; one row per file (the scene's description)."""
    rows = []
    for item in items:
        img = render(item.scene)
        if item.grey:
            img = img.convert("L")
        path = out / item.name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(encode(img, item.format, item.quality, item.orientation))
        s = asdict(item.scene)
        rows.append({"path": item.name, "label": s["label"], "group": item.group, "setting": s["setting"],
                     "weather": s["weather"], "twilight": s["twilight"], "width": s["width"],
                     "height": s["height"], "exposure": round(s["exposure"], 4), "format": item.format,
                     "orientation": item.orientation, "grey": item.grey, "burst": "-burst" in item.name})
    return rows


def write_odd_files(out: Path, seed: int, sizes: Sequence[tuple[int, int]]) -> list[dict]:
    """Files a real collection has: broken, tiny, panoramic, duplicated, CMYK, palette with alpha.

    Returns what each one is and what the pipeline should make of it.
    """
    rng = np.random.default_rng([seed, 5])
    w, h = sizes[0]
    day = render(sample_scene(rng, "day", [(w, h)], 0.0))
    night = render(sample_scene(rng, "night", [(w, h)], 0.0))
    night_jpeg = encode(night, "JPEG", 90)
    odd = {
        "day/odd-empty.jpg": (b"", "quarantine: zero-size"),
        "night/odd-truncated.jpg": (night_jpeg[: len(night_jpeg) * 2 // 3], "quarantine: truncated"),
        "day/odd-notes.jpg": (b"shopping list: bread, milk\n", "quarantine: undecodable"),
        "night/odd-tiny.png": (encode(night.resize((24, 18)), "PNG", 0), "quarantine: tiny"),
        "day/odd-panorama.jpg": (encode(day.resize((1600, 300)), "JPEG", 88), "quarantine: extreme aspect"),
        "night/odd-cmyk.jpg": (encode(night.convert("CMYK"), "JPEG", 90), "kept: CMYK converted to RGB"),
        "day/odd-palette.png": (encode(day.convert("RGBA").quantize(64), "PNG", 0),
                                "kept: palette converted to RGB"),
        "night/odd-same-bytes.jpg": (night_jpeg, "kept once: exact duplicate of night/odd-original.jpg"),
        "night/odd-original.jpg": (night_jpeg, "kept: original of an exact duplicate"),
        "night/odd-wrong-label.jpg": (encode(day, "JPEG", 91), "quarantine: label conflict"),
        "day/odd-wrong-label.jpg": (encode(day, "JPEG", 91), "quarantine: label conflict"),
    }
    rows = []
    for name, (data, expect) in odd.items():
        (out / name).parent.mkdir(parents=True, exist_ok=True)
        (out / name).write_bytes(data)
        rows.append({"path": name, "expected": expect})
    return rows
