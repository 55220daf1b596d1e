"""Command `detect`: when does the trigger word occur in these audio files?

Prints one JSON object per file on stdout (``{"file", "detections": [{"time_s", "score"}]}``,
or ``{"file", "error"}`` for a file that cannot be read; the others are still processed).
Files of any length are streamed window by window, so an hour-long recording never sits in
memory. This is a plain command, not a Prefect flow: it must start fast.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path

import torch

from models.checkpoint import load_model
from models.trigger_word import TriggerWordConfig, TriggerWordModel
from tasks.audio.io import AudioReadError
from tasks.trigger_word.detection import detect
from tasks.trigger_word.inference import Scorer, score_file, write_with_chimes
from tasks.trigger_word.modeling import feature_spec, normaliser


class Detector:
    """A shipped model folder, ready to stream files through."""

    def __init__(self, checkpoint: Path, threshold: float | None = None, threads: int = 2):
        torch.set_num_threads(threads)
        model, doc = load_model(checkpoint, TriggerWordModel, TriggerWordConfig)
        meta = {**doc["features"], **doc["normaliser"]}
        self.scorer = Scorer(model, feature_spec(meta, str(checkpoint)), normaliser(meta))
        self.threshold = threshold if threshold is not None else doc.get("threshold")
        if self.threshold is None:
            raise ValueError(f"{checkpoint}: no stored threshold (not a shipped model folder); pass --threshold")
        self.refractory = int(round(doc.get("refractory_s", 1.0) / self.scorer.clock.step_s))
        self.window_s = float(doc.get("window_s", doc["clip_seconds"]))

    def run(self, path: Path) -> list[dict]:
        """Detections of one file: ``[{"time_s", "score"}, ...]`` in time order."""
        t, s = score_file(path, self.scorer, self.window_s)
        return [{"time_s": round(float(t[i]), 3), "score": round(float(s[i]), 4)}
                for i in detect(s, self.threshold, self.refractory)]


def detect_files(paths: list[Path], detector: Detector, chime_dir: Path | None = None) -> Iterator[dict]:
    for path in paths:
        try:
            if not path.is_file():
                raise AudioReadError("not found")
            found = detector.run(path)
            if chime_dir is not None:
                chime_dir.mkdir(parents=True, exist_ok=True)
                write_with_chimes(path, chime_dir / f"{path.stem}.chimed.wav", [d["time_s"] for d in found])
            yield {"file": str(path), "detections": found}
        except (AudioReadError, RuntimeError, ValueError) as exc:
            yield {"file": str(path), "error": str(exc)}


def main(paths: list[Path], checkpoint: Path, threshold: float | None, chime_dir: Path | None) -> int:
    detector = Detector(checkpoint, threshold)
    failures = 0
    for result in detect_files(paths, detector, chime_dir):
        failures += "error" in result
        sys.stdout.write(json.dumps(result) + "\n")
        sys.stdout.flush()
    return 1 if failures == len(paths) and paths else 0
