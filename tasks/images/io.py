"""Decode and check image files with Pillow: one place for every image pipeline.

:func:`load_image` applies the EXIF orientation, converts palette, grayscale, CMYK and
alpha images to RGB, and can decode JPEGs at reduced size (draft mode) when only a small
image is needed. :func:`check_image` turns every way a file can be unusable into a
quarantine reason instead of an exception.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageOps, UnidentifiedImageError

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff")

_ORIENTATION = 0x0112  # EXIF tag
_QUARTER_TURNS = {5, 6, 7, 8}  # orientations that swap width and height

# Decompression bombs are errors, not warnings.
warnings.simplefilter("error", Image.DecompressionBombWarning)


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


def _to_rgb(img: Image.Image) -> Image.Image:
    if img.mode == "RGB":
        return img
    if img.mode in ("RGBA", "LA") or (img.mode == "P" and "transparency" in img.info):
        rgba = img.convert("RGBA")
        background = Image.new("RGB", rgba.size, (255, 255, 255))
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    return img.convert("RGB")


def load_image(path: Path | str, max_side: int | None = None, *,
               min_side: int | None = None) -> tuple[Image.Image, ImageInfo]:
    """Decode ``path`` to an upright RGB image; raises :class:`ImageReadError` with a reason.

    With ``max_side``, JPEGs are decoded at the smallest power-of-two reduction that still
    leaves at least ``max_side`` pixels on the long side (much faster for thumbnails); with
    ``min_side``, at least that many on the short side (for square thumbnails that must not
    be upsampled). The returned :class:`ImageInfo` always gives the full-size dimensions.
    """
    path = Path(path)
    size = path.stat().st_size
    if size == 0:
        raise ImageReadError("zero-size: the file is empty")
    try:
        with Image.open(path) as img:
            fmt, mode = img.format or "?", img.mode
            stored_w, stored_h = full_w, full_h = img.size
            if img.getexif().get(_ORIENTATION) in _QUARTER_TURNS:
                full_w, full_h = full_h, full_w
            if (max_side or min_side) and fmt == "JPEG":
                scale = max((max_side or 0) / max(full_w, full_h), (min_side or 0) / max(1, min(full_w, full_h)))
                if scale < 1:  # draft sizes are in the file's stored orientation
                    img.draft("RGB", (max(1, int(stored_w * scale)), max(1, int(stored_h * scale))))
            img.load()
            oriented = ImageOps.exif_transpose(img)
            rgb = _to_rgb(oriented)
    except UnidentifiedImageError:
        raise ImageReadError("undecodable: not an image Pillow can read") from None
    except Image.DecompressionBombError as exc:
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
