"""Decode and check image files with Pillow: one place for every image pipeline.

:func:`load_image` applies the EXIF orientation, converts palette, grayscale, CMYK,
alpha and high-bit-depth (16-bit, 32-bit integer, float) images to 8-bit RGB, and can
decode JPEGs at reduced size (draft mode) when only a small image is needed.
:func:`check_image` turns every way a file can be unusable into a quarantine reason
instead of an exception.

Decompression bombs: Pillow's own process-wide limit is replaced by ours, checked in
:func:`load_image` from the header before any pixel is decoded: ``base.max_image_pixels``
(set by :func:`set_max_pixels` when params are loaded; worker processes inherit it
through ``$DLPIPES_MAX_IMAGE_PIXELS``). A larger file is a per-file "too large" error.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff")

_ORIENTATION = 0x0112  # EXIF tag
_QUARTER_TURNS = {5, 6, 7, 8}  # orientations that swap width and height

MAX_PIXELS_ENV = "DLPIPES_MAX_IMAGE_PIXELS"
DEFAULT_MAX_PIXELS = 120_000_000  # base.max_image_pixels in params.yaml (a test checks they agree)
_max_pixels = int(os.environ.get(MAX_PIXELS_ENV, DEFAULT_MAX_PIXELS))
# Our check below replaces Pillow's (which warns, or raises at twice its limit, from inside open()).
Image.MAX_IMAGE_PIXELS = None


def set_max_pixels(pixels: int) -> None:
    """Set the largest image decoded in this process and the worker processes it starts."""
    global _max_pixels
    _max_pixels = int(pixels)
    os.environ[MAX_PIXELS_ENV] = str(_max_pixels)


def max_pixels() -> int:
    return _max_pixels


class ImageReadError(ValueError):
    """A file that cannot be used as an image; the message starts with the reason's name."""


@dataclass(frozen=True)
class ImageLimits:
    """What a usable image must meet (pixels, and long side / short side)."""

    min_side: int = 32
    max_aspect: float = 4.0


@dataclass(frozen=True)
class ImageInfo:
    width: int  # after EXIF orientation, at full size
    height: int
    mode: str  # the file's own mode before conversion (e.g. "CMYK", "P", "L", "RGBA")
    format: str
    bytes: int


def list_images(folder: Path | str) -> list[Path]:
    """Every image file under ``folder`` (recursively), sorted for a stable order."""
    return sorted(p for p in Path(folder).rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS)


def _to_8bit(img: Image.Image) -> Image.Image:
    """High-bit-depth grayscale (``I;16*``, ``I``, ``F``) to ``L``, scaled by the format's range.

    Pillow's own conversion clips these at 255, so a 16-bit photo would come out all white.
    16-bit values are scaled by 65535 (a dark photo stays dark); 32-bit integers by 65535
    when they fit 16 bits, else by their maximum; floats by 1 when they lie in 0-1, else by
    their range.
    """
    a = np.asarray(img, dtype=np.float64)
    if img.mode.startswith("I;16"):
        scaled = a / 257.0
    elif img.mode == "I":
        top = float(a.max(initial=0))
        scaled = a if top <= 255 else a / 257.0 if top <= 65535 else a * (255.0 / top)
    else:  # "F"
        lo, hi = float(a.min(initial=0)), float(a.max(initial=0))
        if np.isnan(a).any():
            raise ImageReadError("undecodable: NaN pixel values")
        scaled = a * 255.0 if lo >= 0 and hi <= 1 else (a - lo) * (255.0 / max(hi - lo, 1e-12))
    return Image.fromarray(np.clip(np.rint(scaled), 0, 255).astype(np.uint8), mode="L")


