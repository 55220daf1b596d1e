"""Your own photos, as people take them: any size, EXIF rotation, greyscale, RGBA, CMYK.

Enrolled and identified with the pretrained encoder and no retraining (generated faces,
written in each of those forms; dlib's HOG + ResNet cost about 0.2 s a photo here).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from tasks.faces import db as D
from tasks.faces import query as Q
from tasks.faces import synth
from tasks.faces.encoder import load_encoder

T0 = pd.Timestamp(0, unit="s", tz="UTC")


def photo(person: int, shot: int) -> np.ndarray:
    rng = np.random.default_rng([21, person, shot])
    return synth.render_photo(synth.make_person(21, person), synth.make_shot(rng), 200, rng)


def save_as(rgb: np.ndarray, path, form: str) -> str:
    img = Image.fromarray(rgb)
    if form == "big":  # a 1600 px photo
        img.resize((1600, 1600), Image.LANCZOS).save(path.with_suffix(".jpg"), quality=90)
    elif form == "grey":
        img.convert("L").save(path.with_suffix(".jpg"), quality=92)
    elif form == "rgba":
        img.convert("RGBA").save(path.with_suffix(".png"))
    elif form == "cmyk":
        img.convert("CMYK").save(path.with_suffix(".jpg"), quality=92)
    elif form == "exif":  # stored sideways, the camera's orientation tag says how to turn it
        exif = Image.Exif()
        exif[0x0112] = 6  # rotate 90 degrees clockwise to view
        img.transpose(Image.Transpose.ROTATE_90).save(path.with_suffix(".jpg"), quality=92, exif=exif)
    else:
        img.save(path.with_suffix(".jpg"), quality=92)
    return str(next(path.parent.glob(path.name + ".*")))


FORMS = ["big", "grey", "rgba", "cmyk", "exif"]


@pytest.fixture(scope="module")
def own(tmp_path_factory):
    root = tmp_path_factory.mktemp("own")
    for person, name in enumerate(["Zoë", "Ed"]):
        folder = root / "people" / name
        folder.mkdir(parents=True)
        for shot in range(2):
            save_as(photo(person, shot), folder / f"p{shot}", "plain")
    queries = {form: save_as(photo(0, 5 + i), root / f"q_{form}", form) for i, form in enumerate(FORMS)}
    return root, queries


def test_own_photos_in_any_form_are_enrolled_and_identified_without_retraining(own, tmp_path):
    root, queries = own
    enc = load_encoder("dlib_resnet")
    summary = Q.enrol_folder(str(tmp_path / "db"), enc, str(root / "people"), T0, enc.calibration)
    assert set(summary["people"]) == {"Zoë", "Ed"} and not summary["errors"]
    db = D.load(tmp_path / "db")
    answers = Q.identify(db, enc, list(queries.values()))
    got = {form: a.get("person", a.get("error")) for form, a in zip(queries, answers, strict=True)}
    assert got == dict.fromkeys(FORMS, "Zoë")
    zoe, ed = (Q.verify(db, enc, p, queries["exif"]) for p in ("Zoë", "Ed"))
    assert zoe["match"] is True and zoe["distance"] < ed["distance"]
