"""Face detection and alignment: one photo in, one face crop out, or a quarantine reason.

Detectors: dlib's HOG (default), dlib's CNN (mmod; slower, finds more poses) or OpenCV's Haar
cascade. Alignment: dlib's 5-point landmarks and ``get_face_chip`` give the 150 x 150 chip
(eyes level, fixed scale) dlib's ResNet encoder was trained on; ``align: none`` keeps the
plain box crop with a margin. Quarantine reasons: unreadable files (decoding and checks are
:mod:`tasks.images.io`'s), no face, a face too small to embed reliably (the resolution
check), a face too small or too rotated for the landmark model. A photo with several faces
keeps the largest and is flagged.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from tasks.faces import pretrained as P
from tasks.images.io import ImageLimits, check_image

CASCADE = "haarcascade_frontalface_default.xml"
COARSE_FROM_PX = 400  # dlib detectors try no upsampling first on photos at least this long
_local = threading.local()  # a CascadeClassifier must not be shared between threads


@dataclass(frozen=True)
class DetectSettings:
    """How faces are found and cropped (the ``faces.detect`` params, as plain values)."""

    detector: str = "hog"  # hog | cnn (dlib's) | haar (OpenCV's cascade)
    upsample: int = 1  # dlib detectors: most upsampling tried when no face is found without (1: faces down to ~40 px)
    align: str = "five_point"  # five_point (dlib landmarks -> 150 x 150 chip) | none (box crop)
    max_roll_deg: float = 35.0  # faces whose eye line is tilted more are quarantined (landmarks unreliable)
    min_eye_px: float = 10.0  # eyes closer than this (decoded pixels) are too small for the landmark model
    scale_factor: float = 1.05  # Haar image-pyramid step
    min_neighbors: int = 5  # overlapping detections needed to accept a face
    min_detect_px: int = 24  # smallest face the detector looks for, pixels (of the decoded image)
    min_face_px: int = 40  # the resolution check: smaller faces (in the original photo) are set aside
    margin: float = 0.2  # context added around the detector's box, as a share of its side, per side
    crop_size: int = 48  # side of the saved crop, pixels
    max_side: int = 640  # photos are decoded at about this long side for detection
    min_side: int = 32  # smallest usable photo, pixels
    max_aspect: float = 4.0  # most elongated usable photo (long side / short side)
    clahe: bool = True  # local contrast equalisation of the grey image before detection


@dataclass(frozen=True)
class Detection:
    """Result for one photo: a crop, or a reason it has none (``crop`` is None then)."""

    crop: np.ndarray | None  # (S, S, 3) uint8 RGB
    faces: int  # faces the detector found
    box: tuple[int, int, int, int] | None  # x, y, w, h of the face used, in original-photo pixels
    face_px: int  # side of that face in the original photo, pixels
    reason: str | None  # quarantine reason (also set for multi-face photos, whose crop is kept)


def cascade() -> cv2.CascadeClassifier:
    """This thread's Haar cascade (loaded once per thread)."""
    c = getattr(_local, "cascade", None)
    if c is None:
        path = Path(cv2.data.haarcascades) / CASCADE
        c = cv2.CascadeClassifier(str(path))
        if c.empty():
            raise RuntimeError(f"{path}: could not load OpenCV's Haar cascade (is opencv-python-headless<5 installed?)")
        _local.cascade = c
    return c


def equalised_grey(rgb: np.ndarray) -> np.ndarray:
    """Grey image with local contrast equalised (CLAHE): lifts low-contrast (e.g. dark-skinned)
    faces for the detectors; a global equalisation hurts instead. Only detection sees it."""
    return cv2.createCLAHE(clipLimit=2.0, tileGridSize=(4, 4)).apply(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY))


