"""The built-in content and style images, so the default pipeline needs no downloads.

Content: the two photographs that ship inside scikit-learn (``sklearn.datasets.load_sample_image``:
"china.jpg", a temple, and "flower.jpg"; both CC BY 2.0), resized.
Style: textures drawn here from a seed — ``swirls`` (short brush strokes following a field
of vortices, a night-sky palette), ``stained_glass`` (Voronoi cells in jewel colours with
dark lead lines) and ``mosaic`` (jittered square tiles with grout). Style is what a Gram
matrix keeps — colours, strokes, edges and their scales, not their places — so a texture
is a fair style source.

They are made in memory when a run names them (``builtin:china``, ``builtin:swirls``);
``python -m tasks.art.builtin FOLDER`` writes them all out to look at.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

CONTENT_PHOTOS = {"china": "china.jpg", "flower": "flower.jpg"}  # name -> file in sklearn
CONTENT_SIDE = 512  # long side of the shipped content photos, px
STYLE_SIDE = 512  # side of the drawn style textures, px


def _rng(name: str, seed: int) -> np.random.Generator:
    return np.random.default_rng([seed, *name.encode()])


def swirls(side: int, rng: np.random.Generator) -> Image.Image:
    """Brush strokes along a field of vortices (night blues, with yellow and white swirls)."""
    scale = 2  # draw at twice the size, then downsample: smooth stroke edges
    big = side * scale
    img = Image.new("RGB", (big, big), (18, 32, 74))
    draw = ImageDraw.Draw(img)
    centres = rng.uniform(0.1, 0.9, size=(5, 2)) * big
    spins = rng.choice([-1.0, 1.0], size=5) * rng.uniform(0.6, 1.4, size=5)
    palette = np.array([(25, 52, 120), (40, 90, 160), (70, 130, 190), (20, 40, 90),
                        (230, 200, 60), (245, 230, 140), (250, 250, 230), (110, 160, 210)])
    # Yellow/white strokes gather near the vortex centres, blues elsewhere.
    for _ in range(int(2.2 * (big / 32) ** 2)):
        x, y = rng.uniform(0, big, size=2)
        near = np.min(np.hypot(centres[:, 0] - x, centres[:, 1] - y)) / big
        warm = rng.random() < max(0.05, 0.7 - 3.0 * near)
        colour = palette[rng.integers(4, 7) if warm else rng.choice([0, 1, 2, 3, 7])]
        colour = tuple(int(c) for c in np.clip(colour + rng.normal(0, 12, 3), 0, 255))
        points = [(x, y)]
        for _ in range(int(rng.integers(4, 9))):
            dx = dy = 0.0
            for (cx, cy), s in zip(centres, spins, strict=True):
                rx, ry = x - cx, y - cy
                r2 = rx * rx + ry * ry + (0.05 * big) ** 2
                dx, dy = dx - s * ry / r2, dy + s * rx / r2
            norm = math.hypot(dx, dy) or 1.0
            x, y = x + 5 * scale * dx / norm, y + 5 * scale * dy / norm
            points.append((x, y))
        draw.line(points, fill=colour, width=int(rng.integers(2, 4)) * scale, joint="curve")
    return img.resize((side, side), Image.Resampling.LANCZOS)


def stained_glass(side: int, rng: np.random.Generator) -> Image.Image:
    """Voronoi cells in jewel colours, shaded towards their edges, with dark lead lines."""
    n = max(8, int(130 * (side / 512) ** 2))
    seeds = rng.uniform(0, side, size=(n, 2))
    palette = np.array([(170, 20, 40), (30, 60, 170), (20, 130, 70), (230, 170, 30),
                        (120, 30, 140), (220, 90, 20), (40, 150, 170), (240, 220, 170)], float)
    colours = palette[rng.integers(0, len(palette), n)] + rng.normal(0, 15, (n, 3))
    yy, xx = np.mgrid[0:side, 0:side].astype(np.float32)
    best = np.full((side, side), np.inf, np.float32)
    second = np.full((side, side), np.inf, np.float32)
    label = np.zeros((side, side), np.int32)
    for i, (sx, sy) in enumerate(seeds):
        d = np.hypot(xx - sx, yy - sy)
        closer = d < best
        second = np.where(closer, best, np.minimum(second, d))
        label = np.where(closer, i, label)
        best = np.where(closer, d, best)
    edge = second - best  # distance to the nearest cell border (x2)
    shade = 0.75 + 0.25 * np.clip(edge / 25.0, 0, 1)
    rgb = colours[label] * shade[..., None] + rng.normal(0, 6, (side, side, 3))
    lead = np.clip((edge - 2.0) / 1.5, 0, 1)[..., None]
    rgb = rgb * lead + np.array([25, 20, 18]) * (1 - lead)
    return Image.fromarray(np.clip(rgb, 0, 255).astype(np.uint8)).filter(ImageFilter.SMOOTH)


def mosaic(side: int, rng: np.random.Generator) -> Image.Image:
    """Small square tiles, slightly turned and jittered, in warm earth colours, on grey grout."""
    img = Image.new("RGB", (side, side), (200, 195, 185))
    draw = ImageDraw.Draw(img)
    tile = max(6, side // 32)
    palette = np.array([(180, 80, 40), (210, 150, 60), (120, 60, 40), (230, 210, 170),
                        (60, 90, 110), (150, 40, 30), (90, 110, 60)], float)
    # Colour regions: a coarse random grid, so tiles form patches as in a real mosaic.
    coarse = rng.integers(0, len(palette), size=(6, 6))
    for gy in range(-1, side // tile + 1):
        for gx in range(-1, side // tile + 1):
            cx = (gx + 0.5) * tile + rng.normal(0, tile * 0.08)
            cy = (gy + 0.5) * tile + rng.normal(0, tile * 0.08)
            base = palette[coarse[min(5, max(0, int(cy / side * 6))), min(5, max(0, int(cx / side * 6)))]]
            colour = tuple(int(c) for c in np.clip(base + rng.normal(0, 14, 3), 0, 255))
            angle = rng.normal(0, 0.15)
            h = tile * 0.42
            corners = [(cx + h * (math.cos(angle) * sx - math.sin(angle) * sy),
                        cy + h * (math.sin(angle) * sx + math.cos(angle) * sy))
                       for sx, sy in ((-1, -1), (1, -1), (1, 1), (-1, 1))]
            draw.polygon(corners, fill=colour)
    return img


STYLES: dict[str, Callable[[int, np.random.Generator], Image.Image]] = {
    "swirls": swirls, "stained_glass": stained_glass, "mosaic": mosaic,
}


def content_photo(name: str, side: int = CONTENT_SIDE) -> Image.Image:
    """One of scikit-learn's sample photographs, its long side resized to ``side`` px."""
    from sklearn.datasets import load_sample_image

    img = Image.fromarray(load_sample_image(CONTENT_PHOTOS[name]))
    scale = side / max(img.size)
    return img.resize((round(img.width * scale), round(img.height * scale)), Image.Resampling.LANCZOS)


