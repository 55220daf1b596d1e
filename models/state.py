"""Resumable training state without pickle: tensors in safetensors, everything else as JSON.

A state is any nest of dicts, lists, tuples, tensors, numbers, strings, booleans and None
(model, optimiser and scheduler state dicts, random generator states, history). Tensors go
into the safetensors body; the rest of the structure is JSON in the file's metadata, with
each tensor replaced by its key. Loading reads data only: a crafted file cannot run code.
One file, written to a temporary name and renamed, so a kill never leaves half a state.
"""

from __future__ import annotations

import json
import logging
import os
import time
import uuid
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save_file

log = logging.getLogger(__name__)

_META_KEY = "dlpipes_state"
_TENSOR, _TUPLE, _DICT = "__tensor__", "__tuple__", "__dict__"


class StateError(ValueError):
    """A state file that cannot be read back (truncated, corrupt, or not one of ours)."""


def _encode(obj: Any, tensors: dict[str, torch.Tensor]) -> Any:
    if isinstance(obj, torch.Tensor):
        key = f"t{len(tensors)}"
        tensors[key] = obj.detach().cpu().clone().contiguous()
        return {_TENSOR: key}
    if isinstance(obj, dict):
        if all(isinstance(k, str) and k not in (_TENSOR, _TUPLE, _DICT) for k in obj):
            return {k: _encode(v, tensors) for k, v in obj.items()}
        return {_DICT: [[_encode(k, tensors), _encode(v, tensors)] for k, v in obj.items()]}
    if isinstance(obj, tuple):
        return {_TUPLE: [_encode(v, tensors) for v in obj]}
    if isinstance(obj, list):
        return [_encode(v, tensors) for v in obj]
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    raise TypeError(f"cannot store a {type(obj).__name__} in a training state")


def _decode(obj: Any, tensors: dict[str, torch.Tensor]) -> Any:
    if isinstance(obj, list):
        return [_decode(v, tensors) for v in obj]
    if not isinstance(obj, dict):
        return obj
    if set(obj) == {_TENSOR}:
        return tensors[obj[_TENSOR]]
    if set(obj) == {_TUPLE}:
        return tuple(_decode(v, tensors) for v in obj[_TUPLE])
    if set(obj) == {_DICT}:
        return {_decode(k, tensors): _decode(v, tensors) for k, v in obj[_DICT]}
    return {k: _decode(v, tensors) for k, v in obj.items()}


def save_state(path: Path | str, state: dict) -> None:
    """Write ``state`` to ``path`` (safetensors with the structure as JSON metadata), atomically."""
    path = Path(path)
    tensors: dict[str, torch.Tensor] = {}
    structure = json.dumps(_encode(state, tensors), allow_nan=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}")
    try:
        save_file(tensors, str(tmp), metadata={_META_KEY: structure})
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def load_state(path: Path | str) -> dict:
    """Read a state written by :func:`save_state`; :class:`StateError` if it is damaged."""
    path = Path(path)
    try:
        with safe_open(str(path), framework="pt") as f:
            meta = f.metadata() or {}
            tensors = {k: f.get_tensor(k) for k in f.keys()}  # noqa: SIM118 - safe_open has no __iter__
        structure = json.loads(meta[_META_KEY])
        state = _decode(structure, tensors)
    except (SafetensorError, OSError, KeyError, ValueError, TypeError) as exc:
        raise StateError(f"{path}: not a readable training state ({type(exc).__name__}: {exc})") from None
    if not isinstance(state, dict):
        raise StateError(f"{path}: not a readable training state (its top level is not a mapping)")
    return state


def load_state_or_none(path: Path | str) -> dict | None:
    """The state at ``path``; None when there is none, or when it is damaged: then it is moved
    aside to ``NAME.corrupt-UNIXTIME`` (kept for a look, never read again) and logged, so the
    run starts over instead of every later run failing on it."""
    path = Path(path)
    if not path.is_file():
        return None
    try:
        return load_state(path)
    except StateError as exc:
        aside = path.with_name(f"{path.name}.corrupt-{int(time.time())}")
        path.rename(aside)
        log.warning("%s; moved aside to %s, training starts over", exc, aside.name)
        return None
