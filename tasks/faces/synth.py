"""Procedurally drawn synthetic identities: the built-in demo set of the faces pipeline.

No installable package ships photographs of many people with several photos each, so the
demo draws its own. Each *person* is a fixed set of facial traits (face shape, skin tone,
hair style and colour, eye spacing and size, brows, nose, mouth, ears, beard, glasses, a
mole); each *photo* of that person varies what a camera varies: pose (in-plane roll, yaw,
pitch), scale and position, lighting direction and strength, exposure and colour cast,
background, expression, small occlusions, blur, noise and JPEG quality. The shading
follows what a frontal-face detector keys on (dark eye sockets and brows above lighter
cheeks and a lighter nose bridge), so OpenCV's Haar cascade finds these faces.

Everything is drawn from ``numpy.random.default_rng([seed, ...])``: the same seed gives
the same pixels.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from tasks.faces.drawing import CANVAS, GLASSES, draw_face

_SKIN = np.array([[233, 196, 170], [224, 172, 140], [198, 145, 110], [170, 118, 84],
                  [141, 94, 64], [110, 72, 50], [242, 210, 190]], np.float32)  # RGB
_HAIR = np.array([[25, 20, 18], [60, 40, 25], [110, 75, 40], [165, 120, 60], [210, 180, 120],
                  [120, 40, 20], [140, 140, 140], [230, 230, 225]], np.float32)
_IRIS = np.array([[60, 40, 25], [90, 120, 160], [80, 110, 60], [40, 30, 25], [120, 100, 60]], np.float32)


@dataclass(frozen=True)
class Person:
    """The fixed traits of one synthetic identity (canonical units: face half-width = 1)."""

    skin: tuple[float, float, float]
    hair: tuple[float, float, float]
    iris: tuple[float, float, float]
    aspect: float  # face half-height / half-width
    jaw: float  # 0 = round chin, 1 = pointed
    hair_style: int  # 0 bald, 1 short, 2 fringe, 3 long, 4 side part, 5 tall
    eye_dx: float  # half the distance between the eyes
    eye_y: float  # eye line, below the face centre (negative = above)
    eye_w: float
    eye_h: float
    brow_gap: float
    brow_thick: float
    brow_tilt: float
    nose_len: float
    nose_w: float
    mouth_y: float
    mouth_w: float
    lip: float  # lip thickness
    ear: float
    beard: int  # 0 none, 1 moustache, 2 full beard, 3 goatee
    glasses: int  # -1 none, else colour index
    mole: tuple[float, float] | None  # position on the face, or None


def make_person(seed: int, index: int) -> Person:
    """Traits of person ``index`` (independent of how many people are drawn)."""
    r = np.random.default_rng([seed, 7001, index])
    skin = _SKIN[r.integers(len(_SKIN))] * r.uniform(0.92, 1.08, 3)
    hair = _HAIR[r.integers(len(_HAIR))] * r.uniform(0.85, 1.15, 3)
    return Person(
        skin=tuple(np.clip(skin, 0, 255).round(1).tolist()),
        hair=tuple(np.clip(hair, 0, 255).round(1).tolist()),
        iris=tuple(_IRIS[r.integers(len(_IRIS))].tolist()),
        aspect=float(r.uniform(1.15, 1.5)),
        jaw=float(r.uniform(0, 1)),
        hair_style=int(r.integers(6)),
        eye_dx=float(r.uniform(0.33, 0.48)),
        eye_y=float(r.uniform(-0.22, -0.05)),
        eye_w=float(r.uniform(0.17, 0.25)),
        eye_h=float(r.uniform(0.06, 0.1)),
        brow_gap=float(r.uniform(0.12, 0.22)),
        brow_thick=float(r.uniform(0.06, 0.11)),
        brow_tilt=float(r.uniform(-0.25, 0.25)),
        nose_len=float(r.uniform(0.25, 0.42)),
        nose_w=float(r.uniform(0.1, 0.2)),
        mouth_y=float(r.uniform(0.5, 0.7)),
        mouth_w=float(r.uniform(0.22, 0.38)),
        lip=float(r.uniform(0.03, 0.07)),
        ear=float(r.uniform(0.14, 0.26)),
        beard=int(r.choice(4, p=[0.6, 0.15, 0.15, 0.1])),
        glasses=int(r.integers(len(GLASSES))) if r.uniform() < 0.25 else -1,
        mole=(float(r.uniform(-0.6, 0.6)), float(r.uniform(-0.1, 0.7))) if r.uniform() < 0.4 else None,
    )


@dataclass(frozen=True)
class Shot:
    """What varies from photo to photo of the same person."""

    size: float  # face height in the photo, as a share of the photo's side
    cx: float  # face centre, as shares of the photo's width and height
    cy: float
    roll: float  # in-plane rotation, degrees
    yaw: float  # -1..1: inner features shift sideways as the head turns
    pitch: float  # -1..1: inner features shift up or down
    light_angle: float  # direction of the side light, radians
    light: float  # strength of the side light (0 = flat)
    exposure: float
    cast: tuple[float, float, float]  # per-channel gain (white balance)
    smile: float
    eye_open: float
    occlusion: int  # 0 none, 1 hand/object patch, 2 hat brim, 3 scarf over the chin
    blur: float
    noise: float
    quality: int  # JPEG quality


def make_shot(rng: np.random.Generator, size: tuple[float, float] = (0.42, 0.62)) -> Shot:
    """Draw one photo's conditions."""
    s = float(rng.uniform(*size))
    margin = s * 0.45
    return Shot(
        size=s,
        cx=float(rng.uniform(0.5 - max(0.0, 0.5 - margin) * 0.6, 0.5 + max(0.0, 0.5 - margin) * 0.6)),
        cy=float(rng.uniform(0.5 - max(0.0, 0.5 - margin) * 0.5, 0.5 + max(0.0, 0.5 - margin) * 0.5)),
        roll=float(rng.normal(0, 6)),
        yaw=float(rng.uniform(-0.6, 0.6)),
        pitch=float(rng.uniform(-0.5, 0.5)),
        light_angle=float(rng.uniform(0, 2 * np.pi)),
        light=float(rng.uniform(0.0, 0.55)),
        exposure=float(rng.uniform(0.65, 1.25)),
        cast=tuple(rng.uniform(0.8, 1.2, 3).round(3).tolist()),
        smile=float(rng.uniform(0, 1)),
        eye_open=float(rng.uniform(0.6, 1.0)),
        occlusion=int(rng.choice(4, p=[0.7, 0.12, 0.1, 0.08])),
        blur=float(rng.uniform(0, 1.2)),
        noise=float(rng.uniform(0, 8)),
        quality=int(rng.integers(70, 96)),
    )