def detect_faces(rgb: np.ndarray, s: DetectSettings) -> list[tuple[int, int, int, int]]:
    """Boxes (x, y, w, h) of frontal faces in an RGB image, largest first."""
    if s.detector in ("hog", "cnn"):
        # Photos of 400 px and more: coarse to fine, upsampling (4x the work each time) only while
        # nothing is found (a bystander under ~80 px then goes unseen: the largest face is used
        # anyway). Smaller photos go straight to the full upsampling, where their faces are.
        # With ``clahe``, a photo where HOG finds nothing is tried once more on its contrast-
        # equalised grey image (recovers some low-contrast, e.g. dark-skinned, faces).
        first = 0 if max(rgb.shape[:2]) >= COARSE_FROM_PX else s.upsample
        tries = [(rgb, up) for up in range(first, s.upsample + 1)]
        if s.clahe and s.detector == "hog":
            tries.append((equalised_grey(rgb), s.upsample))
        for img, up in tries:
            boxes = [b for b in P.detect_boxes(img, s.detector, up) if min(b[2], b[3]) >= s.min_detect_px]
            if boxes:
                return sorted(boxes, key=lambda b: (-b[2] * b[3], b[0], b[1]))
        return []
    gray = equalised_grey(rgb) if s.clahe else cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    found = cascade().detectMultiScale(gray, scaleFactor=s.scale_factor, minNeighbors=s.min_neighbors,
                                       minSize=(s.min_detect_px, s.min_detect_px))
    boxes = [tuple(int(v) for v in b) for b in (found if len(found) else [])]
    return sorted(boxes, key=lambda b: (-b[2] * b[3], b[0], b[1]))


def crop_face(rgb: np.ndarray, box: tuple[int, int, int, int], margin: float, size: int) -> np.ndarray:
    """A square crop around ``box`` grown by ``margin`` per side, edge pixels repeated where it
    leaves the photo, resized to ``size`` x ``size``."""
    x, y, w, h = box
    side = max(w, h) * (1 + 2 * margin)
    cx, cy = x + w / 2, y + h / 2
    x0, y0 = int(round(cx - side / 2)), int(round(cy - side / 2))
    x1, y1 = x0 + int(round(side)), y0 + int(round(side))
    H, W = rgb.shape[:2]
    pad = max(0, -x0, -y0, x1 - W, y1 - H)
    if pad:
        rgb = cv2.copyMakeBorder(rgb, pad, pad, pad, pad, cv2.BORDER_REPLICATE)
        x0, y0, x1, y1 = x0 + pad, y0 + pad, x1 + pad, y1 + pad
    patch = rgb[y0:y1, x0:x1]
    interp = cv2.INTER_AREA if patch.shape[0] > size else cv2.INTER_LINEAR
    return np.ascontiguousarray(cv2.resize(patch, (size, size), interpolation=interp))


def landmark_problem(pts: np.ndarray, box: tuple[int, int, int, int], s: DetectSettings) -> str | None:
    """Why the 5 landmarks of the face in ``box`` cannot be trusted for alignment, or None."""
    eye_a, eye_b = pts[0:2].mean(axis=0), pts[2:4].mean(axis=0)
    dx, dy = eye_a - eye_b
    eyes = float(np.hypot(dx, dy))
    roll = abs(float(np.degrees(np.arctan2(dy, dx))))
    roll = min(roll, 180.0 - roll)
    head = "too small or too rotated for the landmark model"
    if eyes < s.min_eye_px:
        return f"{head}: eyes {eyes:.1f} px apart, below faces.detect.min_eye_px = {s.min_eye_px}"
    if roll > s.max_roll_deg:
        return f"{head}: eye line tilted {roll:.0f} degrees, above faces.detect.max_roll_deg = {s.max_roll_deg}"
    x, y, w, h = box
    inside = ((pts[:, 0] >= x - 0.3 * w) & (pts[:, 0] <= x + 1.3 * w) & (pts[:, 1] >= y - 0.3 * h)
              & (pts[:, 1] <= y + 1.3 * h))
    if not inside.all() or not 0.15 * w <= eyes <= 0.9 * w:
        return f"{head}: landmarks do not fit the face found (eyes {eyes:.1f} px apart in a {w} px box)"
    return None


