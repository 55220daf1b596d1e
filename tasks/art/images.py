"""Images in and out of the style-transfer loop: files <-> ``(1, 3, H, W)`` tensors in [0, 1]."""

from __future__ import annotations

import base64
import io
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch import Tensor

from tasks.art.builtin import builtin_image, builtin_names
from tasks.errors import DataError
from tasks.images.io import ImageLimits, check_image
from tasks.io import atomic_file

BUILTIN = "builtin:"  # prefix of the built-in images' names
LIMITS = ImageLimits(min_side=16, max_aspect=4.0)


def read_image(path: Path | str, long_side: int, what: str = "image") -> Tensor:
    """Decode ``path`` (any format Pillow reads; EXIF orientation applied, RGB) and resize it so
    its long side is ``long_side`` px; a clear error naming the file when it cannot be used."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: {what} not found")
    img, _, reason = check_image(path, LIMITS, max_side=long_side)
    if img is None:
        raise DataError(f"{path}: {what} cannot be used: {reason}")
    return to_tensor(resize_long_side(img, long_side))


def load_ref(ref: str, long_side: int, what: str = "image") -> Tensor:
    """``builtin:NAME`` (see :mod:`tasks.art.builtin`) or an image file -> ``(1, 3, H, W)`` in [0, 1]."""
    if ref.startswith(BUILTIN):
        name = ref.removeprefix(BUILTIN)
        try:
            return to_tensor(builtin_image(name, long_side))
        except KeyError:
            raise DataError(f"{ref}: no built-in {what} called {name!r}; built-in images: "
                            + ", ".join(BUILTIN + n for n in builtin_names())) from None
    return read_image(ref, long_side, what)


def resize_long_side(img: Image.Image, long_side: int) -> Image.Image:
    scale = long_side / max(img.size)
    size = (max(1, round(img.width * scale)), max(1, round(img.height * scale)))
    return img if size == img.size else img.resize(size, Image.Resampling.LANCZOS)


def to_tensor(img: Image.Image) -> Tensor:
    """RGB image -> ``(1, 3, H, W)`` float32 in [0, 1]."""
    arr = np.asarray(img.convert("RGB"), dtype=np.float32) / 255.0
    return torch.from_numpy(arr).permute(2, 0, 1).unsqueeze(0).contiguous()


def to_pil(image: Tensor) -> Image.Image:
    """``(1, 3, H, W)`` or ``(3, H, W)`` in [0, 1] -> 8-bit RGB image (rounded, clamped)."""
    x = image.detach().float().cpu()
    x = x[0] if x.dim() == 4 else x
    arr = (x.clamp(0, 1) * 255.0).round().to(torch.uint8).permute(1, 2, 0).numpy()
    return Image.fromarray(np.ascontiguousarray(arr), "RGB")


def save_png(image: Tensor | Image.Image, path: Path | str) -> Path:
    """Write a PNG atomically (Pillow's PNG encoder is deterministic: same pixels, same bytes)."""
    img = image if isinstance(image, Image.Image) else to_pil(image)
    with atomic_file(path) as tmp:
        img.save(tmp, format="PNG")
    return Path(path)


def contact_sheet(images: list[Tensor], height: int = 128) -> Image.Image:
    """The images side by side at ``height`` px (snapshots of a run, left to right)."""
    tiles = [to_pil(x) for x in images]
    tiles = [t.resize((max(1, round(t.width * height / t.height)), height), Image.Resampling.LANCZOS)
             for t in tiles]
    sheet = Image.new("RGB", (sum(t.width for t in tiles) + 4 * max(0, len(tiles) - 1), height), (255, 255, 255))
    x = 0
    for t in tiles:
        sheet.paste(t, (x, 0))
        x += t.width + 4
    return sheet


def data_uri(image: Tensor | Image.Image, max_side: int = 256) -> str:
    """A small JPEG as a ``data:`` URI, for Prefect image and markdown artifacts."""
    img = image if isinstance(image, Image.Image) else to_pil(image)
    img = resize_long_side(img, min(max_side, max(img.size)))
    buf = io.BytesIO()
    img.save(buf, format="JPEG", quality=85)
    return "data:image/jpeg;base64," + base64.b64encode(buf.getvalue()).decode()
