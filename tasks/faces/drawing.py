"""Drawing one synthetic face on a canonical layer (see :mod:`tasks.faces.synth` for the why).

The shading follows what a frontal-face detector keys on: dark eye sockets and brows above
lighter cheeks and a lighter nose bridge, so OpenCV's Haar cascade finds these faces.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import cv2
import numpy as np

if TYPE_CHECKING:
    from tasks.faces.synth import Person, Shot

HIGHLIGHT_GAIN = 0.25
HIGHLIGHT_ADD = 60.0
CANVAS = 256  # side of the canonical face layer, pixels; the face is ~150 px tall in it
GLASSES = np.array([[20, 20, 20], [120, 30, 30], [30, 50, 120], [150, 120, 60]], np.float32)


def _pt(x: float, y: float, cx: float, cy: float, unit: float) -> tuple[int, int]:
    """Canonical coordinates -> fixed-point pixel coordinates (shift 4) on the layer."""
    return (int(round((cx + x * unit) * 16)), int(round((cy + y * unit) * 16)))


def _ellipse(img: np.ndarray, c: tuple[float, float], axes: tuple[float, float], color, angle: float = 0.0,
             unit: float = 1.0, origin: tuple[float, float] = (0.0, 0.0), start: float = 0, end: float = 360,
             thickness: int = -1) -> None:
    center = _pt(c[0], c[1], origin[0], origin[1], unit)
    ax = (max(1, int(round(axes[0] * unit * 16))), max(1, int(round(axes[1] * unit * 16))))
    cv2.ellipse(img, center, ax, angle, start, end, _color(color), thickness, cv2.LINE_AA, 4)


def _color(c) -> float | tuple[float, ...]:
    """OpenCV wants plain Python numbers for colours."""
    return float(c) if np.isscalar(c) else tuple(float(v) for v in c)


def _shadow(layer: np.ndarray, mask: np.ndarray, amount: float, sigma: float) -> np.ndarray:
    """Darken ``layer`` where ``mask`` (0-1, drawn sharp) is, softened by a Gaussian blur."""
    soft = cv2.GaussianBlur(mask, (0, 0), sigma)
    return layer * (1.0 - amount * soft[..., None])


def draw_face(p: Person, shot: Shot) -> tuple[np.ndarray, np.ndarray]:
    """The face on a ``CANVAS`` x ``CANVAS`` layer: (RGB float32 0-255, alpha float32 0-1).

    The face is upright and centred; pose and placement are applied by :func:`render_photo`.
    """
    n = CANVAS
    unit = n * 0.24  # pixels per canonical unit (face half-width)
    ox, oy = n / 2, n / 2 + 0.05 * unit
    img = np.zeros((n, n, 3), np.float32)
    alpha = np.zeros((n, n), np.float32)
    skin = np.array(p.skin, np.float32)
    hair = tuple(float(v) for v in p.hair)
    fx, fy = shot.yaw * 0.16, shot.pitch * 0.1  # shift of the inner features
    a = p.aspect

    def E(target, c, axes, color, angle=0.0, start=0, end=360, thickness=-1):
        _ellipse(target, c, axes, color, angle, unit, (ox, oy), start, end, thickness)

    # Hair behind the head (long styles), ears, then the face itself.
    if p.hair_style == 3:
        E(img, (0, 0.15), (1.22, a * 1.05), hair)
        E(alpha, (0, 0.15), (1.22, a * 1.05), 1.0)
    ear_shift = -fx * 0.6
    for side in (-1, 1):
        E(img, (side * 0.98 + ear_shift, p.eye_y + 0.12), (p.ear * 0.7, p.ear * 1.3), tuple(skin * 0.9))
        E(alpha, (side * 0.98 + ear_shift, p.eye_y + 0.12), (p.ear * 0.7, p.ear * 1.3), 1.0)
    face = np.zeros((n, n), np.float32)
    E(face, (0, 0), (1.0, a), 1.0)
    chin = np.array([_pt(-0.75 + 0.25 * p.jaw, a * 0.55, ox, oy, unit), _pt(0.75 - 0.25 * p.jaw, a * 0.55, ox, oy, unit),
                     _pt(0.0, a * (1.0 + 0.08 * p.jaw), ox, oy, unit)], np.int32)
    cv2.fillConvexPoly(face, chin, 1.0, cv2.LINE_AA, 4)
    img = img * (1 - face[..., None]) + face[..., None] * skin
    alpha = np.maximum(alpha, face)

    # Soft shading: darker rim, lighter cheeks and nose bridge, dark eye sockets.
    yy, xx = np.mgrid[0:n, 0:n].astype(np.float32)
    u, v = (xx - ox) / unit, (yy - oy) / unit
    rim = np.clip((u / 1.0) ** 2 + (v / a) ** 2, 0, 1)
    img *= (1.0 - 0.4 * rim**3)[..., None]
    cheeks = np.zeros((n, n), np.float32)
    for side in (-1, 1):
        E(cheeks, (side * p.eye_dx + fx, p.eye_y + 0.35 + fy), (0.28, 0.2), 1.0)
    E(cheeks, (fx, p.eye_y + 0.1 + fy), (0.09, 0.25), 1.0)
    E(cheeks, (0.0, -a * 0.55), (0.55, 0.22), 0.8)  # forehead
    soft = cv2.GaussianBlur(cheeks, (0, 0), unit * 0.08)[..., None]
    img = img * (1.0 + HIGHLIGHT_GAIN * soft) + HIGHLIGHT_ADD * soft * (255.0 - img) / 255.0
    sockets = np.zeros((n, n), np.float32)
    for side in (-1, 1):
        E(sockets, (side * p.eye_dx + fx, p.eye_y + fy - 0.05), (p.eye_w * 1.5, p.eye_h * 2.0 + 0.1), 1.0)
    img = _shadow(img, sockets, 0.55, unit * 0.07)

    # Eyes, irises, brows.
    for side in (-1, 1):
        ex, ey = side * p.eye_dx + fx, p.eye_y + fy
        eh = max(p.eye_h * shot.eye_open, 0.012)
        E(img, (ex, ey), (p.eye_w, eh), tuple(0.55 * skin + 90))
        E(img, (ex + fx * 0.25, ey), (p.eye_w * 0.42, min(eh, p.eye_w * 0.42)), p.iris)
        E(img, (ex + fx * 0.25, ey), (p.eye_w * 0.18, min(eh, p.eye_w * 0.18)), (15, 12, 10))
        E(img, (ex, ey), (p.eye_w, eh), tuple(skin * 0.3), thickness=max(1, int(unit * 0.025)))
        E(img, (ex, ey), (p.eye_w * 1.05, eh * 1.1), tuple(skin * 0.2), start=180, end=360,
          thickness=max(2, int(unit * 0.04)))
        bx, by = ex + side * 0.02, ey - p.brow_gap - eh
        pts = np.array([_pt(bx - p.eye_w * 1.25, by + side * p.brow_tilt * 0.1 + 0.02, ox, oy, unit),
                        _pt(bx, by - 0.03, ox, oy, unit),
                        _pt(bx + p.eye_w * 1.25, by - side * p.brow_tilt * 0.1 + 0.02, ox, oy, unit)], np.int32)
        cv2.polylines(img, [pts], False, _color(np.minimum(np.array(hair) * 0.55, skin * 0.45)), max(2, int(p.brow_thick * unit)),
                      cv2.LINE_AA, 4)

    # Nose: shadow on the sides and under the tip; lighter bridge (already from `cheeks`).
    nose = np.zeros((n, n), np.float32)
    tip_y = p.eye_y + p.nose_len + 0.12 + fy
    for side in (-1, 1):
        E(nose, (fx * 1.3 + side * p.nose_w * 0.6, tip_y), (p.nose_w * 0.35, 0.05), 1.0)
    E(nose, (fx * 1.2 - 0.06 * np.sign(shot.yaw + 1e-9), tip_y - p.nose_len * 0.45),
      (0.035, p.nose_len * 0.45), 0.6)
    img = _shadow(img, nose, 0.6, unit * 0.035)

    # Mouth (wider and curved with a smile), lips darker than skin.
    my = p.mouth_y + fy * 0.8
    mw = p.mouth_w * (1 + 0.25 * shot.smile)
    lip = tuple(float(c) for c in np.clip(skin * np.array([0.75, 0.42, 0.42]), 0, 255))
    E(img, (fx * 0.9, my), (mw, p.lip + 0.03 * shot.smile), lip, start=0, end=180)
    E(img, (fx * 0.9, my), (mw, p.lip * 0.6), lip, start=180, end=360)
    E(img, (fx * 0.9, my + 0.005), (mw * 0.95, 0.018 + 0.025 * shot.smile), (45, 20, 20), start=0, end=180)

    # Beard, hair on top, mole, glasses.
    hair_layer = np.zeros((n, n), np.float32)
    beard_layer = np.zeros((n, n), np.float32)
    if p.beard in (1, 2):
        E(beard_layer, (fx * 0.9, my - p.lip - 0.04), (mw * 1.05, 0.045), 1.0)
    if p.beard == 2:
        E(beard_layer, (fx * 0.5, a * 0.8), (0.62, a * 0.24), 1.0)
    if p.beard == 3:
        E(beard_layer, (fx * 0.8, my + 0.22), (0.14, 0.14), 1.0)
    beard_layer *= face
    if p.hair_style in (1, 2, 3, 4, 5):
        top = {1: 0.35, 2: 0.45, 3: 0.45, 4: 0.4, 5: 0.7}[p.hair_style]
        E(hair_layer, (0, -a * 0.72), (1.06, top + 0.15), 1.0)
        if p.hair_style == 4:
            E(hair_layer, (0.45, -a * 0.62), (0.7, 0.28), 1.0, angle=-20)
        cut = np.zeros((n, n), np.float32)
        E(cut, (0, 0.12), (1.05, a * 0.82), 1.0)
        hair_layer *= 1 - cut
        if p.hair_style == 2:  # a fringe over the forehead, stopping above the brows
            fringe = np.zeros((n, n), np.float32)
            E(fringe, (-0.2, -a * 0.6), (0.8, 0.35), 1.0, angle=10)
            brow_line = oy + (p.eye_y - p.brow_gap - p.eye_h - 0.12) * unit
            fringe[int(max(0, brow_line)):] = 0
            hair_layer = np.maximum(hair_layer, fringe)
    beard = np.clip(beard_layer, 0, 1)[..., None] * 0.75
    img = img * (1 - beard) + beard * np.minimum(np.array(hair, np.float32), skin * 0.6)
    mask = np.clip(hair_layer, 0, 1)[..., None]
    img = img * (1 - mask) + mask * np.array(hair, np.float32)
    alpha = np.maximum(alpha, mask[..., 0])
    if p.mole is not None:
        E(img, (p.mole[0] + fx * 0.5, p.mole[1] + fy), (0.035, 0.035), tuple(skin * 0.35))
    if p.glasses >= 0:
        color = tuple(float(c) for c in GLASSES[p.glasses])
        for side in (-1, 1):
            E(img, (side * p.eye_dx + fx, p.eye_y + fy), (p.eye_w * 1.5, p.eye_w * 1.1), color,
              thickness=max(2, int(unit * 0.035)))
        cv2.line(img, _pt(-p.eye_dx + p.eye_w * 1.5 + fx, p.eye_y + fy, ox, oy, unit),
                 _pt(p.eye_dx - p.eye_w * 1.5 + fx, p.eye_y + fy, ox, oy, unit), color,
                 max(2, int(unit * 0.03)), cv2.LINE_AA, 4)

    # Side light: a linear ramp across the face in the light's direction.
    ramp = (np.cos(shot.light_angle) * u + np.sin(shot.light_angle) * v) / 1.3
    img *= (1.0 + shot.light * np.clip(ramp, -1, 1))[..., None]
    return np.clip(img, 0, 255), np.clip(alpha, 0, 1)
