"""Detection and alignment on generated photos written to disk: faces found, problems quarantined.

dlib's HOG detector with 5-point alignment is the default; the Haar cascade and plain box
crops stay options."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from tasks.faces import synth
from tasks.faces.detect import DetectSettings, detect_file, detect_rows

S = DetectSettings(crop_size=40)
HAAR = DetectSettings(crop_size=40, detector="haar", align="none")


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


@pytest.mark.parametrize("settings, shape", [(S, (150, 150, 3)), (HAAR, (40, 40, 3))])
def test_generated_faces_are_detected_and_cropped(photos, settings, shape):
    found = [detect_file(p, settings) for p in photos["faces"]]
    ok = [d for d in found if d.crop is not None]
    assert len(ok) >= 9  # HOG and the cascade find most generated faces (about 90% at demo scale)
    assert all(d.crop.shape == shape and d.crop.dtype == np.uint8 for d in ok)


def test_aligned_chips_have_level_eyes(photos):
    from tasks.faces import pretrained as P

    rolls = []
    for path in photos["faces"][:6]:
        chip = detect_file(path, S).crop
        boxes = P.detect_boxes(chip, "hog", 1) if chip is not None else []
        if boxes:
            _, pts = P.five_points(chip, boxes[0])
            (ax, ay), (bx, by) = pts[0:2].mean(0), pts[2:4].mean(0)
            roll = abs(np.degrees(np.arctan2(ay - by, ax - bx)))
            rolls.append(min(roll, 180 - roll))
    assert len(rolls) >= 3 and max(rolls) < 6  # the chip's eye line is level (the photos' is not)


@pytest.mark.parametrize("settings, words", [(DetectSettings(max_roll_deg=0.5), "tilted"),
                                             (DetectSettings(min_eye_px=500), "apart")])
def test_faces_too_rotated_or_small_for_the_landmark_model_are_quarantined(photos, settings, words):
    rows = [{"photo_id": f"f{i}", "path": p} for i, p in enumerate(photos["faces"][:6])]
    records, crops = detect_rows(rows, settings)
    refused = [r for r in records if r["reason"].startswith("too small or too rotated for the landmark model")]
    assert refused and all(r["status"] == "quarantined" and words in r["reason"] for r in refused)
    assert len(crops) == sum(r["status"] != "quarantined" for r in records)


def test_no_face_multi_face_small_and_broken_land_in_the_quarantine(photos):
    rows = [{"photo_id": k, "path": photos[k]} for k in ("none", "group", "small", "broken")]
    records, crops = detect_rows(rows, DetectSettings(crop_size=40, min_face_px=40, min_detect_px=16))
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


def test_the_cnn_detector_agrees_with_hog_and_gives_the_same_people(photos):
    """dlib's CNN (mmod) detector on 7 photos of 7 people: a face wherever HOG finds one, boxes
    near HOG's, and chips aligned from its boxes that the encoder places with the same person
    (7 photos: the CNN takes seconds a photo on dlib's CPU code)."""
    from tasks.faces import pretrained as P

    hog = [detect_file(p, S) for p in photos["faces"][:7]]
    cnn = [detect_file(p, DetectSettings(detector="cnn")) for p in photos["faces"][:7]]
    both = [(h, c) for h, c in zip(hog, cnn, strict=True) if h.crop is not None]
    assert len(both) >= 5 and all(c.crop is not None and c.crop.shape == (150, 150, 3) for _, c in both)
    for h, c in both:
        (hx, hy, hw, hh), (cx, cy, cw, ch) = h.box, c.box
        assert np.hypot(hx + hw / 2 - cx - cw / 2, hy + hh / 2 - cy - ch / 2) < 0.3 * hw  # about the same centre
        assert 0.55 < cw / hw < 1.35  # and size (seen: 0.64-1.09 of HOG's side)
    eh = P.embed_chips(np.stack([h.crop for h, _ in both]))
    ec = P.embed_chips(np.stack([c.crop for _, c in both]))
    d = np.linalg.norm(ec[:, None] - eh[None], axis=2)  # (CNN photo, HOG photo)
    assert (d.argmin(axis=1) == np.arange(len(both))).all()  # each person's nearest is themselves
    assert d.diagonal().max() < 0.35  # well inside dlib's same-person distance (0.6); seen up to 0.24


def test_an_altered_model_file_fails_naming_it_and_the_setup_command(monkeypatch):
    from tasks.errors import DataError
    from tasks.faces import pretrained as P

    name = "shape_predictor_5_face_landmarks.dat"
    monkeypatch.setattr(P, "_checked", {})
    monkeypatch.setitem(P.FILES, name, "0" * 64)  # what a damaged or swapped file looks like
    with pytest.raises(DataError, match=rf"{name}: SHA-256 .* reinstall with bash scripts/setup.sh"):
        P.model_file(name)
    monkeypatch.setattr(P, "FILES", {**P.FILES, "missing.dat": "0" * 64})
    with pytest.raises(DataError, match=r"missing.dat: dlib model file missing; run bash scripts/setup.sh"):
        P.model_file("missing.dat")
