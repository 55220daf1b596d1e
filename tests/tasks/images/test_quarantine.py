"""Every quarantine reason, each triggered by a real bad file written in the test."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from tasks.images.catalogue import catalogue_shard, from_folder, from_manifest
from tasks.images.io import ImageLimits, check_image, load_image
from tasks.images.review import resolution_table, review

LIMITS = ImageLimits(min_side=32, max_aspect=3.0)


def picture(w: int = 320, h: int = 240, seed: int = 0) -> Image.Image:
    rng = np.random.default_rng(seed)
    base = rng.integers(0, 255, (h // 16 + 1, w // 16 + 1, 3), dtype=np.uint8)
    return Image.fromarray(base).resize((w, h), Image.Resampling.BILINEAR)


def jpeg(img: Image.Image, **kw) -> bytes:
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=90, **kw)
    return buf.getvalue()


@pytest.fixture
def folder(tmp_path):
    root = tmp_path / "images"
    (root / "day").mkdir(parents=True)
    (root / "night").mkdir()
    good = jpeg(picture(seed=1))
    files = {
        "day/good.jpg": good,
        "day/zz-copy.jpg": good,  # exact duplicate (the first path in order is kept)
        "night/truncated.jpg": jpeg(picture(seed=2))[:3000],
        "night/cmyk.jpg": jpeg(picture(seed=3).convert("CMYK")),
        "day/one-pixel.png": None,
        "night/notes.jpg": b"this is a text file, not a picture\n",
        "day/empty.jpg": b"",
        "day/banner.jpg": jpeg(picture(900, 100, seed=4)),
        "night/alpha.png": None,
        "night/rotated.jpg": None,
    }
    for name, data in files.items():
        if data is not None:
            (root / name).write_bytes(data)
    Image.new("RGB", (1, 1), (9, 9, 9)).save(root / "day/one-pixel.png")
    rgba = picture(seed=5).convert("RGBA")
    rgba.putalpha(128)
    rgba.save(root / "night/alpha.png")
    exif = Image.Exif()
    exif[0x0112] = 6  # stored sideways: shown 240 x 320
    (root / "night/rotated.jpg").write_bytes(jpeg(picture(320, 240, seed=6), exif=exif.tobytes()))
    (root / "loose.jpg").write_bytes(jpeg(picture(seed=7)))  # no class folder
    return root


def catalogue(root) -> pd.DataFrame:
    rows, thumbs = catalogue_shard(from_folder(root), 32)
    frame = pd.DataFrame(rows)
    frame["thumb"] = range(len(frame))
    assert thumbs.shape == (len(frame), 32, 32, 3)
    return frame


def test_each_reason(folder):
    usable, quarantine = review(catalogue(folder), LIMITS, near_distance=4, labels=("day", "night"))
    reasons = dict(zip(quarantine.rel_path, quarantine.reason.str.split(":").str[0], strict=True))
    assert reasons == {
        "night/truncated.jpg": "truncated",
        "night/notes.jpg": "undecodable",
        "day/one-pixel.png": "tiny",
        "day/empty.jpg": "zero-size",
        "day/banner.jpg": "extreme aspect",
        "day/zz-copy.jpg": "duplicate",
        "loose.jpg": "no label",
    }
    kept = usable.set_index("rel_path")
    assert set(kept.index) == {"day/good.jpg", "night/cmyk.jpg", "night/alpha.png", "night/rotated.jpg"}
    assert kept.loc["night/cmyk.jpg", "mode"] == "CMYK"
    assert (kept.loc["night/rotated.jpg", "width"], kept.loc["night/rotated.jpg", "height"]) == (240, 320)
    assert kept.loc["day/good.jpg", "duplicates"] == 1


def test_label_conflict_and_unknown_label(tmp_path):
    data = jpeg(picture(seed=8))
    for name in ("day/a.jpg", "night/a.jpg"):
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_bytes(data)
    (tmp_path / "dusk").mkdir()
    (tmp_path / "dusk/b.jpg").write_bytes(jpeg(picture(seed=9)))
    usable, quarantine = review(catalogue(tmp_path), LIMITS, 4, ("day", "night"))
    assert usable.empty
    assert sorted(quarantine.reason.str.split(":").str[0]) == ["label conflict", "label conflict", "unknown label"]


def test_conversions_give_rgb(folder):
    for name in ("night/cmyk.jpg", "night/alpha.png", "night/rotated.jpg"):
        img, info = load_image(folder / name, max_side=64)
        assert img.mode == "RGB"
    img, info = load_image(folder / "night/rotated.jpg")
    assert img.size == (240, 320) and (info.width, info.height) == (240, 320)
    _, _, reason = check_image(folder / "night/truncated.jpg", LIMITS)
    assert reason.startswith("truncated")


def test_draft_decoding_keeps_enough_pixels(tmp_path):
    path = tmp_path / "big.jpg"
    path.write_bytes(jpeg(picture(1600, 1200, seed=10)))
    img, info = load_image(path, min_side=128)
    assert (info.width, info.height) == (1600, 1200)
    assert 128 <= img.height < 1200 and img.width * 3 == img.height * 4


def test_manifest_source(tmp_path, folder):
    (tmp_path / "m.csv").write_text("path,label\nimages/day/good.jpg,day\nimages/night/cmyk.jpg,night\n")
    items = from_manifest(tmp_path / "m.csv")
    assert [(i.rel_path, i.label) for i in items] == [("images/day/good.jpg", "day"),
                                                      ("images/night/cmyk.jpg", "night")]
    (tmp_path / "bad.csv").write_text("file,class\nx.jpg,day\n")
    with pytest.raises(ValueError, match="bad.csv: missing column"):
        from_manifest(tmp_path / "bad.csv")


def test_resolution_table_counts_small_images():
    usable = pd.DataFrame({"width": [100, 40, 300], "height": [80, 30, 200]})
    table = resolution_table(usable, [64, 32, 128])
    assert table.resolution.tolist() == [32, 64, 128]
    assert table.below.tolist() == [1, 1, 2]
