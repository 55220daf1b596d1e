"""Scaling points between the demo and the full scale, with the demo's dev part kept as it is.

``prepare NAME`` makes ``runs/scale/NAME/``: a params copy (``params.yaml``: ``base.data_dir``
pointing at the folder, one worker and one thread per job, any ``--set`` overrides) and a collect
folder that is the demo's (hard links, nothing re-rendered) plus, optionally, more espeak-ng
material for the **train split only**:

- ``--extra-voices N``: N voices of the accent x variant grid that the demo did not draw, each
  said as collect says every voice (``collect.tts``: every rate x pitch, its negative takes);
- ``--extra-rates`` / ``--extra-pitches``: the demo's train voices say the positive word at more
  rate x pitch combinations (those of the two lists not already in the demo's grid).

A new voice's rows are ``train_only`` (like SVOX Pico's made speakers) and a train voice's new
takes keep its group, so the split stage puts each demo voice and background where the demo's
split put it: the dev and test parts, their clips and the cross-engine check are the demo's
(``--render-only`` renders the additions before the demo's data exists; ``prepare`` again links
it in). Then run the stages on the copy and score it (dev only)::

    python -m benchmarks.trigger_word_scale prepare b --from data --extra-voices 240 \\
        --set trigger_word.synthesize.clips='{train: 6000, dev: 300, test: 0}'
    for s in split synthesize features train; do
        python -m flows.trigger_word $s --params runs/scale/b/params.yaml; done
    python -m benchmarks.trigger_word_head_sweep --params runs/scale/b/params.yaml --out runs/scale/b/sweep \\
        --checkpoint runs/scale/b/data/trigger_word/train/checkpoint
"""

from __future__ import annotations

import argparse
import itertools
import json
import logging
import os
import time
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from benchmarks.trigger_word_head_sweep import with_sets
from tasks.audio.tts import Utterance, Voice
from tasks.config import BaseParams, read_yaml, validate_section
from tasks.io import read_parquet, write_json, write_parquet
from tasks.trigger_word import collect as C
from tasks.trigger_word.config import CollectParams, Layout, TriggerWordParams

log = logging.getLogger("scale")


def new_voice_items(params: CollectParams, seed: int, taken: set[str], count: int) -> list[C.TTSItem]:
    """Items of ``count`` grid voices whose group is not in ``taken``, drawn by seed, each said as
    :func:`tasks.trigger_word.collect.tts_plan` says every voice."""
    every = C.tts_plan(params.model_copy(update={"tts": params.tts.model_copy(update={"voices": 0})}), seed)
    by_voice: dict[str, list[C.TTSItem]] = {}
    for item in itertools.chain.from_iterable(every):
        by_voice.setdefault(item.utterance.voice.group, []).append(item)
    free = sorted(set(by_voice) - taken)
    if count > len(free):
        raise SystemExit(f"--extra-voices {count}: only {len(free)} voices of the grid are not drawn already")
    picked = sorted(np.random.default_rng([seed, 14]).choice(len(free), count, replace=False))
    return [item for i in picked for item in by_voice[free[i]]]


def more_take_items(word: str, voices: list[Voice], rates: list[int], pitches: list[int],
                    have: set[tuple[int, int]]) -> list[C.TTSItem]:
    """The positive word said by each of ``voices`` at every rate x pitch not in ``have``."""
    combos = [(r, p) for r, p in itertools.product(rates, pitches) if (r, p) not in have]
    return [C.TTSItem("positive", Utterance(word, v, r, p)) for v in voices for r, p in combos]


def linked_copy(src: Path, dst: Path) -> None:
    """``dst`` as a tree of hard links to ``src``'s files (read only: nothing here rewrites them)."""
    for path in sorted(src.rglob("*")):
        target = dst / path.relative_to(src)
        if path.is_dir():
            target.mkdir(parents=True, exist_ok=True)
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            os.link(path, target)


def render_items(collect: Path, items: list[C.TTSItem], params: CollectParams, shard_voices: int) -> tuple[
        pd.DataFrame, dict]:
    """Render ``items`` into ``collect`` (new shards only) as manifest rows, and a summary."""
    t0 = time.perf_counter()
    rows, bad = [], []
    by_voice = [list(g) for _, g in itertools.groupby(items, key=lambda it: it.utterance.voice.group)]
    for i in range(0, len(by_voice), shard_voices):
        shard = list(itertools.chain.from_iterable(by_voice[i:i + shard_voices]))
        r, b = C.render_tts_shard(shard, collect, params.sample_rate, params.checks)
        rows += r
        bad += b
    summary = {"takes": len(items), "kept": len(rows), "quarantined": len(bad), "voices": len(by_voice),
               "render_seconds": round(time.perf_counter() - t0, 1)}
    return pd.DataFrame(rows), summary


