"""Command ``export``: any synthesized clip or collected word written out as its own WAV.

Clips and words live in shards (:mod:`tasks.audio.shards`), a few hundred files instead of
one per recording, so that a no-op ``dvc repro`` stays fast at full scale; this is the way
to listen to one of them.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from tasks.audio.shards import write_ref_wav


class NotFoundError(FileNotFoundError):
    """No clip or word with the id asked for; the message says where it looked."""


def find_clip(clips_dir: Path | str, clip_id: str) -> str:
    """The reference (``path``) of clip ``clip_id`` in ``clips_dir/clips.parquet``."""
    manifest = Path(clips_dir) / "clips.parquet"
    if not manifest.is_file():
        raise NotFoundError(f"{manifest}: clip manifest not found; run synthesis first")
    rows = pd.read_parquet(manifest, columns=["clip_id", "path"], filters=[("clip_id", "==", clip_id)])
    if rows.empty:
        raise NotFoundError(f"{manifest}: no clip {clip_id!r} (ids look like train-0000042)")
    return str(rows.path.iloc[0])


def find_word(collect_dir: Path | str, word_id: str) -> str:
    """The reference (``path``) of word or background ``word_id`` in collect's manifests."""
    from tasks.trigger_word.cross_engine import FOLDER, MANIFEST

    collect_dir = Path(collect_dir)
    looked = []
    for name, column in (("positives.parquet", "word_id"), ("negatives.parquet", "word_id"),
                         ("backgrounds.parquet", "background_id"), (f"{FOLDER}/{MANIFEST}", "word_id")):
        manifest = collect_dir / name
        if not manifest.is_file():
            continue
        looked.append(name)
        rows = pd.read_parquet(manifest, columns=[column, "path"])
        hit = rows[rows[column] == word_id]
        if not hit.empty:
            return str(hit.path.iloc[0])
    if not looked:
        raise NotFoundError(f"{collect_dir}: no collect manifests; run the collect stage first")
    raise NotFoundError(f"{collect_dir}: no word or background {word_id!r} in {', '.join(looked)}")


def export(out: Path | str, *, clips_dir: Path | str, collect_dir: Path | str, clip_id: str | None = None,
           word_id: str | None = None) -> Path:
    """Write clip ``clip_id`` or word ``word_id`` to ``out`` (a 16-bit WAV at its own rate)."""
    if (clip_id is None) == (word_id is None):
        raise ValueError("export: give exactly one of a clip id or a word id")
    if clip_id is not None:
        return write_ref_wav(clips_dir, find_clip(clips_dir, clip_id), out)
    return write_ref_wav(collect_dir, find_word(collect_dir, word_id), out)
