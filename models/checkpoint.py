"""Self-describing checkpoint folders that others can load safely.

A checkpoint folder holds:

- ``model.safetensors``: the weights (safetensors: no pickle, so loading runs no code);
- ``config.json``: the architecture's name and its config dataclass, the format version,
  and whatever the pipeline adds (feature settings, threshold, params, data hash, metrics);
- ``model_card.md``: a short human description (data, metrics, intended use, limits).

:func:`load_model` rebuilds the architecture from ``config.json`` and fails with a clear
message when the config or the weights do not match what this code defines.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any, TypeVar

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file
from torch import nn

FORMAT_VERSION = 1
WEIGHTS = "model.safetensors"
CONFIG = "config.json"
CARD = "model_card.md"

C = TypeVar("C")


class CheckpointError(ValueError):
    """A checkpoint that cannot be loaded by this code; the message says why and which file."""


def save_model(folder: Path | str, model: nn.Module, config: Any, meta: dict[str, Any] | None = None,
               card: str | None = None) -> None:
    """Write weights, config (with ``meta``) and model card into an existing ``folder``."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    save_file(state, str(folder / WEIGHTS), metadata={"format_version": str(FORMAT_VERSION)})
    doc = {"format_version": FORMAT_VERSION, "architecture": type(model).__name__,
           "model_config": dataclasses.asdict(config), **(meta or {})}
    (folder / CONFIG).write_text(json.dumps(doc, indent=2, sort_keys=True, default=str) + "\n")
    if card is not None:
        (folder / CARD).write_text(card)


def read_config(folder: Path | str) -> dict[str, Any]:
    """The checkpoint's ``config.json``, checked for presence and format version."""
    path = Path(folder) / CONFIG
    if not path.is_file():
        raise CheckpointError(f"{path}: not found; is {folder} a checkpoint folder?")
    try:
        doc = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise CheckpointError(f"{path}: not valid JSON ({exc})") from None
    if doc.get("format_version") != FORMAT_VERSION:
        raise CheckpointError(f"{path}: format version {doc.get('format_version')!r}, this code reads "
                              f"{FORMAT_VERSION}")
    return doc


def build_config(doc: dict[str, Any], config_cls: type[C], folder: Path | str) -> C:
    """The config dataclass from a checkpoint's ``model_config``, with mismatches spelled out."""
    fields = {f.name for f in dataclasses.fields(config_cls)}  # type: ignore[arg-type]
    got = set(doc.get("model_config", {}))
    if got != fields:
        raise CheckpointError(
            f"{Path(folder) / CONFIG}: model_config does not match {config_cls.__name__} in this code "
            f"(unknown: {sorted(got - fields) or 'none'}; missing: {sorted(fields - got) or 'none'}); "
            "it was made by a different version of the model")
    values = {k: tuple(v) if isinstance(v, list) else v for k, v in doc["model_config"].items()}
    return config_cls(**values)


def load_model(folder: Path | str, model_cls: type[nn.Module], config_cls: type[C],
               map_location: str = "cpu") -> tuple[nn.Module, dict[str, Any]]:
    """Rebuild ``model_cls`` from a checkpoint folder; returns the model (eval mode) and config.json."""
    folder = Path(folder)
    doc = read_config(folder)
    if doc.get("architecture") != model_cls.__name__:
        raise CheckpointError(f"{folder / CONFIG}: architecture {doc.get('architecture')!r}, expected "
                              f"{model_cls.__name__!r}")
    model = model_cls(build_config(doc, config_cls, folder))
    weights = folder / WEIGHTS
    if not weights.is_file():
        raise CheckpointError(f"{weights}: not found")
    try:
        state = load_file(str(weights), device=map_location)
    except (SafetensorError, OSError) as exc:
        raise CheckpointError(f"{weights}: not a readable safetensors file ({exc}); is the checkpoint "
                              "complete?") from None
    expected = model.state_dict()
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    wrong = [k for k in expected if k in state and expected[k].shape != state[k].shape]
    if missing or unexpected or wrong:
        raise CheckpointError(f"{weights}: weights do not fit {model_cls.__name__} as configured "
                              f"(missing: {missing[:5]}, unexpected: {unexpected[:5]}, "
                              f"other shapes: {wrong[:5]})")
    model.load_state_dict(state)
    return model.eval(), doc


def state_dict_hash(model: nn.Module) -> str:
    """A short SHA-256 of the weights, to tie derived data (e.g. embeddings) to one model."""
    import hashlib

    h = hashlib.sha256()
    for k, v in sorted(model.state_dict().items()):
        h.update(k.encode())
        h.update(v.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()[:16]


def torch_load_weights(path: Path | str) -> dict[str, torch.Tensor]:
    """Load a plain ``.pt`` state dict without running pickled code (``weights_only=True``)."""
    return torch.load(str(path), map_location="cpu", weights_only=True)
