"""Case 5: loading a file never runs code from it; a damaged training state is set aside."""

from __future__ import annotations

import ast
import json
import pickle

import numpy as np
import pytest
import torch

from models.state import StateError, load_state, load_state_or_none, save_state
from tests.conftest import ROOT

SCANNED = ("flows", "tasks", "models", "benchmarks", "scripts", "tests")
# Modules that deserialise with pickle, in any of their APIs.
PICKLE_MODULES = {"pickle", "cPickle", "dill", "cloudpickle", "joblib", "shelve", "marshal"}


def unsafe_loads(tree: ast.AST) -> list[str]:
    """Calls that may unpickle: torch.load without weights_only=True, np.load(allow_pickle=True),
    pandas.read_pickle, and any import of a pickle module."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
            found += [f"line {node.lineno}: import {n}" for n in names if n.split(".")[0] in PICKLE_MODULES]
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
        kw = {k.arg: k.value for k in node.keywords}
        const = {k: v.value for k, v in kw.items() if isinstance(v, ast.Constant)}
        owner = func.value.id if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) else ""
        if name == "load" and owner == "torch" and const.get("weights_only") is not True:
            found.append(f"line {node.lineno}: torch.load without weights_only=True")
        if name == "load" and owner in ("np", "numpy") and const.get("allow_pickle") is True:
            found.append(f"line {node.lineno}: np.load(allow_pickle=True)")
        if name in ("read_pickle", "to_pickle", "loads") and owner in ("pd", "pandas", "pickle"):
            found.append(f"line {node.lineno}: {owner}.{name}")
    return found


def test_no_code_in_the_project_can_unpickle():
    problems = []
    for folder in SCANNED:
        for path in sorted((ROOT / folder).rglob("*.py")):
            if path.name == "test_loading.py":
                continue  # this file makes a hostile pickle on purpose
            problems += [f"{path.relative_to(ROOT)}: {p}" for p in unsafe_loads(ast.parse(path.read_text()))]
    assert problems == []


def test_the_scan_finds_what_it_looks_for():
    bad = ("import pickle\nimport torch\ntorch.load(p)\ntorch.load(p, weights_only=False)\n"
           "np.load(p, allow_pickle=True)\npd.read_pickle(p)\ntorch.load(p, weights_only=True)\n")
    assert len(unsafe_loads(ast.parse(bad))) == 5


class _Payload:
    """Unpickling this creates a file: the proof that a crafted state ran code."""

    def __init__(self, target):
        self.target = target

    def __reduce__(self):
        return (open, (str(self.target), "w"))


def test_a_crafted_state_file_is_refused_without_running_it(tmp_path):
    proof = tmp_path / "pwned"
    state_dir = tmp_path / "train_state"
    state_dir.mkdir()
    (state_dir / "state.safetensors").write_bytes(pickle.dumps({"model": _Payload(proof)}))
    assert load_state_or_none(state_dir / "state.safetensors") is None
    assert not proof.exists()
    aside = [p.name for p in state_dir.iterdir()]
    assert len(aside) == 1 and aside[0].startswith("state.safetensors.corrupt-")


@pytest.mark.parametrize("damage", ["truncated", "garbage", "empty"])
def test_a_damaged_state_is_set_aside_and_training_starts_over(tmp_path, damage):
    path = tmp_path / "state.safetensors"
    save_state(path, {"history": [{"epoch": 1}], "w": torch.ones(100)})
    data = path.read_bytes()
    path.write_bytes({"truncated": data[: len(data) - 50], "garbage": b"\x00\xff" * 300, "empty": b""}[damage])
    with pytest.raises(StateError, match="not a readable training state"):
        load_state(path)
    assert load_state_or_none(path) is None and not path.exists()
    assert load_state_or_none(path) is None  # the next run is not blocked either
    save_state(path, {"history": []})  # and it can save its own state again
    assert load_state(path) == {"history": []}


def test_a_restored_state_continues_training_exactly(tmp_path):
    """Weights, Adam's moments, the scheduler and both random generators survive the round trip."""

    def setup():
        torch.manual_seed(0)
        model = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.BatchNorm1d(8), torch.nn.Linear(8, 1))
        opt = torch.optim.Adam(model.parameters(), lr=0.01)
        sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda step: 1.0 / (1 + step))
        return model, opt, sched, np.random.default_rng(3)

    def steps(model, opt, sched, rng, n):
        for _ in range(n):
            x = torch.from_numpy(rng.standard_normal((16, 4)).astype(np.float32)) + torch.randn(16, 4)
            opt.zero_grad()
            model(x).pow(2).mean().backward()
            opt.step()
            sched.step()

    straight = setup()
    steps(*straight, 6)
    model, opt, sched, rng = setup()
    steps(model, opt, sched, rng, 3)
    save_state(tmp_path / "s.safetensors", {"model": model.state_dict(), "optimizer": opt.state_dict(),
                                            "scheduler": sched.state_dict(), "rng": rng.bit_generator.state,
                                            "torch_rng": torch.get_rng_state()})
    torch.manual_seed(123)  # anything in between
    state = load_state(tmp_path / "s.safetensors")
    model, opt, sched, rng = setup()
    model.load_state_dict(state["model"])
    opt.load_state_dict(state["optimizer"])
    sched.load_state_dict(state["scheduler"])
    rng.bit_generator.state = state["rng"]
    torch.set_rng_state(state["torch_rng"])
    steps(model, opt, sched, rng, 3)
    for a, b in zip(straight[0].state_dict().values(), model.state_dict().values(), strict=True):
        assert torch.equal(a, b)


def _cli(module_main, argv, capsys):
    from flows.runtime import run_cli

    with pytest.raises(SystemExit) as exit_:
        run_cli(module_main, argv)
    return exit_.value.code, capsys.readouterr()


@pytest.mark.parametrize("which", ["missing", "other model", "truncated weights", "no threshold"])
def test_a_missing_or_wrong_checkpoint_is_a_message_not_a_traceback(tmp_path, capsys, which):
    from flows.day_night.__main__ import main as dn_main
    from flows.trigger_word.__main__ import main as tw_main
    from tests.conftest import write_audio
    from tests.hostile.helpers import PARAMS, classifier_folder, detector_folder, photo

    wav = write_audio(tmp_path / "a.wav", np.zeros(16000, np.float32), 16000)
    folder = tmp_path / "ckpt"
    if which == "other model":
        classifier_folder(folder)
    elif which == "truncated weights":
        detector_folder(folder)
        data = (folder / "model.safetensors").read_bytes()
        (folder / "model.safetensors").write_bytes(data[: len(data) // 2])
    elif which == "no threshold":
        detector_folder(folder)
        doc = json.loads((folder / "config.json").read_text())
        del doc["threshold"]
        (folder / "config.json").write_text(json.dumps(doc))
    code, out = _cli(tw_main, ["detect", str(wav), "--checkpoint", str(folder), "--params", PARAMS], capsys)
    assert code == 2 and out.err.startswith("error: ") and str(folder) in out.err and "Traceback" not in out.err
    if which == "other model":  # and the other way round: classify given a trigger-word model
        detector_folder(tmp_path / "tw")
        code, out = _cli(dn_main, ["classify", "--checkpoint", str(tmp_path / "tw"), "--params", PARAMS,
                                   str(photo(tmp_path / "p.png"))], capsys)
        assert code == 2 and "architecture 'TriggerWordModel'" in out.err
