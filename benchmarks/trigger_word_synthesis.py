"""Benchmark: trigger-word clip synthesis against the course assignment's pydub approach.

Run: ``python -m benchmarks.trigger_word_synthesis [--clips N] [--baseline-clips N]``

Every contender makes the same number of 10-second 44.1 kHz clips with 0-4 positives and 0-2 negatives, labels and
a WAV file each, from the same words and backgrounds. The baseline is written here from
the course's description: pydub ``overlay`` per inserted word, placement on a 1 ms grid with
retries on overlap, -20 dBFS normalisation, WAV export, one process. Ours runs
``synthesize_shard`` on 2 worker processes (both cores). Peak memory is measured in fresh
processes at two clip counts to show it stays flat.

Every contender's clips stay on disk until the end. Deleting thousands of files just before
a contender runs would bill it for the deletion: for a few minutes afterwards ext4 skips
recently freed inodes one by one when it creates a file (``recently_deleted`` in the
kernel), which cost up to 0.9 ms of CPU per new file on our machines. For the same reason,
leave a few minutes between two runs of this benchmark.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

from benchmarks._trigger_word_sources import SAMPLE_RATE, make_sources
from tasks.audio.shards import pcm_ref
from tasks.trigger_word.clipset import ManifestWriter, synthesize_shard
from tasks.trigger_word.config import SynthesizeParams
from tasks.trigger_word.synth import Pools, Source

TY = 1375


def course_style(pools: Pools, n_clips: int, out: Path, seed: int = 0) -> None:
    """The course assignment's synthesis loop, re-implemented from its description."""
    from pydub import AudioSegment

    rng = np.random.default_rng(seed)
    def load(s: Source) -> AudioSegment:  # words sit in shards (tasks.audio.shards); backgrounds are WAVs
        pcm = pcm_ref(pools.root, s.path)
        return AudioSegment(data=pcm.tobytes(), sample_width=2, frame_rate=SAMPLE_RATE, channels=1)

    positives = [load(s) for s in pools.positives]
    negatives = [load(s) for s in pools.negatives]
    backgrounds = [load(s)[:10_000] for s in pools.backgrounds]

    def random_segment(ms: int) -> tuple[int, int]:
        start = int(rng.integers(0, 10_000 - ms))
        return start, start + ms - 1

    def overlapping(seg: tuple[int, int], previous: list[tuple[int, int]]) -> bool:
        return any(seg[0] <= e and seg[1] >= s for s, e in previous)

    for i in range(n_clips):
        background = backgrounds[int(rng.integers(len(backgrounds)))] - 20
        y = np.zeros(TY)
        previous: list[tuple[int, int]] = []
        for pool, count, positive in ((positives, int(rng.integers(0, 5)), True),
                                      (negatives, int(rng.integers(0, 3)), False)):
            for _ in range(count):
                clip = pool[int(rng.integers(len(pool)))]
                seg = random_segment(len(clip))
                while overlapping(seg, previous):
                    seg = random_segment(len(clip))
                previous.append(seg)
                background = background.overlay(clip, position=seg[0])
                if positive:
                    end = int(seg[1] * TY / 10_000.0)
                    y[end + 1:end + 51] = 1
        background = background.apply_gain(-20.0 - background.dBFS)
        background.export(str(out / f"base-{i}.wav"), format="wav")


def ours(pools: Pools, n_clips: int, out: Path, workers: int = 2, shard: int = 64) -> None:
    params = SynthesizeParams(clips={"train": n_clips}, shard_size=shard)
    jobs = [list(range(i, min(i + shard, n_clips))) for i in range(0, n_clips, shard)]
    with ProcessPoolExecutor(workers) as pool, ManifestWriter(out / "clips.parquet") as writer:
        for table in pool.map(synthesize_shard, ["train"] * len(jobs), jobs, [pools] * len(jobs),
                              [params] * len(jobs), [SAMPLE_RATE] * len(jobs), [0] * len(jobs),
                              [out] * len(jobs)):
            writer.write(table)


def cpu_seconds() -> float:
    """User + system CPU time of this process and its finished children."""
    return sum(r.ru_utime + r.ru_stime for r in (resource.getrusage(resource.RUSAGE_SELF),
                                                   resource.getrusage(resource.RUSAGE_CHILDREN)))


CPU: dict[str, float] = {}


def settle(outputs: list[Path]) -> None:
    """Write out every dirty page, then drop the clips in the folders ``outputs`` from the page cache.

    Each contender then starts with no writeback of the previous one pending and the same free
    memory, without deleting its files (see the module docstring for why not).
    """
    os.sync()
    for path in (p for folder in outputs for p in folder.rglob("*.wav")):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        finally:
            os.close(fd)


