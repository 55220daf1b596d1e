"""Command `detect`: when does the trigger word occur in these audio files?

Prints one JSON object per file on stdout (``{"file", "detections": [{"time_s", "score"}]}``,
or ``{"file", "error"}`` for a file that cannot be read; the others are still processed).
Files of any length are streamed window by window, so an hour-long recording never sits in
memory. This is a plain command, not a Prefect flow: it must start fast.
"""

from __future__ import annotations

import hashlib
import json
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import torch

from models.checkpoint import CheckpointError
from models.trigger_word_heads import load_head
from tasks.audio.io import AudioReadError, path_problem
from tasks.io import OUTPUT_MARKER, atomic_file, check_output_dir, write_marker
from tasks.trigger_word.detection import detect
from tasks.trigger_word.enrol import EnrolledDetector, is_enrolled
from tasks.trigger_word.inference import Scorer, score_file, write_with_chimes
from tasks.trigger_word.modeling import feature_spec, normaliser


class Detector:
    """A shipped model folder, ready to stream files through."""

    def __init__(self, checkpoint: Path, threshold: float | None = None, threads: int = 2):
        torch.set_num_threads(threads)
        model, doc = load_head(checkpoint)
        meta = {**doc["features"], **doc["normaliser"]}
        self.scorer = Scorer(model, feature_spec(meta, str(checkpoint)), normaliser(meta))
        self.threshold = threshold if threshold is not None else doc.get("threshold")
        if self.threshold is None:
            raise CheckpointError(f"{checkpoint}: no stored threshold (not a shipped model folder); "
                                  "pass --threshold")
        self.refractory = int(round(doc.get("refractory_s", 1.0) / self.scorer.clock.step_s))
        self.window_s = float(doc.get("window_s", doc["clip_seconds"]))

    def run(self, path: Path) -> list[dict]:
        """Detections of one file: ``[{"time_s", "score"}, ...]`` in time order."""
        t, s = score_file(path, self.scorer, self.window_s)
        return [{"time_s": round(float(t[i]), 3), "score": round(float(s[i]), 4)}
                for i in detect(s, self.threshold, self.refractory)]


def chime_names(paths: list[Path]) -> dict[Path, str]:
    """The chimed copy's file name of each input: ``STEM.chimed.wav``, with a short hash of the
    input's path added when two inputs share a stem, so that no copy overwrites another."""
    stems = Counter(p.stem for p in paths)
    names = {}
    for p in paths:
        tag = hashlib.sha256(str(p.absolute()).encode()).hexdigest()[:8]
        names[p] = f"{p.stem}.chimed.wav" if stems[p.stem] == 1 else f"{p.stem}-{tag}.chimed.wav"
    return names


def prepare_chime_dir(chime_dir: Path, paths: list[Path], force: bool = False) -> None:
    """Check ``--chime-dir`` (new or ours, never holding an input) and create it with our marker."""
    check_output_dir(chime_dir, [("FILE", p) for p in paths], force=force, flag="--chime-dir")
    chime_dir.mkdir(parents=True, exist_ok=True)
    if not (chime_dir / OUTPUT_MARKER).exists():
        write_marker(chime_dir, "flows.trigger_word detect --chime-dir")


def detect_files(paths: list[Path], detector: Detector | EnrolledDetector, chime_dir: Path | None = None) -> Iterator[dict]:
    names = chime_names(paths)
    for path in paths:
        try:
            if problem := path_problem(path):
                raise AudioReadError(problem)
            found = detector.run(path)
            result = {"file": str(path), "detections": found}
            if chime_dir is not None:
                dst = chime_dir / names[path]
                with atomic_file(dst) as tmp:
                    write_with_chimes(path, tmp, [d["time_s"] for d in found])
                result["chimed"] = str(dst)
            yield result
        except (AudioReadError, RuntimeError, ValueError) as exc:
            yield {"file": str(path), "error": str(exc)}


def main(paths: list[Path], checkpoint: Path, threshold: float | None, chime_dir: Path | None,
         force: bool = False) -> int:
    if chime_dir is not None:  # checked before the model loads; created once it has
        check_output_dir(chime_dir, [("FILE", p) for p in paths], force=force, flag="--chime-dir")
    detector = EnrolledDetector(checkpoint, threshold) if is_enrolled(checkpoint) else Detector(checkpoint, threshold)
    if chime_dir is not None:
        prepare_chime_dir(chime_dir, paths, force)
    failures = 0
    for result in detect_files(paths, detector, chime_dir):
        failures += "error" in result
        sys.stdout.write(json.dumps(result) + "\n")
        sys.stdout.flush()
    return 1 if failures == len(paths) and paths else 0