def extend_manifests(collect: Path, added: pd.DataFrame) -> None:
    """Append ``added`` to ``collect``'s word manifests (hard links to the source's: replaced, never written)."""
    counts = json.loads((collect / "summary.json").read_text())
    for name, kind in (("positives", "positive"), ("negatives", "negative")):
        old = read_parquet(collect / f"{name}.parquet", f"collect manifest of {name}")
        new = pd.concat([old, added[added.kind == kind]], ignore_index=True)
        (collect / f"{name}.parquet").unlink()
        write_parquet(collect / f"{name}.parquet", new.sort_values("word_id", kind="stable").reset_index(drop=True))
        counts[name] = len(new)
    (collect / "summary.json").unlink()
    write_json(collect / "summary.json", counts | {"added_train_only": len(added)})


def plan_items(tw: TriggerWordParams, seed: int, train_groups: set[str], extra_voices: int, rates: list[int],
               pitches: list[int]) -> list[C.TTSItem]:
    """What a point adds: new voices, and more positive takes of the demo's train voices."""
    t = tw.collect.tts
    demo = C.choose_voices(t.accents, t.variants, t.voices, seed)
    items = new_voice_items(tw.collect, seed, {v.group for v in demo}, extra_voices) if extra_voices else []
    if rates or pitches:
        items += more_take_items(tw.collect.positive_word, [v for v in demo if v.group in train_groups],
                                 rates or list(t.rates), pitches or list(t.pitches),
                                 set(itertools.product(t.rates, t.pitches)))
    return items


def prepare(name: str, source: Path, params_file: Path, extra_voices: int, rates: list[int], pitches: list[int],
            sets: list[str], root: Path, render_only: bool = False) -> Path:
    """Make (or finish) ``root/NAME``: render what the point adds, then link the demo's collect in."""
    out = root / name
    raw = read_yaml(params_file)
    base = validate_section(raw, "base", BaseParams, params_file)
    tw = validate_section(raw, "trigger_word", TriggerWordParams, params_file)
    src, mine = Layout(source), Layout(out / "data")
    added_file = out / "added.parquet"
    if not (out / "params.yaml").is_file():
        mine.collect.mkdir(parents=True)
        raw = with_sets(raw, ["base.workers=1", "trigger_word.train.threads=1", "trigger_word.evaluate.threads=1",
                              f"base.data_dir={out / 'data'}", *sets])
        validate_section(raw, "trigger_word", TriggerWordParams, params_file)
        (out / "params.yaml").write_text(yaml.safe_dump(raw, sort_keys=False, width=100))
    if not added_file.is_file():
        train_groups = set()
        if rates or pitches:
            split = read_parquet(src.split / "assignments.parquet", "split assignments")
            train_groups = set(split[(split.split == "train") & (split.kind == "positive")].group)
        items = plan_items(tw, base.seed, train_groups, extra_voices, rates, pitches)
        added, summary = render_items(mine.collect, items, tw.collect, tw.collect.tts.voices_per_shard)
        if len(added):  # a new voice is train-only; a demo train voice's new takes stay in its group's split
            t = tw.collect.tts
            demo = {v.group for v in C.choose_voices(t.accents, t.variants, t.voices, base.seed)}
            added = added.assign(train_only=~added.group.isin(demo))
        write_parquet(added_file, added)
        write_json(out / "prepare.json", {"source": str(source), "extra_voices": extra_voices, "rates": rates,
                                          "pitches": pitches, "sets": sets, **summary})
        log.info("%s: %s", name, summary)
    if render_only:
        return out
    linked_copy(src.collect, mine.collect)
    added = read_parquet(added_file, "rows added")
    if len(added):
        extend_manifests(mine.collect, added)
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("prepare", help="a params copy and a collect folder for one scaling point")
    p.add_argument("name")
    p.add_argument("--from", dest="source", type=Path, default=Path("data"), help="the demo's data_dir")
    p.add_argument("--params", type=Path, default=Path("params.yaml"))
    p.add_argument("--root", type=Path, default=Path("runs/scale"))
    p.add_argument("--extra-voices", type=int, default=0)
    p.add_argument("--extra-rates", type=int, nargs="*", default=[])
    p.add_argument("--extra-pitches", type=int, nargs="*", default=[])
    p.add_argument("--set", dest="sets", action="append", default=[], help="dotted.key=YAML value")
    p.add_argument("--render-only", action="store_true", help="render what the point adds; link the demo's later")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    out = prepare(args.name, args.source, args.params, args.extra_voices, args.extra_rates, args.extra_pitches,
                  args.sets, args.root, args.render_only)
    print(out)


if __name__ == "__main__":
    main()
