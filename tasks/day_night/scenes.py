"""What a generated day or night scene looks like, before any pixel is drawn.

No labelled day/night photo set installs offline, so the demo data is drawn. A
:class:`Scene` fixes the label, the setting (city street, countryside, a room with a
window), the weather, dusk/dawn ambiguity and the camera; :func:`lighting` turns that into
the colours the renderer uses. The hard cases the lecture mentions are built in: rooms
seen from inside with a window, long night exposures that look bright, golden-hour days
and blue-hour nights, fog and overcast skies that hide the sun and the stars.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

LABELS = ("day", "night")
SETTINGS = ("city", "country", "indoor")
WEATHERS = ("clear", "cloudy", "overcast", "fog", "rain")
_WEATHER_P = (0.35, 0.25, 0.15, 0.12, 0.13)
_SETTING_P = (0.45, 0.3, 0.25)

RGB = tuple[float, float, float]


@dataclass(frozen=True)
class Scene:
    """Everything random about one picture; the same scene always draws the same pixels."""

    label: str  # "day" or "night"
    setting: str  # city | country | indoor
    weather: str  # clear | cloudy | overcast | fog | rain
    twilight: bool  # day: golden hour, sun low; night: blue hour, sky not yet black
    width: int  # pixels
    height: int
    exposure: float  # camera gain (night photos are exposed longer, so they are brighter)
    white_balance: RGB  # per-channel camera gains
    noise: float  # sensor noise, standard deviation in 8-bit levels
    seed: int  # drives the layout: where the buildings, lamps, stars and clouds are
    shift: tuple[float, float] = (0.0, 0.0)  # burst-shot jitter: crop offset, share of the size
    zoom: float = 1.0  # burst-shot jitter: crop scale (<= 1)


@dataclass(frozen=True)
class Lighting:
    """Colours of one scene in scene light (0-255 before the camera)."""

    sky_top: RGB
    sky_horizon: RGB
    ambient: RGB  # light falling on surfaces (multiplies their reflectance, 0-1 each)
    lamps_on: bool
    window_lit: float  # share of windows lit from inside
    stars: int
    sun: bool
    moon: bool
    cloud: RGB
    fog: RGB


def sample_scene(rng: np.random.Generator, label: str, sizes: list[tuple[int, int]],
                 portrait_share: float = 0.15) -> Scene:
    """Draw a scene of class ``label`` (day or night)."""
    if label not in LABELS:
        raise ValueError(f"label must be one of {LABELS}, got {label!r}")
    night = label == "night"
    setting = SETTINGS[rng.choice(len(SETTINGS), p=_SETTING_P)]
    weather = WEATHERS[rng.choice(len(WEATHERS), p=_WEATHER_P)]
    # Blue-hour nights are rare: a deep blue sky is what most daylight photographs show.
    twilight = bool(rng.random() < (0.08 if night else 0.22))
    w, h = sizes[int(rng.integers(len(sizes)))]
    if rng.random() < portrait_share:
        w, h = h, w
    if night:  # auto-exposure lifts dark scenes: night photos are often not dark at all
        exposure = float(math.exp(rng.uniform(math.log(1.4), math.log(4.5))))
        noise = float(rng.uniform(2.5, 10.0))
    else:  # overlapping noise ranges: grain alone must not tell night (photos of days are detailed too)
        exposure = float(math.exp(rng.uniform(math.log(0.65), math.log(1.35))))
        noise = float(rng.uniform(1.0, 7.0))
    wb = tuple(float(g) for g in rng.uniform(0.88, 1.12, 3))
    return Scene(label, setting, weather, twilight, int(w), int(h), exposure, wb, noise,
                 int(rng.integers(2**31)))


def burst_of(scene: Scene, rng: np.random.Generator) -> Scene:
    """Another shot of the same scene a moment later: slightly moved, zoomed and exposed.

    These are the near duplicates that must never be split between train and test.
    """
    return replace(scene, shift=(float(rng.uniform(-0.01, 0.01)), float(rng.uniform(-0.01, 0.01))),
                   zoom=float(rng.uniform(0.975, 1.0)), exposure=scene.exposure * float(rng.uniform(0.9, 1.1)),
                   noise=scene.noise * float(rng.uniform(0.8, 1.2)))


def _mix(a: RGB, b: RGB, t: float) -> RGB:
    return tuple(x + (y - x) * t for x, y in zip(a, b, strict=True))  # type: ignore[return-value]


def lighting(scene: Scene, rng: np.random.Generator) -> Lighting:
    """The scene's light: sky colours, ambient light, which light sources are on."""
    clear = scene.weather in ("clear", "cloudy")
    if scene.label == "day":
        if scene.twilight:  # golden hour
            top, hor = (85, 120, 195), (255, 165, 85)
            ambient = (0.62, 0.5, 0.38)
        else:
            top, hor = (65, 125, 235), (175, 205, 242)
            ambient = (0.95, 0.95, 0.95)
        if not clear:
            k = {"overcast": 0.85, "fog": 0.95, "rain": 0.65}[scene.weather]
            grey = (178 * k, 182 * k, 190 * k)
            top, hor = _mix(top, grey, 0.85), _mix(hor, (200 * k, 200 * k, 204 * k), 0.85)
            ambient = tuple(a * (0.55 + 0.3 * k) for a in ambient)
        return Lighting(top, hor, ambient, lamps_on=bool(rng.random() < 0.08),
                        window_lit=float(rng.uniform(0.0, 0.08)), stars=0,
                        sun=clear and rng.random() < 0.6, moon=clear and rng.random() < 0.06,
                        cloud=(235, 235, 240) if not scene.twilight else (250, 200, 170),
                        fog=_mix(hor, (215, 215, 218), 0.6))
    city = scene.setting != "country"
    if scene.twilight:  # blue hour
        top, hor = (18, 32, 88), (110, 80, 95) if rng.random() < 0.5 else (60, 70, 120)
        ambient = (0.12, 0.14, 0.22)
    else:
        top, hor = (3, 5, 16), (12, 18, 42)
        ambient = (0.04, 0.045, 0.07)
    if city:  # sodium light pollution near the horizon
        hor = _mix(hor, (75, 50, 32), 0.6)
    if not clear:
        glow = (60, 42, 30) if city else (20, 20, 24)
        top, hor = _mix(top, (14, 13, 16), 0.7), _mix(hor, glow, 0.75)
    n_stars = 0
    if clear and not scene.twilight:
        n_stars = int(rng.integers(40, 160) if city else rng.integers(150, 500))
    return Lighting(top, hor, ambient, lamps_on=True, window_lit=float(rng.uniform(0.2, 0.7)),
                    stars=n_stars, sun=False, moon=clear and rng.random() < 0.45,
                    cloud=(40, 38, 44) if city else (22, 22, 28), fog=_mix(hor, (45, 40, 38), 0.5))


