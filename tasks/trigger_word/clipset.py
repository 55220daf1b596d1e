"""A labelled clip set on disk: ``OUT/clips.parquet`` plus the clips' audio.

The manifest is written shard by shard (one Parquet row group each, in shard order), so
memory stays flat however many clips are made. The audio of a shard of clips is one 16-bit
WAV, ``OUT/<split>/<split>-<first index>.wav``, the clips back to back; a row's ``path`` is
``SHARD#START:STOP`` (:mod:`tasks.audio.shards`; read one with :func:`read_clip`, write one
out with ``python -m flows.trigger_word export``). With ``one_file_per_clip`` (the
``dataset`` command) each clip is its own WAV and ``path`` names it.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from tasks.audio.shards import ShardWriter, read_ref
from tasks.io import read_parquet
from tasks.trigger_word.config import SPLITS, SynthesizeParams
from tasks.trigger_word.synth import (
    Pools,
    Source,
    clip_seed,
    labels_for,
    plan_clip,
    render_clip,
    with_warp,
    write_pcm16_wav,
)

EVENT_TYPE = pa.struct([
    ("kind", pa.string()), ("source", pa.string()), ("start", pa.int64()), ("end", pa.int64()),
    ("gain_db", pa.float32()), ("speed", pa.float32()), ("eq_seed", pa.int64()),
    ("reverb_rt60_s", pa.float32()),
])
CLIPS_SCHEMA = pa.schema([
    ("clip_id", pa.string()), ("split", pa.string()), ("path", pa.string()),
    ("sample_rate", pa.int32()), ("samples", pa.int64()), ("labels", pa.list_(pa.int8())),
    ("events", pa.list_(EVENT_TYPE)), ("n_positives", pa.int16()), ("n_negatives", pa.int16()),
    ("clip_seed", pa.int64()), ("background", pa.string()), ("background_offset", pa.int64()),
    ("background_gain_db", pa.float32()), ("limiter_db", pa.float32()),
])


def pools_from_manifests(root: Path, words: pd.DataFrame, backgrounds: pd.DataFrame) -> Pools:
    """Build the draw pools of one split from its rows of the collect manifests."""
    def sources(frame: pd.DataFrame) -> tuple[Source, ...]:
        return tuple(Source(r.path, int(r.samples), float(r.rms_db)) for r in frame.itertuples())

    return Pools(root, sources(words[words.kind == "positive"]), sources(words[words.kind == "negative"]),
                 sources(backgrounds))


def synthesize_shard(split: str, indices: Sequence[int], pools: Pools, p: SynthesizeParams,
                     sample_rate: int, seed: int, out: Path, one_file_per_clip: bool = False) -> pa.Table:
    """Plan, render and write clips ``indices`` of ``split`` into ``out``; returns their manifest rows.

    The clips go into one shard (see the module's docstring), or one WAV each with ``one_file_per_clip``.

    Event sources are written relative to ``out``; a temporary ``out`` from
    :func:`tasks.io.atomic_dir` is a sibling of the final folder, so they stay valid.
    """
    if not pools.backgrounds:
        raise ValueError(f"split {split!r} has no background recordings")
    rel = Path(os.path.relpath(pools.root.resolve(), out.resolve())).as_posix()
    prefix = "" if rel == "." else f"{rel}/"

    def from_out(source: str) -> str:  # plain strings: pathlib per clip costs more than the clip's maths
        return source if os.path.isabs(source) else prefix + source

    (out / split).mkdir(parents=True, exist_ok=True)
    cache: dict[str, np.ndarray] = {}
    rows = []
    shard = None if one_file_per_clip or not indices else ShardWriter(
        out, f"{split}/{split}-{indices[0]:07d}.wav", sample_rate)
    try:
        _render_into(split, indices, pools, p, sample_rate, seed, out, shard, from_out, cache, rows)
    except BaseException:
        if shard is not None:
            shard.abort()
        raise
    if shard is not None:
        shard.close()
    return _table(rows, p.ty)


def _render_into(split: str, indices: Sequence[int], pools: Pools, p: SynthesizeParams, sample_rate: int,
                 seed: int, out: Path, shard: ShardWriter | None, from_out: Callable[[str], str], cache: dict, rows: list[dict]) -> None:
    for index in indices:
        plan = plan_clip(clip_seed(seed, split, index), pools, p, sample_rate)
        if split == "train":  # speaker variety for training only; dev and test are scored as said
            plan = with_warp(plan, p.augment.warp)
        pcm, limit_db = render_clip(plan, pools.root, p, sample_rate, cache)
        clip_id = f"{split}-{index:07d}"
        if shard is None:
            path = f"{split}/{clip_id}.wav"
            write_pcm16_wav(os.path.join(out, path), pcm, sample_rate)
        else:
            path = shard.add(pcm)
        ends = [e.end for e in plan.events if e.kind == "positive"]
        rows.append({
            "clip_id": clip_id, "split": split, "path": path, "sample_rate": sample_rate,
            "samples": plan.samples, "labels": labels_for(ends, plan.samples, p.ty, p.label_ones),
            "events": [{"kind": e.kind, "source": from_out(e.source), "start": e.start,
                        "end": e.end, "gain_db": e.gain_db, "speed": e.speed, "eq_seed": e.eq_seed,
                        "reverb_rt60_s": e.reverb_rt60_s} for e in plan.events],
            "n_positives": len(ends), "n_negatives": len(plan.events) - len(ends),
            "clip_seed": plan.clip_seed, "background": from_out(plan.background),
            "background_offset": plan.background_offset,
            "background_gain_db": plan.background_gain_db, "limiter_db": limit_db,
        })


def _table(rows: list[dict], ty: int) -> pa.Table:
    labels = np.stack([r.pop("labels") for r in rows]).astype(np.int8) if rows else np.zeros((0, ty), np.int8)
    offsets = pa.array(np.arange(0, labels.size + 1, ty, dtype=np.int32))
    columns = {name: [r[name] for r in rows] for name in CLIPS_SCHEMA.names if name != "labels"}
    arrays = [pa.ListArray.from_arrays(offsets, pa.array(labels.ravel())) if f.name == "labels"
              else pa.array(columns[f.name], type=f.type) for f in CLIPS_SCHEMA]
    return pa.Table.from_arrays(arrays, schema=CLIPS_SCHEMA)


class ManifestWriter:
    """Appends shard tables to one Parquet file, one row group per shard."""

    def __init__(self, path: Path, schema: pa.Schema = CLIPS_SCHEMA):
        self.path = path
        self._writer = pq.ParquetWriter(str(path), schema, compression="zstd")
        self.rows = 0

    def write(self, table: pa.Table) -> None:
        self._writer.write_table(table)
        self.rows += table.num_rows

    def close(self) -> None:
        self._writer.close()

    def __enter__(self) -> ManifestWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def read_clip(clips_dir: Path | str, row: object, cache: dict | None = None) -> np.ndarray:
    """One clip's float32 samples from its manifest row (a dict, pandas row or named tuple with
    a ``path``); pass the same ``cache`` for many clips to map each shard once."""
    path = row["path"] if isinstance(row, dict) else row.path
    return read_ref(clips_dir, path, cache)


def read_clips(out: Path | str) -> pd.DataFrame:
    """Read ``OUT/clips.parquet`` with a clear error when it is missing."""
    path = Path(out) / "clips.parquet"
    if not path.is_file():
        raise FileNotFoundError(f"{path}: clip manifest not found; run synthesis first")
    return pd.read_parquet(path)


def split_pools(collect_dir: Path, split_dir: Path) -> dict[str, Pools]:
    """The words and backgrounds each split may draw from."""
    words = pd.concat([read_parquet(collect_dir / f"{k}.parquet", f"collect manifest of {k}")
                       for k in ("positives", "negatives")], ignore_index=True)
    backgrounds = read_parquet(collect_dir / "backgrounds.parquet", "collect manifest of backgrounds")
    assign = read_parquet(split_dir / "assignments.parquet", "split assignments")
    where = dict(zip(assign.path, assign.split, strict=True))
    return {s: pools_from_manifests(collect_dir, words[words.path.map(where) == s],
                                    backgrounds[backgrounds.path.map(where) == s]) for s in SPLITS}