def style_texture(name: str, side: int = STYLE_SIDE, seed: int = 0) -> Image.Image:
    """A drawn style texture (``side`` x ``side`` px), the same pixels for the same seed."""
    return STYLES[name](side, _rng(name, seed))


def builtin_names() -> list[str]:
    return [*CONTENT_PHOTOS, *STYLES]


def builtin_image(name: str, side: int) -> Image.Image:
    """A built-in image by name (content photo or style texture), its long side ``side`` px."""
    if name in CONTENT_PHOTOS:
        return content_photo(name, side)
    if name in STYLES:
        img = style_texture(name)  # always drawn at STYLE_SIDE: the texture's scale stays put
        return img if side == STYLE_SIDE else img.resize((side, side), Image.Resampling.LANCZOS)
    raise KeyError(name)


def write_builtin(folder: Path) -> list[Path]:
    """Write every built-in image under ``folder`` (``content/*.jpg``, ``style/*.jpg``)."""
    written = []
    for name in CONTENT_PHOTOS:
        path = folder / "content" / f"{name}.jpg"
        path.parent.mkdir(parents=True, exist_ok=True)
        content_photo(name).save(path, quality=92, optimize=True)
        written.append(path)
    for name in STYLES:
        path = folder / "style" / f"{name}.jpg"
        path.parent.mkdir(parents=True, exist_ok=True)
        style_texture(name).save(path, quality=90, optimize=True)
        written.append(path)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tasks.art.builtin", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("folder", type=Path)
    args = parser.parse_args(argv)
    for path in write_builtin(args.folder):
        print(path)  # noqa: T201 - command-line output
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
