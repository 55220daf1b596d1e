"""Params, images and the built-in pictures of the art pipeline."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from tasks.art import builtin
from tasks.art.config import ArtParams, Layout, Pair, pair_name
from tasks.art.images import load_ref, save_png, to_pil, to_tensor
from tasks.art.transfer import initial_image, total_variation
from tasks.config import load_params
from tasks.errors import DataError, ParamsError
from tests.conftest import ROOT, write_params


def test_real_params_section_validates_and_builds_a_spec():
    base, params = load_params(ROOT / "params.yaml", "art", ArtParams)
    spec = params.spec(base.seed)
    assert spec.content_layers == dict(params.layers[params.backbone].content)
    assert spec.steps == params.steps and spec.snapshot_every >= 1
    over = params.spec(base.seed, "vgg19", steps=10, init="noise")
    assert over.steps == 10 and over.init == "noise" and "relu4_2" in over.content_layers
    assert str(Layout("d").stylize) == "d/art/stylize"


def test_invalid_art_params_name_the_key(tmp_path, real_params):
    real_params["art"]["backbone"] = "resnet50"
    with pytest.raises(ParamsError, match="art.backbone"):
        load_params(write_params(tmp_path / "p.yaml", real_params), "art", ArtParams)
    real_params["art"]["backbone"] = "vgg19"
    del real_params["art"]["layers"]["vgg19"]
    with pytest.raises(ParamsError, match="no entry for backbone 'vgg19'"):
        load_params(write_params(tmp_path / "p.yaml", real_params), "art", ArtParams)


def test_pair_names_are_file_stems():
    assert pair_name(Pair(content="builtin:china", style="some dir/My Style.jpg")) == "china__My-Style"


def test_load_ref_builtin_and_files(tmp_path):
    x = load_ref("builtin:flower", 64)
    assert x.shape[:2] == (1, 3) and max(x.shape[2:]) == 64
    assert torch.equal(x, load_ref("builtin:flower", 64))
    with pytest.raises(DataError, match="no built-in style image called 'starry'.*builtin:swirls"):
        load_ref("builtin:starry", 64, "style image")
    path = tmp_path / "photo.jpg"
    Image.fromarray(np.full((30, 90, 3), 200, np.uint8)).save(path)
    y = load_ref(str(path), 60)
    assert y.shape == (1, 3, 20, 60)
    with pytest.raises(DataError, match="missing.png: content image not found"):
        load_ref(str(tmp_path / "missing.png"), 60, "content image")
    bad = tmp_path / "broken.jpg"
    bad.write_bytes(b"not an image")
    with pytest.raises(DataError, match="broken.jpg: style image cannot be used"):
        load_ref(str(bad), 60, "style image")


def test_png_round_trip_is_exact(tmp_path):
    img = Image.fromarray(np.random.default_rng(0).integers(0, 256, (9, 7, 3), np.uint8))
    path = save_png(to_tensor(img), tmp_path / "x.png")
    assert np.array_equal(np.asarray(Image.open(path)), np.asarray(img))
    assert to_pil(to_tensor(img)).tobytes() == img.tobytes()


@pytest.mark.parametrize("name", sorted(builtin.STYLES))
def test_style_textures_are_seeded(name):
    a = builtin.STYLES[name](64, builtin._rng(name, 0))
    b = builtin.STYLES[name](64, builtin._rng(name, 0))
    c = builtin.STYLES[name](64, builtin._rng(name, 1))
    assert a.size == (64, 64) and a.tobytes() == b.tobytes() != c.tobytes()
    assert np.asarray(a).std() > 10  # a texture, not a flat colour


def test_initial_image_and_total_variation():
    content = torch.rand(1, 3, 8, 8)
    assert torch.equal(initial_image(content, "content", 0), content)
    noise = initial_image(content, "noise", 5)
    assert torch.equal(noise, initial_image(content, "noise", 5)) and not torch.equal(noise, content)
    with pytest.raises(ValueError, match="noise or content"):
        initial_image(content, "grey", 0)
    assert float(total_variation(torch.ones(1, 3, 4, 4))) == 0.0
    # Stripes 0,1,0,1 along x: every horizontal neighbour differs by 1, vertical ones not at all.
    stripes = torch.tensor([0.0, 1.0, 0.0, 1.0]).repeat(1, 3, 4, 1)
    assert float(total_variation(stripes)) == 1.0
