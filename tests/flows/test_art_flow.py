"""The art stage and command end to end, on shrunken real params.

The backbone weights here are RANDOM (torchvision's initialisation, saved to a file the
params point at): the run checks the plumbing, files and determinism, not the look.
"""

from __future__ import annotations

import csv
import json

import pytest
import yaml

from flows.art.__main__ import main
from models.pretrained import MissingWeightsError
from tasks.art.config import Layout
from tests.conftest import write_params
from tests.models.random_weights import save_random_weights


@pytest.fixture
def art_params(tmp_path, real_params):
    p = real_params
    p["base"]["data_dir"] = str(tmp_path / "data")
    p["art"] |= {"size": 40, "steps": 6, "snapshots": 2, "weights": str(save_random_weights(tmp_path / "w.pth")),
                 "pairs": [{"content": "builtin:china", "style": "builtin:mosaic"},
                           {"content": str(tmp_path / "missing.jpg"), "style": "builtin:mosaic"}]}
    return p


def test_gallery_stage_writes_image_curve_and_summary_repeatably(prefect_harness, tmp_path, art_params):
    params = write_params(tmp_path / "params.yaml", art_params)
    layout = Layout(art_params["base"]["data_dir"])
    assert main(["gallery", "--params", str(params)]) == 0
    files = sorted(p.name for p in layout.stylize.iterdir())
    assert files == ["china__mosaic.png", "china__mosaic.snapshots.png", "summary.json"]
    rows = list(csv.DictReader((layout.curves / "china__mosaic.csv").open()))
    assert [int(r["step"]) for r in rows] == list(range(1, 7))
    assert float(rows[-1]["total"]) < float(rows[0]["total"])
    summary = json.loads((layout.stylize / "summary.json").read_text())
    assert summary["pairs"][0]["width"] == 40 and not summary["skipped"] and len(summary["pairs"]) == 1
    assert summary["failed"][0]["pair"] == "missing__mosaic" and "missing.jpg" in summary["failed"][0]["error"]
    first = {p.name: p.read_bytes() for p in [*layout.stylize.iterdir(), *layout.curves.iterdir()]}
    assert main(["gallery", "--params", str(params)]) == 0
    again = {p.name: p.read_bytes() for p in [*layout.stylize.iterdir(), *layout.curves.iterdir()]}
    assert first == again  # same params and seed: same bytes


def test_gallery_skips_clearly_without_weights(prefect_harness, tmp_path, art_params, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "empty"))
    art_params["art"] |= {"backbone": "vgg19", "weights": None}
    params = write_params(tmp_path / "params.yaml", art_params)
    layout = Layout(art_params["base"]["data_dir"])
    assert main(["gallery", "--params", str(params)]) == 0
    text = (layout.stylize / "SKIPPED.txt").read_text()
    assert "SKIPPED" in text and "vgg19-dcbb9e9d.pth" in text
    assert json.loads((layout.stylize / "summary.json").read_text())["skipped"] is True
    assert list(layout.curves.iterdir()) == []
    art_params["art"]["on_missing_weights"] = "fail"
    write_params(params, art_params)
    with pytest.raises(MissingWeightsError, match="vgg19-dcbb9e9d.pth"):
        main(["gallery", "--params", str(params)])


def test_stylize_command(prefect_harness, tmp_path, art_params, monkeypatch):
    params = write_params(tmp_path / "params.yaml", art_params)
    out = tmp_path / "out" / "mine.png"
    assert main(["stylize", "builtin:flower", "builtin:swirls", "--out", str(out), "--steps", "3",
                 "--size", "32", "--init", "noise", "--params", str(params)]) == 0
    assert out.is_file() and (out.parent / "mine.snapshots.png").is_file()
    assert len((out.parent / "mine.loss.csv").read_text().splitlines()) == 4
    # A user's run never falls back to random weights: no file, clear error.
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "empty"))
    with pytest.raises(MissingWeightsError, match="vgg19-dcbb9e9d.pth"):
        main(["stylize", "builtin:flower", "builtin:swirls", "--out", str(out), "--backbone", "vgg19",
              "--params", str(params)])
    assert yaml.safe_load(params.read_text())["art"]["backbone"] == "mobilenet_v2"
