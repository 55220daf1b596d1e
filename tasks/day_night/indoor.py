"""A room seen from inside with a window: the lecture's hard case for day vs night.

The camera exposes for the room, so by day the window is blown out and the room is lit by
it; by night the window is dark and the room is lit by lamps, often just as brightly.
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageChops, ImageDraw

from tasks.day_night.render import _ellipse, _mask, _paste_mask, outdoor
from tasks.day_night.scenes import Camera, Lighting, Scene

_WALLS = ((225, 220, 205), (200, 205, 210), (235, 225, 200), (170, 190, 205), (215, 195, 175), (190, 200, 180))
_FLOORS = ((140, 100, 70), (170, 135, 95), (110, 105, 100), (190, 170, 140))
_FABRIC = ((150, 60, 60), (60, 90, 140), (90, 120, 80), (200, 180, 140), (80, 80, 85))


def _pick(rng: np.random.Generator, options: tuple) -> tuple:
    return options[int(rng.integers(len(options)))]


def _light_map(w: int, h: int, centre: tuple[float, float], floor: float, reach: float) -> Image.Image:
    """Room light falling off from ``centre`` (fractions of the size), as an RGB multiply mask."""
    yy, xx = np.mgrid[0:1:24j, 0:1:32j]
    d2 = (xx - centre[0]) ** 2 + ((yy - centre[1]) * h / w) ** 2
    level = floor + (1 - floor) * np.exp(-d2 / reach**2)
    small = Image.fromarray((255 * level).astype(np.uint8), "L")
    return small.resize((w, h), Image.Resampling.BILINEAR).convert("RGB")


def indoor(scene: Scene, light: Lighting, rng: np.random.Generator) -> Image.Image:
    """The room, its furniture and lamp, and the outdoor scene through its window."""
    w, h = scene.width, scene.height
    night = scene.label == "night"
    lamp_on = night or rng.random() < 0.25
    if night:
        room = (1.0, 0.82, 0.58) if rng.random() < 0.75 else (0.9, 0.95, 1.0)  # tungsten or LED
        room = tuple(c * rng.uniform(0.45, 0.95) for c in room)
    else:
        room = tuple(c * rng.uniform(0.45, 1.0) for c in (1.0, 1.0, 1.02))
    exposure = scene.exposure / (2.2 if night else 1.0)  # the camera exposes for the room
    cam = Camera(exposure, scene.white_balance)
    img = Image.new("RGB", (w, h), cam(_pick(rng, _WALLS), room))
    draw = ImageDraw.Draw(img)
    floor_y = int(h * rng.uniform(0.66, 0.8))
    draw.rectangle([0, floor_y, w, h], fill=cam(_pick(rng, _FLOORS), room))
    # the window
    ww, wh = int(w * rng.uniform(0.22, 0.42)), int(h * rng.uniform(0.28, 0.45))
    wx, wy = int(rng.uniform(0.05, 0.95) * (w - ww)), int(h * rng.uniform(0.1, 0.25))
    for _ in range(int(rng.integers(0, 3))):  # pictures on the wall
        px, py, ps = rng.uniform(0, w), rng.uniform(0.15, 0.5) * h, rng.uniform(0.05, 0.12) * h
        draw.rectangle([px, py, px + ps * 1.3, py + ps], fill=cam((60, 45, 35), room))
        draw.rectangle([px + ps * 0.1, py + ps * 0.1, px + ps * 1.2, py + ps * 0.9],
                       fill=cam(tuple(int(v) for v in rng.integers(40, 230, 3)), room))
    sx, sw = rng.uniform(0, 0.6) * w, rng.uniform(0.25, 0.4) * w  # a sofa
    seat = cam(_pick(rng, _FABRIC), room)
    draw.rectangle([sx, floor_y - h * 0.2, sx + sw, floor_y + h * 0.04], fill=seat)
    draw.rectangle([sx, floor_y - h * 0.1, sx + sw, floor_y + h * 0.06], fill=cam((50, 50, 50), room))
    tx = rng.uniform(0, 0.8) * w  # a table
    draw.rectangle([tx, floor_y - h * 0.09, tx + w * 0.18, floor_y - h * 0.07], fill=cam((110, 80, 55), room))
    lamp_x, lamp_y = rng.uniform(0.1, 0.9), rng.uniform(0.05, 0.45)
    if night:
        centre, floor_level, reach = (lamp_x, lamp_y), rng.uniform(0.15, 0.45), rng.uniform(0.35, 0.8)
    else:
        centre = ((wx + ww / 2) / w, (wy + wh / 2) / h)
        floor_level, reach = rng.uniform(0.35, 0.65), rng.uniform(0.45, 1.0)
    img = ImageChops.multiply(img, _light_map(w, h, centre, floor_level, reach))
    draw = ImageDraw.Draw(img)
    # the view outside: blown out by day, dark by night
    out_gain = rng.uniform(1.8, 3.5) if not night else rng.uniform(0.4, 1.0)
    out_cam = Camera(scene.exposure * out_gain, scene.white_balance)
    view = outdoor(ww, wh, scene, light, out_cam, rng, setting="city" if rng.random() < 0.6 else "country")
    img.paste(view, (wx, wy))
    frame = cam((235, 232, 225), room)
    bar = max(2, int(w * 0.008))
    draw.rectangle([wx, wy, wx + ww, wy + wh], outline=frame, width=bar * 2)
    draw.rectangle([wx + ww // 2 - bar // 2, wy, wx + ww // 2 + bar // 2, wy + wh], fill=frame)
    if rng.random() < 0.6:  # curtains
        cloth = cam(_pick(rng, _FABRIC), room)
        draw.rectangle([wx - ww * 0.1, wy - wh * 0.1, wx + ww * rng.uniform(0.05, 0.3), wy + wh * 1.1], fill=cloth)
        draw.rectangle([wx + ww * rng.uniform(0.7, 0.95), wy - wh * 0.1, wx + ww * 1.1, wy + wh * 1.1], fill=cloth)
    # the lamp
    lx, ly, r = lamp_x * w, lamp_y * h, h * rng.uniform(0.03, 0.06)
    draw.line([(lx, 0), (lx, ly - r)], fill=cam((40, 40, 40), room), width=max(1, bar // 2))
    if lamp_on:
        glow, gdraw, f = _mask(img.size)
        _ellipse(gdraw, lx, ly, r * 5, r * 5, 120, f)
        _paste_mask(img, cam((255, 215, 160)), glow, 3)
        draw.polygon([(lx - r, ly - r * 0.6), (lx + r, ly - r * 0.6), (lx + r * 1.4, ly + r * 0.6),
                      (lx - r * 1.4, ly + r * 0.6)], fill=cam((900, 780, 560)))
    else:
        draw.polygon([(lx - r, ly - r * 0.6), (lx + r, ly - r * 0.6), (lx + r * 1.4, ly + r * 0.6),
                      (lx - r * 1.4, ly + r * 0.6)], fill=cam((200, 190, 170), room))
    return img