def _to_rgb(img: Image.Image) -> Image.Image:
    if img.mode == "RGB":
        return img
    if img.mode.startswith("I") or img.mode == "F":
        return _to_8bit(img).convert("RGB")
    if img.mode in ("RGBA", "LA") or (img.mode == "P" and "transparency" in img.info):
        rgba = img.convert("RGBA")
        background = Image.new("RGB", rgba.size, (255, 255, 255))
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    return img.convert("RGB")


def load_image(path: Path | str, max_side: int | None = None, *,
               min_side: int | None = None, smallest: int | None = None) -> tuple[Image.Image, ImageInfo]:
    """Decode ``path`` to an upright RGB image; raises :class:`ImageReadError` with a reason.

    With ``max_side``, JPEGs are decoded at the smallest power-of-two reduction that still
    leaves at least ``max_side`` pixels on the long side (much faster for thumbnails); with
    ``min_side``, at least that many on the short side (for square thumbnails that must not
    be upsampled). With ``smallest``, an image whose smaller side has fewer pixels is refused
    ("tiny"). The returned :class:`ImageInfo` always gives the full-size dimensions.
    """
    path = Path(path)
    if path.is_symlink() and not path.exists():
        raise ImageReadError("missing: a broken or looping link")
    size = path.stat().st_size
    if size == 0:
        raise ImageReadError("zero-size: the file is empty")
    try:
        with Image.open(path) as img:
            fmt, mode = img.format or "?", img.mode
            stored_w, stored_h = full_w, full_h = img.size
            if stored_w * stored_h > _max_pixels:
                raise ImageReadError(f"too large: {stored_w}x{stored_h} = {stored_w * stored_h / 1e6:.0f} MP "
                                     f"exceeds base.max_image_pixels ({_max_pixels / 1e6:.0f} MP); not decoded")
            if smallest is not None and min(stored_w, stored_h) < smallest:
                raise ImageReadError(f"tiny: {stored_w}x{stored_h} px, smaller side below {smallest} px")
            if img.getexif().get(_ORIENTATION) in _QUARTER_TURNS:
                full_w, full_h = full_h, full_w
            if (max_side or min_side) and fmt == "JPEG":
                scale = max((max_side or 0) / max(full_w, full_h), (min_side or 0) / max(1, min(full_w, full_h)))
                if scale < 1:  # draft sizes are in the file's stored orientation
                    img.draft("RGB", (max(1, int(stored_w * scale)), max(1, int(stored_h * scale))))
            img.load()
            oriented = ImageOps.exif_transpose(img)
            rgb = _to_rgb(oriented)
    except ImageReadError:
        raise
    except UnidentifiedImageError:
        raise ImageReadError("undecodable: not an image Pillow can read") from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageReadError(f"too large: {exc}") from None
    except OSError as exc:
        reason = "truncated" if "truncated" in str(exc).lower() else "undecodable"
        raise ImageReadError(f"{reason}: {exc}") from None
    except (ValueError, SyntaxError) as exc:
        raise ImageReadError(f"undecodable: {exc}") from None
    return rgb, ImageInfo(full_w, full_h, mode, fmt, size)


def size_problem(width: int, height: int, limits: ImageLimits) -> str | None:
    """Reason an image of this size is unusable, or None."""
    if min(width, height) < limits.min_side:
        return f"tiny: {width}x{height} px, smaller side below {limits.min_side} px"
    aspect = max(width, height) / max(1, min(width, height))
    if aspect > limits.max_aspect:
        return f"extreme aspect: {aspect:.1f}:1 exceeds {limits.max_aspect}:1"
    return None


def check_image(path: Path | str, limits: ImageLimits, max_side: int | None = None
                ) -> tuple[Image.Image | None, ImageInfo | None, str | None]:
    """Load and check one file: ``(image, info, None)`` or ``(None, info_or_None, reason)``."""
    try:
        img, info = load_image(path, max_side)
    except ImageReadError as exc:
        return None, None, str(exc)
    reason = size_problem(info.width, info.height, limits)
    return (None, info, reason) if reason else (img, info, None)
