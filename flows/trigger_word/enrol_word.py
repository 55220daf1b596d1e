"""Command `enrol-word`: a detector folder for any word from 3-10 recordings, without retraining.

The folder holds a copy of the word encoder (``encoder/``), the takes' vectors
(``enrolled.npy``), the match scorers' templates (``templates.npy``, with ``--scorer match`` or
``fused``) and ``detector.json`` (scorer, threshold, how it was set, the takes used and
skipped); ``detect --checkpoint DIR`` runs it. Written whole or not at all.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import numpy as np

from tasks.io import atomic_output_dir, check_output_dir, write_json
from tasks.trigger_word.enrol import DETECTOR, ENROLLED, TEMPLATES, build_detector

COMMAND = "flows.trigger_word enrol-word"


def main(recordings: list[Path], out: Path, encoder_dir: Path, force: bool = False, scorer: str | None = None
         ) -> int:
    inputs = [("REC", p) for p in recordings] + [("--encoder", encoder_dir)]
    check_output_dir(out, inputs, force=force)  # before any work
    manifest, vectors, templates = build_detector(recordings, encoder_dir, scorer)
    with atomic_output_dir(out, inputs, COMMAND, force=force) as tmp:
        shutil.copytree(encoder_dir, tmp / manifest["encoder"])
        np.save(tmp / ENROLLED, vectors.astype(np.float32))
        if templates is not None:
            np.save(tmp / TEMPLATES, templates)
        write_json(tmp / DETECTOR, manifest)
    sys.stdout.write(json.dumps({"out": str(out), "threshold": manifest["threshold"],
                                 "takes": len(manifest["takes"]), "skipped": manifest["skipped"]}) + "\n")
    return 0
