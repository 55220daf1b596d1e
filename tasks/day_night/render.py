"""Draw a :class:`~tasks.day_night.scenes.Scene` into a Pillow image, fast.

Shapes are drawn with ``ImageDraw`` (C speed); smooth light (glows, clouds, fog, room
light) is drawn on small masks, blurred and scaled up, then pasted with the colour it
carries. Every colour goes through the scene's :class:`~tasks.day_night.scenes.Camera`, so
one exposure and white balance act on the whole picture.
"""

from __future__ import annotations

import functools

import numpy as np
from PIL import Image, ImageChops, ImageDraw, ImageFilter

from tasks.day_night import photo
from tasks.day_night.scenes import RGB, Camera, Lighting, Scene, lighting

_BUILDINGS = ((150, 140, 130), (118, 108, 98), (172, 165, 152), (108, 114, 126), (160, 118, 96), (90, 88, 92))
_GRASS = ((72, 112, 52), (98, 124, 60), (140, 128, 78), (60, 92, 58))
_LAMP_COLOURS = ((255, 180, 95), (255, 225, 170), (235, 240, 255))


def _mask(size: tuple[int, int], factor: int = 8) -> tuple[Image.Image, ImageDraw.ImageDraw, int]:
    """A small L mask (1/``factor`` of ``size``) to draw smooth light on."""
    m = Image.new("L", (max(1, size[0] // factor), max(1, size[1] // factor)), 0)
    return m, ImageDraw.Draw(m), factor


def _paste_mask(img: Image.Image, colour: tuple[int, int, int], mask: Image.Image, blur: float) -> None:
    """Blend ``colour`` into ``img`` where the blurred, scaled-up ``mask`` is bright.

    Only the mask's bounding box is scaled up and pasted (glows are small).
    """
    if blur > 0:
        mask = mask.filter(ImageFilter.GaussianBlur(blur))
    box = mask.getbbox()
    if box is None:
        return
    fx, fy = img.width / mask.width, img.height / mask.height
    x0, y0 = int(box[0] * fx), int(box[1] * fy)
    x1, y1 = min(img.width, int(round(box[2] * fx))), min(img.height, int(round(box[3] * fy)))
    if x1 <= x0 or y1 <= y0:
        return
    part = mask.resize((x1 - x0, y1 - y0), Image.Resampling.BILINEAR,
                       box=(x0 / fx, y0 / fy, x1 / fx, y1 / fy))
    img.paste(colour, (x0, y0, x1, y1), mask=part)


def _column(h: int, stops: list[tuple[float, RGB]]) -> np.ndarray:
    """(h, 3) colours interpolated between ``(position 0-1, colour)`` stops."""
    y = (np.arange(h) + 0.5) / h
    pos = [p for p, _ in stops]
    return np.stack([np.interp(y, pos, [c[i] for _, c in stops]) for i in range(3)], axis=1)


def _ellipse(draw: ImageDraw.ImageDraw, cx: float, cy: float, rx: float, ry: float, fill, scale: int = 1) -> None:
    draw.ellipse([(cx - rx) / scale, (cy - ry) / scale, (cx + rx) / scale, (cy + ry) / scale], fill=fill)


def _sky_objects(img: Image.Image, draw: ImageDraw.ImageDraw, w: int, hy: int, light: Lighting,
                 cam: Camera, rng: np.random.Generator, twilight: bool) -> None:
    """Stars, clouds, sun and moon above the horizon at ``hy``."""
    if light.stars:
        xs, ys = rng.integers(0, w, light.stars), rng.integers(0, max(1, int(hy * 0.92)), light.stars)
        bright = rng.uniform(0.25, 1.6, light.stars)
        for lo, hi in ((0.0, 0.6), (0.6, 1.1), (1.1, 9.0)):
            sel = (bright >= lo) & (bright < hi)
            level = 255.0 * (lo + min(hi, 1.6)) / 2
            draw.point(list(zip(xs[sel].tolist(), ys[sel].tolist(), strict=True)),
                       fill=cam((level * 0.9, level * 0.9, level)))
        for x, y in zip(xs[bright > 1.45].tolist(), ys[bright > 1.45].tolist(), strict=True):
            draw.rectangle([x, y, x + 1, y + 1], fill=cam((255, 255, 255)))
    if light.sun or light.moon:
        r = w * rng.uniform(0.018, 0.04)
        cx = rng.uniform(0.1, 0.9) * w
        cy = hy - rng.uniform(0.02, 0.12) * hy if twilight else rng.uniform(0.12, 0.7) * hy
        glow, gdraw, f = _mask(img.size)
        if light.sun:
            _ellipse(gdraw, cx, cy, r * 3.5, r * 3.5, 150 if twilight else 110, f)
            _paste_mask(img, cam((255, 200, 120) if twilight else (255, 245, 220)), glow, 3)
            _ellipse(draw, cx, cy, r, r, cam((1000, 760, 520) if twilight else (1200, 1180, 1100)))
        else:
            _ellipse(gdraw, cx, cy, r * 2.5, r * 2.5, 60, f)
            moon = (210, 215, 210)
            _paste_mask(img, cam(moon), glow, 2)
            _ellipse(draw, cx, cy, r, r, cam(moon))
            if rng.random() < 0.5:  # crescent: the dark side takes the sky's colour
                sky = img.getpixel((int(min(w - 1, cx + 2.2 * r)), int(cy)))
                _ellipse(draw, cx + r * rng.uniform(0.4, 0.9), cy - r * 0.15, r, r, sky)
    if light.cloud and rng.random() < 0.9:
        clouds, cdraw, f = _mask(img.size)
        for _ in range(int(rng.integers(3, 14))):
            cx, cy = rng.uniform(0, w), rng.uniform(0.05, 0.8) * hy
            _ellipse(cdraw, cx, cy, w * rng.uniform(0.05, 0.18), hy * rng.uniform(0.03, 0.1),
                     int(rng.integers(90, 230)), f)
        _paste_mask(img, cam(light.cloud), clouds, 2.5)


def _buildings(draw: ImageDraw.ImageDraw, w: int, h: int, hy: int, light: Lighting, cam: Camera,
               rng: np.random.Generator, far: bool) -> list[tuple[int, int, int, int]]:
    """A row of buildings standing on the horizon line; returns the lit windows' boxes."""
    lit_boxes = []
    x = -rng.uniform(0, 0.1) * w
    haze = 0.55 if far else 0.0
    sky_hor = light.sky_horizon
    glass_day = cam((60, 78, 100), light.ambient)
    lit_colour = cam((560, 420, 240))
    while x < w:
        bw = w * (rng.uniform(0.05, 0.12) if far else rng.uniform(0.1, 0.28))
        top = hy - h * (rng.uniform(0.04, 0.16) if far else rng.uniform(0.12, 0.45))
        base = hy + (0 if far else h * rng.uniform(0.04, 0.1))
        refl = _BUILDINGS[int(rng.integers(len(_BUILDINGS)))]
        colour = tuple(c * (1 - haze) + s * haze * 0.7 for c, s in
                       zip(np.asarray(refl) * np.asarray(light.ambient), sky_hor, strict=True))
        draw.rectangle([x, top, x + bw, base], fill=cam(colour))
        cols, rows = int(rng.integers(2, 7)), int(max(1, (base - top) / (bw / 4)))
        cell_w, cell_h = bw / (cols + 1), (base - top) / (rows + 1)
        for r in range(rows):
            for c in range(cols):
                wx, wy = x + cell_w * (c + 0.6), top + cell_h * (r + 0.6)
                box = (int(wx), int(wy), int(wx + cell_w * 0.55), int(wy + cell_h * 0.5))
                if rng.random() < light.window_lit:
                    draw.rectangle(box, fill=lit_colour)
                    lit_boxes.append(box)
                elif not far:
                    draw.rectangle(box, fill=glass_day if light.sun or light.ambient[0] > 0.3
                                   else cam((30, 34, 40), light.ambient))
        x += bw * rng.uniform(0.9, 1.15)
    return lit_boxes


def _country(draw: ImageDraw.ImageDraw, w: int, h: int, hy: int, light: Lighting, cam: Camera,
             rng: np.random.Generator) -> None:
    """Hills, trees and perhaps a house."""
    xs = np.linspace(0, w, 24)
    phase, freq = rng.uniform(0, 6.28, 3), rng.uniform(1, 5, 3)
    ridge = hy - h * 0.06 * sum(np.sin(freq[i] * xs / w * 6.28 + phase[i]) + 1 for i in range(3)) / 3
    hill = np.asarray(_GRASS[int(rng.integers(len(_GRASS)))]) * 0.6 * np.asarray(light.ambient)
    hill = tuple(c * 0.6 + s * 0.4 * 0.5 for c, s in zip(hill, light.sky_horizon, strict=True))
    draw.polygon([(0, h), *zip(xs.tolist(), ridge.tolist(), strict=True), (w, h)], fill=cam(hill))
    trunk, leaf = cam((70, 50, 35), light.ambient), cam((40, 80, 35), light.ambient)
    for _ in range(int(rng.integers(2, 12))):
        tx, size = rng.uniform(0, w), h * rng.uniform(0.05, 0.16)
        ty = hy + rng.uniform(0.0, 0.25) * (h - hy)
        draw.rectangle([tx - size * 0.06, ty - size * 0.5, tx + size * 0.06, ty], fill=trunk)
        _ellipse(draw, tx, ty - size * 0.8, size * 0.35, size * 0.45, leaf)
    if rng.random() < 0.5:
        hx, hs = rng.uniform(0.1, 0.8) * w, h * rng.uniform(0.08, 0.15)
        base = hy + h * 0.05
        draw.rectangle([hx, base - hs, hx + hs * 1.4, base], fill=cam((190, 170, 150), light.ambient))
        draw.polygon([(hx - hs * 0.1, base - hs), (hx + hs * 0.7, base - hs * 1.6), (hx + hs * 1.5, base - hs)],
                     fill=cam((120, 60, 50), light.ambient))
        lit = rng.random() < light.window_lit * 1.5
        win = cam((560, 420, 240)) if lit else cam((50, 60, 70), light.ambient)
        draw.rectangle([hx + hs * 0.2, base - hs * 0.7, hx + hs * 0.5, base - hs * 0.4], fill=win)


def _street(img: Image.Image, draw: ImageDraw.ImageDraw, w: int, h: int, hy: int, light: Lighting,
            cam: Camera, rng: np.random.Generator) -> None:
    """Road, cars and street lamps in the foreground."""
    road_top = int(hy + (h - hy) * rng.uniform(0.25, 0.5))
    draw.rectangle([0, road_top, w, h], fill=cam((78, 78, 80), light.ambient))
    for x in np.arange(rng.uniform(0, 0.1) * w, w, w * 0.12):
        draw.rectangle([x, (road_top + h) / 2, x + w * 0.05, (road_top + h) / 2 + h * 0.006],
                       fill=cam((220, 220, 200), light.ambient))
    glows, gdraw, f = _mask(img.size)
    lamp = _LAMP_COLOURS[int(rng.integers(len(_LAMP_COLOURS)))]
    for _ in range(int(rng.integers(0, 4))):  # cars
        cx, cy = rng.uniform(0, w), rng.uniform(road_top, h * 0.97)
        cw = w * rng.uniform(0.06, 0.12) * (0.6 + 0.4 * (cy - road_top) / max(1, h - road_top))
        body = tuple(int(v) for v in rng.integers(30, 220, 3))
        draw.rectangle([cx, cy - cw * 0.4, cx + cw, cy], fill=cam(body, light.ambient))
        if light.lamps_on:
            front = rng.random() < 0.5
            c = cam((900, 880, 820)) if front else cam((700, 40, 30))
            for lx in (cx + cw * 0.12, cx + cw * 0.88):
                _ellipse(draw, lx, cy - cw * 0.12, cw * 0.06, cw * 0.04, c)
                _ellipse(gdraw, lx, cy - cw * 0.12, cw * 0.2, cw * 0.12, 90, f)
    pole = cam((55, 58, 60), light.ambient)
    for x in rng.uniform(0, w, int(rng.integers(0, 6))):
        base = road_top - rng.uniform(0.0, 0.05) * h
        top = base - h * rng.uniform(0.18, 0.36)
        draw.line([(x, base), (x, top)], fill=pole, width=max(1, int(w * 0.005)))
        r = max(2.0, w * 0.008)
        if light.lamps_on:
            _ellipse(draw, x, top, r, r * 0.7, cam(tuple(c * 4 for c in lamp)))
            _ellipse(gdraw, x, top, r * 7, r * 7, 140, f)
            _ellipse(gdraw, x, base + h * 0.03, r * 9, r * 2.5, 70, f)
        else:
            _ellipse(draw, x, top, r, r * 0.7, cam((140, 140, 135), light.ambient))
    if light.lamps_on:
        _paste_mask(img, cam(lamp), glows, 2.5)


def outdoor(w: int, h: int, scene: Scene, light: Lighting, cam: Camera, rng: np.random.Generator,
            setting: str | None = None) -> Image.Image:
    """An outdoor picture of ``w`` x ``h`` pixels: sky, horizon, city street or countryside."""
    setting = setting or scene.setting
    hy = int(h * rng.uniform(0.42, 0.68))
    ground = _GRASS[int(rng.integers(len(_GRASS)))] if setting == "country" else (100, 98, 94)
    g_near = tuple(c * a for c, a in zip(ground, light.ambient, strict=True))
    g_far = tuple(0.5 * c + 0.3 * s for c, s in zip(g_near, light.sky_horizon, strict=True))
    stops = [(0.0, cam(light.sky_top)), (hy / h, cam(light.sky_horizon)), (hy / h + 1e-6, cam(g_far)),
             (1.0, cam(g_near))]
    col = _column(h, stops).astype(np.uint8)
    img = Image.fromarray(np.ascontiguousarray(col[:, None, :])).resize((w, h), Image.Resampling.NEAREST)
    draw = ImageDraw.Draw(img)
    _sky_objects(img, draw, w, hy, light, cam, rng, scene.twilight)
    photo_rng = np.random.default_rng([scene.seed, 7])  # the photo-like extras draw apart from the layout
    if setting == "country":
        _country(draw, w, h, hy, light, cam, rng)
        if photo_rng.random() < 0.4:
            photo.landmark(img, draw, hy, scene, light, cam, photo_rng)
        if photo_rng.random() < 0.4:
            img = photo.water(img, hy, photo_rng, float(photo_rng.uniform(0.55, 0.85)))
            draw = ImageDraw.Draw(img)
    else:
        _buildings(draw, w, h, hy, light, cam, rng, far=True)
        if photo_rng.random() < 0.3:
            photo.landmark(img, draw, hy, scene, light, cam, photo_rng)
        _buildings(draw, w, h, hy, light, cam, rng, far=False)
        _street(img, draw, w, h, hy, light, cam, rng)
    if scene.weather == "fog":
        strength = rng.uniform(0.45, 0.8) * 255
        profile = np.exp(-np.abs(np.arange(h) - hy) / (h * rng.uniform(0.25, 0.6))) * strength
        fog = Image.fromarray(np.ascontiguousarray(profile.astype(np.uint8)[:, None]), "L").resize(
            (w, h), Image.Resampling.NEAREST)
        img.paste(cam(light.fog), mask=fog)
    if scene.weather == "rain":
        streaks = Image.new("L", img.size, 0)
        sdraw = ImageDraw.Draw(streaks)
        slant, length = rng.uniform(-0.3, 0.3), h * rng.uniform(0.02, 0.05)
        for x, y in zip(rng.uniform(0, w, 600).tolist(), rng.uniform(0, h, 600).tolist(), strict=True):
            sdraw.line([(x, y), (x + slant * length, y + length)], fill=int(rng.integers(40, 110)))
        img.paste(cam((190, 195, 205), tuple(a + 0.08 for a in light.ambient)), mask=streaks)
    return photo.texture(img, hy, photo_rng, float(photo_rng.uniform(0.08, 0.3)))


def finish(img: Image.Image, scene: Scene, rng: np.random.Generator) -> Image.Image:
    """Burst-shot crop, vignetting and sensor noise."""
    w, h = img.size
    if scene.zoom < 1.0 or scene.shift != (0.0, 0.0):
        cw, ch = w * scene.zoom, h * scene.zoom
        x0 = min(max(0.0, (w - cw) / 2 + scene.shift[0] * w), w - cw)
        y0 = min(max(0.0, (h - ch) / 2 + scene.shift[1] * h), h - ch)
        img = img.resize((w, h), Image.Resampling.BILINEAR, box=(x0, y0, x0 + cw, y0 + ch))
    if rng.random() < 0.5:
        yy, xx = np.mgrid[-1:1:24j, -1:1:32j]
        v = (255 * (1 - rng.uniform(0.15, 0.4) * (xx**2 + yy**2) / 2)).astype(np.uint8)
        img = ImageChops.multiply(img, Image.fromarray(v, "L").resize((w, h), Image.Resampling.BILINEAR)
                                  .convert("RGB"))
    img = photo.camera_shake(img, scene, rng)
    tile = _grain_tile()
    x0, y0 = int(rng.integers(0, tile.width - w // 2)), int(rng.integers(0, tile.height - h // 2))
    scale = scene.noise / _GRAIN_SIGMA
    lut = np.clip(np.round(128 + (np.arange(256) - 128) * scale), 0, 255).astype(int).tolist()
    grain = tile.crop((x0, y0, x0 + w // 2 + 1, y0 + h // 2 + 1)).point(lut)
    grain = grain.resize((w, h), Image.Resampling.NEAREST, box=(0, 0, w / 2, h / 2))
    return ImageChops.add(img, grain.convert("RGB"), scale=1.0, offset=-128)


_GRAIN_SIGMA = 16.0


@functools.cache
def _grain_tile() -> Image.Image:
    """Sensor grain to crop from (fixed seed: the crop offset is what varies), half resolution."""
    noise = np.random.default_rng(12345).normal(128.0, _GRAIN_SIGMA, (1100, 1100))
    return Image.fromarray(noise.clip(0, 255).astype(np.uint8), "L")


def render(scene: Scene) -> Image.Image:
    """The scene as an RGB image of ``scene.width`` x ``scene.height``."""
    from tasks.day_night.indoor import indoor

    rng = np.random.default_rng(scene.seed)
    light = lighting(scene, rng)
    cam = Camera(scene.exposure, scene.white_balance)
    if scene.setting == "indoor":
        img = indoor(scene, light, rng)
    else:
        img = outdoor(scene.width, scene.height, scene, light, cam, rng)
    jitter = np.random.default_rng([scene.seed, int(scene.zoom * 1e6), int(scene.exposure * 1e6)])
    return finish(img, scene, jitter)