def file_create_ms(folder: Path, n: int = 300) -> float:
    """Milliseconds to create one empty file in ``folder`` now (a probe of the filesystem's state)."""
    folder.mkdir()
    t = time.perf_counter()
    for i in range(n):
        os.close(os.open(folder / f"{i}", os.O_WRONLY | os.O_CREAT, 0o644))
    return 1000 * (time.perf_counter() - t) / n


def timed(fn, *args, label: str, done: list[Path]) -> float:
    """Wall seconds of ``fn(*args)``; its CPU seconds (all processes) go to ``CPU[label]``.

    The output folders of earlier contenders, ``done``, are first settled (:func:`settle`).

    CPU time is the steadier figure on a shared machine: other load stretches the wall clock
    but barely changes how much work a contender does.
    """
    settle(done)
    c, t = cpu_seconds(), time.perf_counter()
    fn(*args)
    wall = time.perf_counter() - t
    CPU[label] = cpu_seconds() - c
    return wall


def pools_to_json(pools: Pools) -> str:
    """The pools as JSON, for the child process that measures memory (no pickle)."""
    return json.dumps({"root": str(pools.root), **{kind: [dataclasses.astuple(s) for s in getattr(pools, kind)]
                                                   for kind in ("positives", "negatives", "backgrounds")}})


def pools_from_json(text: str) -> Pools:
    doc = json.loads(text)
    return Pools(Path(doc["root"]), *(tuple(Source(*s) for s in doc[kind])
                                      for kind in ("positives", "negatives", "backgrounds")))


def peak_rss_mb(sources: Path, n_clips: int) -> float:
    """Peak RSS of a fresh process that synthesises ``n_clips`` (2 workers), in MB."""
    code = ("import sys, pathlib, resource; from benchmarks.trigger_word_synthesis import ours, pools_from_json; "
            "pools = pools_from_json(pathlib.Path(sys.argv[1]).read_text()); "
            "out = pathlib.Path(sys.argv[3]); out.mkdir(); ours(pools, int(sys.argv[2]), out); "
            "print(max(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, "
            "resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss) / 1024)")
    with tempfile.TemporaryDirectory() as tmp:
        res = subprocess.run([sys.executable, "-c", code, str(sources), str(n_clips), f"{tmp}/o"],
                             capture_output=True, text=True, check=True, env={**os.environ, "PYTHONPATH": "."})
    return float(res.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--clips", type=int, default=3000, help="clips per contender (same for all)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        pools = make_sources(tmp / "src")
        print(f"sources: {len(pools.positives)} positives, {len(pools.negatives)} negatives, "
              f"{len(pools.backgrounds)} backgrounds; {os.cpu_count()} CPUs")
        probe = file_create_ms(tmp / "probe")
        print(f"creating a file takes {probe:.3f} ms here now"
              + (" (slow: files were deleted in the last minutes, which skews every contender; see the docstring)"
                 if probe > 0.1 else ""))
        (tmp / "base").mkdir()
        t_base = timed(course_style, pools, args.clips, tmp / "base", label="base", done=[])
        base_rate = args.clips / t_base
        print(f"baseline (pydub overlay, 1 process): {args.clips} clips in {t_base:.2f} s = {base_rate:.0f} clips/s; "
              f"{1000 * CPU['base'] / args.clips:.2f} CPU-ms per clip")
        for workers in (1, 2):
            out = tmp / f"ours{workers}"
            out.mkdir()
            t = timed(ours, pools, args.clips, out, workers, label=f"ours{workers}",
                      done=[tmp / "base", *(tmp / f"ours{w}" for w in range(1, workers))])
            cpu = CPU[f"ours{workers}"]
            print(f"ours ({workers} process{'es' if workers > 1 else ''}): {args.clips} clips in {t:.2f} s = "
                  f"{args.clips / t:.0f} clips/s = {args.clips / t / base_rate:.1f}x baseline (wall); "
                  f"{1000 * cpu / args.clips:.2f} CPU-ms per clip = {CPU['base'] / cpu:.1f}x less CPU than the "
                  f"baseline; on 2 idle cores: ~{2 * args.clips / cpu:.0f} clips/s")
        (tmp / "pools.json").write_text(pools_to_json(pools))
        small, large = args.clips // 4, args.clips
        mem = {n: peak_rss_mb(tmp / "pools.json", n) for n in (small, large)}
        print(f"peak RSS: {small} clips {mem[small]:.0f} MB, {large} clips {mem[large]:.0f} MB "
              f"(ratio {mem[large] / mem[small]:.2f}; flat means ~1.0)")
        print(f"this process max RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")


if __name__ == "__main__":
    main()
