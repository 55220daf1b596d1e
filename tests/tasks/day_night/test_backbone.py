"""The backbone model: real ImageNet features, cached once per picture and resolution, and its head."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from models.day_night_backbone import load_backbone
from models.pretrained import MissingWeightsError, find_weights
from tasks.day_night.check import check_scores, read_check_set
from tasks.day_night.classify import Classifier
from tasks.day_night.features import FeatureCache
from tasks.day_night.head import HeadSettings, fit_head, predict_head
from tasks.day_night.learners import BackboneLearner
from tasks.errors import DataError
from tasks.io import sha256_file


def scenes(n: int, seed: int) -> tuple[np.ndarray, torch.Tensor]:
    """32 px pictures: bright blue-sky tops over grey ground (day) or near-black with a few lamps (night)."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 2
    x = np.empty((n, 32, 32, 3), np.uint8)
    for i in range(n):
        if y[i] == 0:
            img = np.concatenate([np.full((16, 32, 3), (90, 150, 235)), np.full((16, 32, 3), (120, 118, 110))])
            img = img * rng.uniform(0.8, 1.1)
        else:
            img = np.full((32, 32, 3), rng.uniform(5, 25))
            for _ in range(rng.integers(2, 6)):
                r, c = rng.integers(4, 28, 2)
                img[r - 1:r + 2, c - 1:c + 2] = (255, 210, 140)
        x[i] = np.clip(img + rng.normal(0, 4, img.shape), 0, 255).astype(np.uint8)
    return x, torch.tensor(y, dtype=torch.float32)


@pytest.fixture(scope="module")
def backbone():
    torch.set_num_threads(2)
    net, path = load_backbone("mobilenet_v2", 64)
    return net, sha256_file(path)


def test_features_are_cached_per_picture_and_resolution(backbone, tmp_path):
    net, sha = backbone
    x, _ = scenes(6, seed=0)
    cache = FeatureCache(tmp_path, net, sha, "mobilenet_v2")
    first = cache.features(x, 16)
    assert first.shape == (6, 1280) and cache.computed == 6
    again = FeatureCache(tmp_path, net, sha, "mobilenet_v2")  # a second sweep: a new process, same folder
    assert np.array_equal(again.features(x, 16), first) and again.computed == 0
    more, _ = scenes(8, seed=1)
    both = again.features(np.concatenate([x, more[:2]]), 16)  # two new pictures: only those are computed
    assert again.computed == 2 and np.array_equal(both[:6], first)
    again.features(x, 32)  # another resolution is another entry
    assert again.computed == 8 and len(list(tmp_path.glob("*.npz"))) == 2
    (tmp_path / cache.path(16).name).write_bytes(b"damaged")
    assert np.allclose(FeatureCache(tmp_path, net, sha, "mobilenet_v2").features(x, 16), first, atol=1e-5)


def test_head_learns_day_and_night_from_features(backbone, tmp_path):
    net, sha = backbone
    cache = FeatureCache(tmp_path, net, sha, "mobilenet_v2")
    x_train, y_train = scenes(40, seed=2)
    x_dev, y_dev = scenes(20, seed=3)
    head, history = fit_head(cache.features(x_train, 32), y_train, cache.features(x_dev, 32), y_dev,
                             HeadSettings(epochs=3, l2=0.01))
    p = predict_head(head, cache.features(x_dev, 32))
    assert len(history) == 3 and ((p >= 0.5) == y_dev.numpy().astype(bool)).mean() == 1.0
    assert history[-1]["train_loss"] < 0.3


def test_missing_weights_name_the_file_and_the_setup(tmp_path):
    with pytest.raises(MissingWeightsError, match="mobilenet_v2.*not found.*backbone_weights"):
        load_backbone("mobilenet_v2", 64, tmp_path / "mobilenet_v2.pth", "day_night.model.backbone_weights")
    from models.pretrained import missing_message
    text = missing_message("mobilenet_v2", "day_night.model.backbone_weights")
    assert "mobilenet_v2-b0353104.pth" in text and "bash scripts/setup.sh" in text
    assert find_weights("mobilenet_v2").name == "mobilenet_v2-b0353104.pth"  # setup installs it


def test_backbone_checkpoint_classifies_files(tmp_path):
    learner = BackboneLearner("mobilenet_v2", 64, None, tmp_path / "cache", HeadSettings(epochs=2))
    x_train, y_train = scenes(30, seed=4)
    x_dev, y_dev = scenes(10, seed=5)
    data = {"x_train": x_train, "y_train": y_train, "x_dev": x_dev, "y_dev": y_dev, "keys": None}
    head, _ = learner.fit(16, data)
    meta = {"labels": ["day", "night"], "resolution": 16, "thumb_size": 32, "threshold": 0.5}
    learner.save(tmp_path / "model", head, meta, "card")
    files = []
    for i in range(4):
        files.append(str(tmp_path / f"p{i}.png"))
        Image.fromarray(np.kron(x_dev[i], np.ones((4, 4, 1), np.uint8))).save(files[-1])  # 128 px photos
    (tmp_path / "bad.jpg").write_text("no")
    rows = list(Classifier(tmp_path / "model").classify([*files, str(tmp_path / "bad.jpg")], batch=3))
    assert [r["file"] for r in rows] == [*files, str(tmp_path / "bad.jpg")]
    assert [r["label"] for r in rows[:4]] == ["day", "night", "day", "night"]
    assert rows[4]["error"].startswith("undecodable")


def test_check_scores_per_source(tmp_path):
    (tmp_path / "labels.csv").write_text("file,label,source_package\na.jpg,day,x\nb.jpg,night,x\nc.jpg,day,y\n")
    frame = read_check_set(tmp_path / "labels.csv", ("day", "night"))
    s = check_scores(frame, np.array([0.1, 0.2, 0.9]), ("day", "night"), 0.5)
    assert s["all"] == {"n": 3, "accuracy": 0.3333, "n_day": 2, "recall_day": 0.5, "n_night": 1,
                        "recall_night": 0.0, "balanced_accuracy": 0.25}
    assert s["per_source"]["x"]["recall_day"] == 1.0 and s["per_source"]["y"]["recall_night"] is None
    (tmp_path / "bad.csv").write_text("file,label\na.jpg,dusk\n")
    with pytest.raises(DataError, match="bad.csv.*dusk"):
        read_check_set(tmp_path / "bad.csv", ("day", "night"))
