"""Error analysis fed back into the data: false accepts mined on train audio become negatives.

The lecture's advice: look at what the detector gets wrong and give it more of exactly that.
The evaluate stage streams the model over *train-split* negative-only audio and cuts the
window before each false accept into a WAV (:func:`cut_windows`); ``feedback`` copies them
into a numbered round folder; ``trigger_word.synthesize.hard_negatives_dir`` pointed at it
adds them to the train split's negatives (:func:`load_sources`). Dev and test audio are never
mined, so their numbers stay honest.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
from pathlib import Path

import numpy as np
import soundfile as sf

from tasks.audio.checks import dbfs, rms
from tasks.audio.io import list_audio
from tasks.trigger_word.synth import Source

log = logging.getLogger(__name__)


def cut_windows(session: Path, times_s: list[float], scores: list[float], window_s: float, out: Path,
                prefix: str) -> list[dict]:
    """Write the ``window_s`` of audio ending at each detection time as a WAV; one row per file."""
    out.mkdir(parents=True, exist_ok=True)
    rows = []
    with sf.SoundFile(str(session)) as f:
        rate = f.samplerate
        for i, (t, score) in enumerate(zip(times_s, scores, strict=True)):
            end = min(int(round(t * rate)), f.frames)
            start = max(0, end - int(round(window_s * rate)))
            f.seek(start)
            x = f.read(end - start, dtype="float32", always_2d=False)
            name = f"{prefix}-{i:04d}.wav"
            sf.write(str(out / name), x, rate, subtype="PCM_16")
            rows.append({"file": name, "session": session.name, "time_s": round(float(t), 3),
                         "score": round(float(score), 4)})
    return rows


def next_round(folder: Path) -> Path:
    """``folder/round-NNN`` with NNN one past the highest existing round."""
    done = [int(m.group(1)) for p in folder.glob("round-*") if (m := re.fullmatch(r"round-(\d+)", p.name))]
    return folder / f"round-{max(done, default=0) + 1:03d}"


def feedback(mined: Path, rounds: Path) -> tuple[Path, int]:
    """Copy the mined false-accept WAVs of the last evaluation into a new round folder."""
    files = sorted(mined.glob("*.wav"))
    if not files:
        raise FileNotFoundError(f"{mined}: no mined false accepts (run evaluate with "
                                "trigger_word.evaluate.mine_minutes > 0 first, or the model made none)")
    dest = next_round(rounds)
    tmp = dest.with_name(dest.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    for f in files:
        shutil.copyfile(f, tmp / f.name)
    if (mined / "hard_negatives.parquet").is_file():
        shutil.copyfile(mined / "hard_negatives.parquet", tmp / "hard_negatives.parquet")
    tmp.rename(dest)
    return dest, len(files)


def load_sources(folder: Path, relative_to: Path, sample_rate: int, min_s: float = 0.2
                 ) -> tuple[list[Source], list[dict]]:
    """Hard negatives in ``folder`` (recursively) as synthesis sources, and the files set aside.

    Paths are made relative to ``relative_to`` (the pools' root) so clips can name them.
    A file that cannot be read, has another sample rate, is too short or silent is reported
    and skipped, never fatal.
    """
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder}: trigger_word.synthesize.hard_negatives_dir not found")
    sources, skipped = [], []
    for path in list_audio(folder):
        try:
            x, rate = sf.read(str(path), dtype="float32", always_2d=True)
        except (sf.LibsndfileError, RuntimeError) as exc:
            skipped.append({"path": str(path), "problem": f"undecodable: {exc}"})
            continue
        x = x.mean(axis=1)
        problem = None
        if rate != sample_rate:
            problem = f"sample rate {rate} Hz, the collected words are {sample_rate} Hz"
        elif len(x) < min_s * rate:
            problem = f"too short ({len(x) / rate:.2f} s)"
        elif not np.isfinite(x).all() or rms(x) == 0:
            problem = "silent or non-finite samples"
        if problem:
            skipped.append({"path": str(path), "problem": problem})
            continue
        rel = os.path.relpath(path.resolve(), relative_to.resolve())
        sources.append(Source(rel, len(x), dbfs(rms(x))))
    for s in skipped:
        log.warning("hard negative set aside: %s: %s", s["path"], s["problem"])
    return sources, skipped