class Camera:
    """Scene light -> 8-bit colour: exposure, white balance and a soft highlight roll-off."""

    _A = 1.4  # roll-off strength

    def __init__(self, exposure: float, white_balance: RGB):
        self.gain = np.asarray(white_balance, dtype=np.float64) * exposure
        self._norm = 1.0 - math.exp(-self._A)

    def curve(self, x: np.ndarray) -> np.ndarray:
        """0-1 scene values (after gain) to 0-1 output values; saturates gently above 1."""
        return np.clip((1.0 - np.exp(-self._A * x)) / self._norm, 0.0, 1.0)

    def __call__(self, rgb: RGB, light: RGB | None = None) -> tuple[int, int, int]:
        """Colour of a surface of reflectance ``rgb`` (0-255) under ``light``, or of a light source."""
        x = np.asarray(rgb, dtype=np.float64) / 255.0
        if light is not None:
            x = x * np.asarray(light)
        y = self.curve(x * self.gain) * 255.0
        return tuple(int(round(v)) for v in y)  # type: ignore[return-value]

    def luts(self) -> list[int]:
        """Per-channel 256-entry lookup table (``Image.point``) applying the camera to a light image."""
        out: list[int] = []
        levels = np.arange(256) / 255.0
        for g in self.gain:
            out += [int(round(v)) for v in self.curve(levels * g) * 255.0]
        return out
