"""Square thumbnails (what small image models read) and contact sheets of them."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from PIL import Image, ImageDraw


def square(img: Image.Image, size: int) -> np.ndarray:
    """``img`` squeezed to ``size`` x ``size`` RGB (the whole picture, aspect not kept) as uint8 ``(S, S, 3)``.

    Box filtering averages every source pixel when shrinking (no aliasing); bilinear when
    the image is smaller than ``size``.
    """
    if img.mode != "RGB":
        img = img.convert("RGB")
    shrink = img.width >= size and img.height >= size
    method = Image.Resampling.BOX if shrink else Image.Resampling.BILINEAR
    return np.asarray(img.resize((size, size), method), dtype=np.uint8)


def area_resize(batch: np.ndarray, size: int) -> np.ndarray:
    """``(n, S, S, 3)`` uint8 -> ``(n, size, size, 3)`` float32 0-255 by area averaging.

    When ``size`` divides ``S`` this is the exact mean of each ``S/size`` block; otherwise
    each output pixel averages the input pixels it overlaps (as ``torch``'s area mode).
    """
    n, s = batch.shape[0], batch.shape[1]
    x = batch.astype(np.float32)
    if size == s:
        return x
    if s % size == 0:
        k = s // size
        return x.reshape(n, size, k, size, k, 3).mean(axis=(2, 4))
    edges = np.linspace(0, s, size + 1)
    weights = np.zeros((size, s), dtype=np.float32)  # (out, in) overlap lengths
    for o in range(size):
        lo, hi = edges[o], edges[o + 1]
        for i in range(int(np.floor(lo)), int(np.ceil(hi))):
            weights[o, i] = min(hi, i + 1) - max(lo, i)
    weights /= weights.sum(axis=1, keepdims=True)
    return np.einsum("oh,nhwc,pw->nopc", weights, x, weights, optimize=True)


def montage(thumbs: Sequence[np.ndarray], captions: Sequence[str], cell: int = 96,
            columns: int = 8) -> Image.Image:
    """A contact sheet: each thumbnail in a ``cell`` px square with its caption underneath."""
    rows = max(1, -(-len(thumbs) // columns))
    cap_h = 14
    sheet = Image.new("RGB", (columns * cell, rows * (cell + cap_h)), (24, 24, 24))
    draw = ImageDraw.Draw(sheet)
    for k, (t, caption) in enumerate(zip(thumbs, captions, strict=True)):
        x, y = (k % columns) * cell, (k // columns) * (cell + cap_h)
        sheet.paste(Image.fromarray(t).resize((cell, cell), Image.Resampling.BILINEAR), (x, y))
        draw.text((x + 3, y + cell + 1), caption[: cell // 6], fill=(230, 230, 230))
    return sheet
