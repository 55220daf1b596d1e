"""What makes a generated scene look more like a photograph than a drawing.

Measured against the real-photo check (``flows.day_night evaluate``), flat drawn scenes
taught models the drawing, not the light. These add what photographs have and drawings
lack, the same way in both classes so that none of it is a label cue by itself:

- surface texture (multi-scale noise on everything below the sky, weaker in the sky);
- landmarks: a big stone building with towers, sunlit by day, floodlit from below by night
  (the commonest night photograph: a lit monument against a dark sky);
- water in front (lakes, rivers, moats) mirroring what stands above it;
- the camera: hand-held blur (more at night) and the colour noise of low light.
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from tasks.day_night.scenes import Camera, Lighting, Scene

_STONE = ((205, 190, 160), (190, 180, 170), (215, 205, 185), (170, 150, 130), (225, 220, 210))
_FLOOD = ((255, 190, 110), (255, 215, 160), (240, 235, 225))


def _noise(w: int, h: int, rng: np.random.Generator, cells: int) -> np.ndarray:
    """``(h, w)`` smooth noise in about [-1, 1] with ``cells`` random values across the width."""
    cw, ch = max(2, cells), max(2, int(cells * h / max(1, w)))
    small = Image.fromarray(((rng.random((ch, cw)) * 255)).astype(np.uint8), "L")
    return np.asarray(small.resize((w, h), Image.Resampling.BICUBIC), np.float32) / 127.5 - 1.0


def texture(img: Image.Image, hy: int, rng: np.random.Generator, strength: float) -> Image.Image:
    """Multiply by multi-octave noise: ``strength`` below the horizon ``hy``, a third of it above."""
    w, h = img.size
    n = sum(_noise(w, h, rng, c) * a for c, a in ((w // 64 + 2, 0.25), (w // 16, 0.3), (w // 4, 0.25)))
    fine = rng.normal(0, 0.8, (h, w)).astype(np.float32)  # pixel-scale detail (foliage, stone, gravel)
    weight = np.where(np.arange(h) < hy, strength / 3, strength).astype(np.float32)[:, None]
    factor = 1.0 + weight * (n + 0.6 * fine)
    x = np.asarray(img, np.float32) * factor[..., None]
    return Image.fromarray(np.clip(x, 0, 255).astype(np.uint8))


def landmark(img: Image.Image, draw: ImageDraw.ImageDraw, hy: int, scene: Scene, light: Lighting, cam: Camera,
             rng: np.random.Generator) -> None:
    """A large building with towers on the horizon; floodlit from below at night, sunlit by day."""
    w, h = img.size
    cx, bw = rng.uniform(0.25, 0.75) * w, rng.uniform(0.25, 0.55) * w
    body_h = h * rng.uniform(0.15, 0.32)
    x0, x1, top = cx - bw / 2, cx + bw / 2, hy - body_h
    towers = []
    for tx in sorted(rng.uniform(x0, x1, int(rng.integers(1, 4)))):
        tw = bw * rng.uniform(0.07, 0.16)
        towers.append((tx - tw / 2, tx + tw / 2, top - h * rng.uniform(0.05, 0.2)))
    stone = _STONE[int(rng.integers(len(_STONE)))]
    mask = Image.new("L", img.size, 0)
    mdraw = ImageDraw.Draw(mask)
    mdraw.rectangle([x0, top, x1, hy + 2], fill=255)
    for a, b, t in towers:
        mdraw.rectangle([a, t, b, top], fill=255)
        mdraw.polygon([(a - 2, t), ((a + b) / 2, t - (b - a) * rng.uniform(0.6, 1.6)), (b + 2, t)], fill=255)
    if scene.label == "night" and rng.random() < 0.85:  # floodlights at the foot, fading upwards
        flood = np.asarray(_FLOOD[int(rng.integers(len(_FLOOD)))]) * np.asarray(stone) / 255.0
        ramp = np.clip(1.1 - 0.8 * (hy - np.arange(h)) / max(1.0, hy - min(t for *_, t in towers)), 0.25, 1.2)
        colours = np.stack([cam(tuple(flood * 1.3 * r)) for r in ramp[:: max(1, h // 64)]])
        col = np.repeat(colours, max(1, h // 64), axis=0)[:h]
        col = np.concatenate([col, np.repeat(col[-1:], h - len(col), axis=0)]) if len(col) < h else col
        face = Image.fromarray(np.ascontiguousarray(col.astype(np.uint8)[:, None, :])).resize((w, h))
    else:  # daylight (or an unlit building at night): the ambient light on stone
        face = Image.new("RGB", img.size, cam(tuple(np.asarray(stone) * np.asarray(light.ambient))))
    img.paste(face, mask=mask)
    shade = cam(tuple(np.asarray(stone) * np.asarray(light.ambient) * 0.35))
    lit_win = cam((560, 420, 240))
    for r in range(int(rng.integers(2, 5))):  # rows of tall windows
        wy = top + body_h * (0.15 + 0.2 * r)
        cols = int(rng.integers(5, 14))
        for c in range(cols):
            wx = x0 + bw * (c + 0.3) / cols
            fill = lit_win if scene.label == "night" and rng.random() < 0.3 else shade
            draw.rectangle([wx, wy, wx + bw * 0.02, wy + body_h * 0.1], fill=fill)


def water(img: Image.Image, hy: int, rng: np.random.Generator, darken: float) -> Image.Image:
    """Water below the horizon: a blurred, rippled, darker mirror image of what stands above it."""
    w, h = img.size
    depth = int((h - hy) * rng.uniform(0.5, 1.0))
    if depth < 4:
        return img
    above = img.crop((0, max(0, hy - depth), w, hy)).transpose(Image.Transpose.FLIP_TOP_BOTTOM)
    ripples = above.resize((w, max(1, above.height // 3)), Image.Resampling.BILINEAR).resize(above.size)
    mirror = Image.blend(above, ripples, 0.6).filter(ImageFilter.GaussianBlur(1.2))
    arr = np.asarray(mirror, np.float32) * darken
    out = img.copy()
    out.paste(Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8)), (0, hy))
    return out


def camera_shake(img: Image.Image, scene: Scene, rng: np.random.Generator) -> Image.Image:
    """Soft pictures: hand-held blur, more often and stronger in the long exposures of night;
    colour noise (each channel its own) at night."""
    night = scene.label == "night"
    if rng.random() < (0.45 if night else 0.25):
        img = img.filter(ImageFilter.GaussianBlur(float(rng.uniform(0.4, 1.6) if night else rng.uniform(0.3, 1.0))))
    if not night:
        return img
    x = np.asarray(img, np.float32)
    sigma = scene.noise * rng.uniform(0.2, 0.5)
    small = rng.normal(0, sigma, (x.shape[0] // 2 + 1, x.shape[1] // 2 + 1, 3)).astype(np.float32)
    x = x + np.repeat(np.repeat(small, 2, 0), 2, 1)[: x.shape[0], : x.shape[1]]
    return Image.fromarray(np.clip(x, 0, 255).astype(np.uint8))
