"""Enrol, identify, verify and the encoder guard on photos written to disk: dlib's pretrained
encoder, and tiny real from-scratch encoders for the guard."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from models.checkpoint import state_dict_hash
from models.face_encoder import FaceEncoder, FaceEncoderConfig
from tasks.errors import DataError
from tasks.faces import db as D
from tasks.faces import query as Q
from tasks.faces.collect import render_person_photos
from tasks.faces.detect import DetectSettings
from tasks.faces.encoder import SCRATCH, Encoder, load_encoder

T0 = pd.Timestamp(0, unit="s", tz="UTC")


def tiny_encoder(seed: int, detect: DetectSettings | None = None) -> Encoder:
    torch.manual_seed(seed)
    model = FaceEncoder(FaceEncoderConfig(input_size=32, channels=(8, 16))).eval()
    return Encoder(SCRATCH, state_dict_hash(model), detect or DetectSettings(crop_size=32), "", {}, 128, model)


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("people")
    for i, name in enumerate(["ann", "ben"]):
        render_person_photos(tmp / "first" / name, 11, i, 4, 160)
    render_person_photos(tmp / "later" / "cy", 11, 5, 4, 160)
    return tmp


def test_enrol_then_identify_a_new_person_without_retraining(folders, tmp_path):
    enc = load_encoder("dlib_resnet")
    cal = {"threshold": 0.05, "target_far": 0.01, "calibrated_on": "test"}
    first = Q.enrol_folder(str(tmp_path), enc, str(folders / "first"), T0, cal)
    assert set(first["people"]) == {"ann", "ben"}
    later = Q.enrol_folder(str(tmp_path), enc, str(folders / "later"), T0, cal)
    assert set(later["people"]) == {"cy"}
    db = D.load(tmp_path)
    assert db.persons == ["ann", "ben", "cy"] and db.calibration.threshold == 0.05
    enrolled = sorted((folders / "later" / "cy").glob("*.jpg"))
    photo = next(str(p) for p in enrolled if str(p) not in later["errors"])
    [answer] = Q.identify(db, enc, [photo])
    assert answer["person"] == "cy" and answer["matches"][0]["distance"] < 1e-3
    v = Q.verify(db, enc, "cy", photo)
    assert v["match"] is True and v["threshold"] == 0.05
    other = next(str(p) for p in sorted((folders / "first" / "ann").glob("*.jpg")))
    assert Q.verify(db, enc, "cy", other)["match"] is False
    with pytest.raises(DataError, match="--k"):
        Q.identify(db, enc, [photo], k=-1)
    missing = Q.identify(db, enc, [str(tmp_path / "nope.jpg")])
    assert missing == [{"file": str(tmp_path / "nope.jpg"), "error": "not found"}]


def test_queries_with_another_encoder_are_refused(folders, tmp_path):
    Q.enrol_folder(str(tmp_path), tiny_encoder(0), str(folders / "first"), T0, {})
    other = tiny_encoder(1)
    db = D.load(tmp_path)
    with pytest.raises(D.EncoderMismatch, match="not comparable"):
        Q.identify(db, other, [str(next((folders / "first" / "ann").glob("*.jpg")))])
    with pytest.raises(D.EncoderMismatch):
        Q.enrol_folder(str(tmp_path), other, str(folders / "later"), T0, {})
    haar = tiny_encoder(0, DetectSettings(crop_size=32, detector="haar"))
    with pytest.raises(D.EncoderMismatch, match="detector 'dlib_hog"):
        Q.identify(db, haar, [])
    boxes = tiny_encoder(0, DetectSettings(crop_size=32, align="none"))
    with pytest.raises(D.EncoderMismatch, match="alignment 'five_point"):
        Q.identify(db, boxes, [])


def test_encoder_folder_missing_or_wrong_is_a_clear_error(tmp_path):
    with pytest.raises(DataError, match="no encoder here"):
        load_encoder(tmp_path / "nope")
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "config.json").write_text("{not json")
    with pytest.raises(DataError, match="not a usable face encoder"):
        load_encoder(tmp_path / "bad")


def test_contact_sheet_tiles_crops():
    crops = [np.full((4, 4, 3), i, np.uint8) for i in range(5)]
    sheet = Q.contact_sheet(crops, columns=3, pad=1)
    assert sheet.shape == (2 * 5 + 1, 3 * 5 + 1, 3)
    assert sheet[1, 6, 0] == 1 and sheet[6, 1, 0] == 3