def align_face(rgb: np.ndarray, box: tuple[int, int, int, int], s: DetectSettings) -> tuple[np.ndarray | None, str | None]:
    """The crop of the face in ``box``: aligned 150 x 150 chip (``five_point``) or a box crop, or why not."""
    if s.align == "none":
        return crop_face(rgb, box, s.margin, s.crop_size), None
    shape, pts = P.five_points(rgb, box)
    problem = landmark_problem(pts, box, s)
    if problem:
        return None, problem
    return P.face_chip(rgb, shape), None


def detect_array(rgb: np.ndarray, s: DetectSettings, scale: float = 1.0) -> Detection:
    """Detect and crop on a decoded RGB array; ``scale`` = original pixels per decoded pixel."""
    boxes = detect_faces(rgb, s)
    if not boxes:
        return Detection(None, 0, None, 0, "no face: the detector found no frontal face")
    box = boxes[0]
    orig = tuple(int(round(v * scale)) for v in box)
    face_px = max(orig[2], orig[3])
    if face_px < s.min_face_px:
        return Detection(None, len(boxes), orig, face_px,
                         f"small face: {face_px} px, below faces.detect.min_face_px = {s.min_face_px}")
    crop, problem = align_face(rgb, box, s)
    if crop is None:
        return Detection(None, len(boxes), orig, face_px, problem)
    reason = f"multiple faces: {len(boxes)} found, the largest used" if len(boxes) > 1 else None
    return Detection(crop, len(boxes), orig, face_px, reason)


def detect_file(path: Path | str, s: DetectSettings) -> Detection:
    """Decode (EXIF-upright RGB, reduced JPEG decoding for big photos), check, detect and crop."""
    img, info, problem = check_image(path, ImageLimits(s.min_side, s.max_aspect), max_side=s.max_side)
    if problem:
        return Detection(None, 0, None, 0, problem)
    if max(img.size) > s.max_side:  # non-JPEG formats are decoded at full size
        ratio = s.max_side / max(img.size)
        img = img.resize((max(1, round(img.width * ratio)), max(1, round(img.height * ratio))))
    rgb = np.asarray(img)
    return detect_array(rgb, s, scale=info.width / rgb.shape[1])


def detect_rows(rows: list[dict], s: DetectSettings) -> tuple[list[dict], list[np.ndarray]]:
    """Detect on every manifest row (photo_id, person, path, ...): one record per row (with
    ``faces``, ``face_px``, box, ``status`` = ok | flagged | quarantined, ``reason``) and the
    crops of the rows that have one, in row order."""
    records, crops = [], []
    for row in rows:
        d = detect_file(row["path"], s)
        status = "quarantined" if d.crop is None else "flagged" if d.reason else "ok"
        x, y, w, h = d.box or (-1, -1, -1, -1)
        records.append({**row, "faces": d.faces, "face_px": d.face_px, "box_x": x, "box_y": y, "box_w": w,
                        "box_h": h, "status": status, "reason": d.reason or ""})
        if d.crop is not None:
            crops.append(d.crop)
    return records, crops


def detect_and_embed(rows: list[dict], s: DetectSettings) -> tuple[list[dict], list[np.ndarray], np.ndarray]:
    """:func:`detect_rows`, plus the pretrained encoder's descriptors of the aligned chips
    ``(len(crops), 128)`` (computed once here, so train, database and evaluate reuse them;
    empty when ``align`` is ``none``: box crops are not what the pretrained encoder reads)."""
    records, crops = detect_rows(rows, s)
    if s.align != "five_point" or not crops:
        return records, crops, np.zeros((0 if s.align != "five_point" else len(crops), P.DIM), np.float32)
    return records, crops, P.embed_chips(np.stack(crops))
