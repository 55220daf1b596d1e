"""What the day/night flows share: retries, montage artifacts, matplotlib without a display."""

from __future__ import annotations

import base64
import io
from collections.abc import Sequence

import numpy as np
from PIL import Image

from flows.runtime import publish_markdown
from tasks.config import BaseParams
from tasks.images.thumbs import montage


def retries(base: BaseParams) -> dict:
    return {"retries": base.retries, "retry_delay_seconds": 1}


def montage_png(thumbs: Sequence[np.ndarray], captions: Sequence[str], cell: int = 96) -> bytes:
    """A contact sheet as PNG bytes (deterministic for equal input)."""
    sheet: Image.Image = montage(thumbs, captions, cell=cell)
    buf = io.BytesIO()
    sheet.save(buf, "PNG", optimize=False)
    return buf.getvalue()


def publish_montage(key: str, png: bytes, description: str) -> None:
    """A markdown artifact showing the montage inline (a data URI: no file server needed)."""
    uri = "data:image/png;base64," + base64.b64encode(png).decode()
    publish_markdown(key, f"### {description}\n\n![{description}]({uri})\n", description)
