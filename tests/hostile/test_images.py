"""Case 4 and its neighbours: images too large, of a high bit depth, or too small to mean anything."""

from __future__ import annotations

import json

import numpy as np
import pytest
import yaml
from PIL import Image

from tasks.images.io import DEFAULT_MAX_PIXELS, ImageLimits, check_image, load_image
from tests.conftest import ROOT, write_params
from tests.hostile.helpers import PARAMS, classifier_folder, photo, png_header_only


def classify(files, checkpoint, capsys, params=PARAMS):
    from flows.day_night.__main__ import main

    code = main(["classify", "--checkpoint", str(checkpoint), "--params", str(params), *map(str, files)])
    return code, [json.loads(line) for line in capsys.readouterr().out.splitlines()]


@pytest.fixture(autouse=True)
def default_pixel_limit():
    """Each command sets the limit from its params; put the default back after each test."""
    from tasks.images.io import set_max_pixels

    yield
    set_max_pixels(DEFAULT_MAX_PIXELS)


def test_classify_reports_a_bomb_and_a_1x1_image_per_file_and_still_answers_for_the_rest(tmp_path, capsys):
    ckpt = classifier_folder(tmp_path / "ckpt")
    good = photo(tmp_path / "street.png", 150)
    bomb = png_header_only(tmp_path / "bomb.png", 12000, 12000)  # 144 MP claimed
    dot = tmp_path / "dot.png"
    Image.new("RGB", (1, 1), (5, 5, 5)).save(dot)
    also_good = photo(tmp_path / "park.jpg", 60, seed=3)
    code, rows = classify([good, bomb, dot, also_good], ckpt, capsys)
    assert code == 1 and [r["file"] for r in rows] == [str(good), str(bomb), str(dot), str(also_good)]
    assert rows[1]["error"].startswith("too large: 12000x12000") and "base.max_image_pixels" in rows[1]["error"]
    assert rows[2]["error"].startswith("tiny: 1x1")
    assert "label" in rows[0] and "label" in rows[3]


def test_the_pixel_limit_comes_from_params(tmp_path, capsys, real_params):
    ckpt = classifier_folder(tmp_path / "ckpt")
    real_params["base"]["max_image_pixels"] = 64 * 64 - 1
    params = write_params(tmp_path / "p.yaml", real_params)
    code, rows = classify([photo(tmp_path / "a.png", size=64), photo(tmp_path / "b.png", size=63)], ckpt,
                          capsys, params)
    assert rows[0]["error"].startswith("too large: 64x64") and "label" in rows[1]


def test_the_default_limit_is_the_one_in_params_yaml():
    assert yaml.safe_load((ROOT / "params.yaml").read_text())["base"]["max_image_pixels"] == DEFAULT_MAX_PIXELS


def test_faces_and_art_reader_reports_a_bomb_as_a_reason(tmp_path):
    img, info, reason = check_image(png_header_only(tmp_path / "huge.png", 15000, 10000), ImageLimits())
    assert img is None and reason.startswith("too large")


def test_day_night_collect_catalogues_a_bomb_as_an_error_row(tmp_path):
    from tasks.images.catalogue import Item, catalogue_file

    bomb = png_header_only(tmp_path / "bomb.png", 12000, 12000)
    row, thumb = catalogue_file(Item(str(bomb), "bomb.png", "day"), 32)
    assert thumb is None and row["error"].startswith("too large")


def test_a_16_bit_night_photo_is_dark_not_white(tmp_path, capsys):
    rng = np.random.default_rng(1)
    night8 = np.clip(rng.normal(25, 8, (64, 64)), 0, 255).astype(np.uint8)  # a dark scene
    Image.fromarray(night8.astype(np.uint16) * 257).save(tmp_path / "night16.png")  # the same, 16-bit
    assert Image.open(tmp_path / "night16.png").mode.startswith("I;16")
    img, info = load_image(tmp_path / "night16.png")
    got = np.asarray(img)
    assert img.mode == "RGB" and info.mode.startswith("I;16")
    assert np.array_equal(got[..., 0], night8) and got.mean() < 40
    # classify gives it the same answer as the 8-bit file
    ckpt = classifier_folder(tmp_path / "ckpt")
    Image.fromarray(night8).save(tmp_path / "night8.png")
    _, rows = classify([tmp_path / "night8.png", tmp_path / "night16.png"], ckpt, capsys)
    assert rows[0]["p_night"] == rows[1]["p_night"]


def test_16_bit_rgb_float_and_32_bit_images_keep_their_brightness(tmp_path):
    import cv2

    rgb16 = np.zeros((40, 40, 3), np.uint16)
    rgb16[..., 2] = 65535  # cv2 writes BGR: red at full scale
    rgb16[..., 1] = 32896  # half green
    cv2.imwrite(str(tmp_path / "rgb16.png"), rgb16)
    img, _ = load_image(tmp_path / "rgb16.png")
    assert np.asarray(img)[0, 0].tolist() == [255, 128, 0]
    Image.fromarray(np.full((40, 40), 0.5, np.float32)).save(tmp_path / "f.tif")
    assert np.asarray(load_image(tmp_path / "f.tif")[0])[0, 0].tolist() == [128, 128, 128]
    Image.fromarray(np.full((40, 40), 1000, np.int32)).save(tmp_path / "i.tif")
    assert np.asarray(load_image(tmp_path / "i.tif")[0])[0, 0].tolist() == [4, 4, 4]