def draw_background(rng: np.random.Generator, size: int) -> np.ndarray:
    """A random scene behind the face: a colour gradient, blobs and stripes, then blur."""
    c0, c1 = rng.uniform(20, 235, 3), rng.uniform(20, 235, 3)
    t = np.linspace(0, 1, size, dtype=np.float32)
    angle = rng.uniform(0, 2 * np.pi)
    ramp = np.clip(0.5 + 0.5 * (np.cos(angle) * (t[None, :] - 0.5) + np.sin(angle) * (t[:, None] - 0.5)) * 2, 0, 1)
    img = (c0[None, None, :] * (1 - ramp[..., None]) + c1[None, None, :] * ramp[..., None]).astype(np.float32)
    for _ in range(int(rng.integers(0, 6))):
        color = tuple(float(c) for c in rng.uniform(0, 255, 3))
        if rng.uniform() < 0.5:
            cv2.rectangle(img, (int(rng.integers(0, size)), int(rng.integers(0, size))),
                          (int(rng.integers(0, size)), int(rng.integers(0, size))), color, -1)
        else:
            cv2.circle(img, (int(rng.integers(0, size)), int(rng.integers(0, size))),
                       int(rng.integers(size // 10, size // 3)), color, -1, cv2.LINE_AA)
    return cv2.GaussianBlur(img, (0, 0), float(rng.uniform(1.0, 6.0)))


def _occlude(img: np.ndarray, shot: Shot, rng: np.random.Generator, box: tuple[float, float, float]) -> None:
    """Small occlusions drawn over the face (never over both eyes)."""
    cx, cy, h = box
    color = tuple(float(c) for c in rng.uniform(10, 245, 3))
    if shot.occlusion == 1:  # a hand or an object at the side of the face or the chin
        side = rng.choice([-1, 1])
        x, y = cx + side * h * rng.uniform(0.3, 0.45), cy + h * rng.uniform(0.05, 0.45)
        cv2.ellipse(img, (int(x), int(y)), (int(h * 0.14), int(h * 0.2)), float(rng.uniform(0, 180)), 0, 360,
                    color, -1, cv2.LINE_AA)
    elif shot.occlusion == 2:  # a hat brim over the forehead
        y = cy - h * rng.uniform(0.42, 0.5)
        cv2.rectangle(img, (int(cx - h * 0.55), int(y - h * 0.25)), (int(cx + h * 0.55), int(y)), color, -1)
    elif shot.occlusion == 3:  # a scarf over the chin
        y = cy + h * rng.uniform(0.42, 0.5)
        cv2.rectangle(img, (int(cx - h * 0.5), int(y)), (int(cx + h * 0.5), int(y + h * 0.3)), color, -1)


def place(canvas: np.ndarray, layer: np.ndarray, alpha: np.ndarray, shot: Shot) -> tuple[float, float, float]:
    """Composite a face layer onto ``canvas`` (in place) with the shot's roll, size and position.

    Returns the face's (centre x, centre y, height) in the photo's pixels.
    """
    size = canvas.shape[0]
    face_px = shot.size * size
    scale = face_px / (CANVAS * 0.24 * 2 * 1.35)  # canonical face ~2.7 units tall incl. hair
    cx, cy = shot.cx * size, shot.cy * size
    m = cv2.getRotationMatrix2D((CANVAS / 2, CANVAS / 2), shot.roll, scale)
    m[:, 2] += (cx - CANVAS / 2, cy - CANVAS / 2)
    warped = cv2.warpAffine(layer, m, (size, size), flags=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
    a = cv2.warpAffine(alpha, m, (size, size), flags=cv2.INTER_LINEAR)[..., None]
    canvas *= 1 - a
    canvas += a * warped
    return cx, cy, face_px


def finish(img: np.ndarray, shot: Shot, rng: np.random.Generator) -> np.ndarray:
    """Exposure, colour cast, blur and sensor noise; returns uint8 RGB."""
    img = img * shot.exposure * np.array(shot.cast, np.float32)
    if shot.blur > 0.3:
        img = cv2.GaussianBlur(img, (0, 0), shot.blur)
    img = img + rng.normal(0, shot.noise, img.shape).astype(np.float32)
    return np.clip(img, 0, 255).round().astype(np.uint8)


def render_photo(person: Person, shot: Shot, size: int, rng: np.random.Generator) -> np.ndarray:
    """One photo of ``person`` (uint8 RGB, ``size`` x ``size``)."""
    img = draw_background(rng, size)
    layer, alpha = draw_face(person, shot)
    box = place(img, layer, alpha, shot)
    _occlude(img, shot, rng, box)
    return finish(img, shot, rng)


def render_group_photo(person: Person, other: Person, size: int, rng: np.random.Generator) -> np.ndarray:
    """A photo of ``person`` with a smaller bystander ``other`` beside them (two faces)."""
    img = draw_background(rng, size)
    left = rng.uniform() < 0.5
    main = make_shot(rng, (0.42, 0.5))
    side = make_shot(rng, (0.3, 0.34))
    main = Shot(**{**main.__dict__, "cx": 0.32 if left else 0.68, "cy": 0.5, "roll": main.roll * 0.5,
                   "occlusion": 0})
    side = Shot(**{**side.__dict__, "cx": 0.78 if left else 0.22, "cy": 0.45, "roll": side.roll * 0.5,
                   "occlusion": 0})
    for who, shot in ((other, side), (person, main)):
        layer, alpha = draw_face(who, shot)
        place(img, layer, alpha, shot)
    return finish(img, main, rng)


def render_no_face(size: int, rng: np.random.Generator, person: Person) -> np.ndarray:
    """A photo with no face in it: the scene alone, or the back of the person's head."""
    img = draw_background(rng, size)
    if rng.uniform() < 0.5:
        c = (int(size * rng.uniform(0.35, 0.65)), int(size * rng.uniform(0.4, 0.6)))
        r = int(size * rng.uniform(0.18, 0.26))
        cv2.ellipse(img, c, (r, int(r * 1.25)), 0, 0, 360, tuple(float(v) for v in person.hair), -1, cv2.LINE_AA)
    shot = make_shot(rng)
    return finish(img, shot, rng)
