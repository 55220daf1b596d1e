"""Enrolment throughput: photos/s through decode + Haar detection + crop + encode.

Generates demo photos into a temporary folder, then embeds them with 1 and with 2 workers
(threads: OpenCV and PyTorch release the GIL; one torch thread per worker), beside a
baseline in the same run: detection alone.

    python benchmarks/faces_enrol.py [--photos 300] [--encoder data/faces/train/encoder]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import torch

from models.checkpoint import state_dict_hash
from models.face_encoder import FaceEncoder, FaceEncoderConfig
from tasks.faces.collect import render_person_photos
from tasks.faces.detect import DetectSettings, detect_file
from tasks.faces.encoder import Encoder, embed_files, load_encoder


def throughput(fn, chunks: list[list[str]], workers: int) -> float:
    n = sum(map(len, chunks))
    t = time.perf_counter()
    with ThreadPoolExecutor(workers) as pool:
        list(pool.map(fn, chunks))
    return n / (time.perf_counter() - t)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--photos", type=int, default=300)
    parser.add_argument("--size", type=int, default=160, help="photo side, pixels")
    parser.add_argument("--encoder", default="data/faces/train/encoder")
    args = parser.parse_args()
    if (Path(args.encoder) / "config.json").is_file():
        encoder = load_encoder(args.encoder)
    else:  # throughput does not depend on the weights
        torch.manual_seed(0)
        model = FaceEncoder(FaceEncoderConfig(input_size=40, channels=(16, 32, 64, 128), convs_per_stage=1)).eval()
        encoder = Encoder(model, state_dict_hash(model), DetectSettings(crop_size=40), "", {})
    with tempfile.TemporaryDirectory() as tmp:
        paths = []
        for i in range(0, args.photos, 10):
            paths += [str(p) for p in render_person_photos(Path(tmp) / f"p{i}", 0, 1000 + i, 10, args.size)]
        chunks = [paths[i:i + 25] for i in range(0, len(paths), 25)]
        detect_only = throughput(lambda c: [detect_file(p, encoder.detect) for p in c], chunks, 1)
        one = throughput(lambda c: embed_files(encoder, c), chunks, 1)
        two = throughput(lambda c: embed_files(encoder, c), chunks, 2)
    print(f"enrolment of {len(paths)} photos ({args.size}x{args.size} JPEG), decode + detect + crop + encode")
    print(f"  detection only, 1 worker     {detect_only:7.1f} photos/s")
    print(f"  enrolment, 1 worker          {one:7.1f} photos/s")
    print(f"  enrolment, 2 workers         {two:7.1f} photos/s  ({two / one:.2f}x)")


if __name__ == "__main__":
    main()
