"""Detection and cropping on generated photos written to disk: faces found, problems quarantined."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from tasks.faces import synth
from tasks.faces.detect import DetectSettings, detect_file, detect_rows

S = DetectSettings(crop_size=40)


def _photo(tmp_path, name, rgb):
    path = tmp_path / name
    Image.fromarray(rgb).save(path, quality=92)
    return str(path)


@pytest.fixture(scope="module")
def photos(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("photos")
    out = {"faces": []}
    for i in range(12):
        rng = np.random.default_rng([3, i])
        out["faces"].append(_photo(tmp, f"face{i}.jpg", synth.render_photo(
            synth.make_person(3, i), synth.make_shot(rng), 160, rng)))
    rng = np.random.default_rng(5)
    out["none"] = _photo(tmp, "none.jpg", synth.render_no_face(160, rng, synth.make_person(3, 0)))
    rng = np.random.default_rng(6)
    out["group"] = _photo(tmp, "group.jpg", synth.render_group_photo(
        synth.make_person(3, 1), synth.make_person(3, 2), 224, rng))
    rng = np.random.default_rng(7)
    small = synth.make_shot(rng)
    out["small"] = _photo(tmp, "small.jpg", synth.render_photo(synth.make_person(3, 3), small, 60, rng))
    (tmp / "broken.jpg").write_bytes(b"not a jpeg at all")
    out["broken"] = str(tmp / "broken.jpg")
    return out


def test_generated_faces_are_detected_and_cropped(photos):
    found = [detect_file(p, S) for p in photos["faces"]]
    ok = [d for d in found if d.crop is not None]
    assert len(ok) >= 9  # the cascade finds most generated faces (about 90% at demo scale)
    assert all(d.crop.shape == (40, 40, 3) and d.crop.dtype == np.uint8 for d in ok)


def test_no_face_multi_face_small_and_broken_land_in_the_quarantine(photos):
    rows = [{"photo_id": k, "path": photos[k]} for k in ("none", "group", "small", "broken")]
    records, crops = detect_rows(rows, DetectSettings(crop_size=40, min_face_px=40))
    by = {r["photo_id"]: r for r in records}
    assert by["none"]["status"] == "quarantined" and by["none"]["reason"].startswith("no face")
    assert by["group"]["status"] == "flagged" and by["group"]["faces"] >= 2
    assert "largest used" in by["group"]["reason"]
    assert by["small"]["status"] == "quarantined"
    assert by["small"]["reason"].startswith(("small face", "no face"))
    assert by["broken"]["status"] == "quarantined" and "undecodable" in by["broken"]["reason"]
    assert len(crops) == 1  # only the group photo yields a crop (its largest face)


def test_largest_face_is_used(photos):
    d = detect_file(photos["group"], S)
    x, y, w, h = d.box
    assert w * h >= 0.9 * d.face_px ** 2
    assert d.faces >= 2
