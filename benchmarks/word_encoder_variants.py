"""Experiment: word-encoder training variants compared on DEV only, over windows prepared once.

Run: ``python -m benchmarks.word_encoder_variants --cache DIR VARIANT...`` (after ``dvc repro
tw_split``), each VARIANT a comma-separated ``key=value`` list of ``trigger_word.word_encoder``
params (e.g. ``pico_lexicon_voices=2,lexicon_voices=2``) plus ``espeak_lexicon_voices``.

The stage's own functions prepare, once, and cache in DIR: the espeak-ng training takes
(collected, vocabulary, lexicon, as :func:`train_takes` draws them at params.yaml's settings),
SVOX Pico takes of the vocabulary and lexicon words (as many variants per word as the largest
VARIANT asks), each part as strips through the frozen frontend, and the dev check's takes. A
variant trains on a subset of those windows (the first N takes of each word from each part),
then enrols and measures on dev as the stage does (``train_seed_offset=N`` redraws the training
alone). Test is touched only by ``--test VARIANT``: that variant's saved encoder on test at the
lambda its dev run chose, once, for what ships.
"""

from __future__ import annotations

import argparse
import json
import logging
import time
from pathlib import Path

import numpy as np
import torch

from models.word_encoder import WordEncoder, WordEncoderConfig
from tasks.audio import speech_embedding as se
from tasks.config import load_params
from tasks.trigger_word.config import Layout, TriggerWordParams
from tasks.trigger_word.lexicon import lexicon_words
from tasks.trigger_word.word_data import Take, collected_words, pico_takes
from tasks.trigger_word.word_encoder import (
    WindowEmbedder,
    WindowSet,
    train_encoder,
    with_cut_windows,
)
from tasks.trigger_word.word_encoder_config import VOCABULARY, WordEncoderParams
from tasks.trigger_word.word_encoder_stage import (
    eval_takes,
    make_bank,
    pico_plan,
    split_backgrounds,
    train_takes,
    window_set,
)
from tasks.trigger_word.word_eval import curve, enrolments, negative_segments, pick_lambda, report

log = logging.getLogger(__name__)


def _ranks(texts: list[str]) -> np.ndarray:
    seen: dict[str, int] = {}
    out = []
    for t in texts:
        out.append(seen.get(t, 0))
        seen[t] = out[-1] + 1
    return np.asarray(out)


def _save(path: Path, doc: dict) -> None:
    """Arrays and string lists in one .npz (no pickles: strings as fixed-width arrays)."""
    np.savez(path, **{k: np.asarray(v) for k, v in doc.items()})


def _load(path: Path) -> dict:
    with np.load(path, allow_pickle=False) as z:
        return {k: (list(map(str, z[k])) if z[k].dtype.kind == "U" else z[k]) for k in z.files}


def _takes_doc(takes: list, prefix: str) -> dict:
    return {f"{prefix}_wave": np.concatenate([t.wave for t in takes]), f"{prefix}_len": [len(t.wave) for t in takes],
            f"{prefix}_text": [t.text for t in takes], f"{prefix}_group": [t.group for t in takes]}


def _takes(doc: dict, prefix: str) -> list:
    cuts = np.cumsum(doc[f"{prefix}_len"])[:-1]
    return [Take(t, g, w) for t, g, w in zip(doc[f"{prefix}_text"], doc[f"{prefix}_group"],
                                              np.split(doc[f"{prefix}_wave"], cuts), strict=True)]


def _prepare_part(name: str, takes: list, tags: list[str], frontend, bgs, p: WordEncoderParams, seed: int,
                  cache: Path) -> dict:
    path = cache / f"{name}.npz"
    if path.is_file():
        return _load(path)
    t0 = time.perf_counter()
    ws = window_set(frontend, takes, bgs, {}, p.train_word_to_background_db, p, seed)
    order = np.random.default_rng([seed, 23, len(takes)]).permutation(len(takes))  # as window_set draws it
    texts = [takes[i].text for i in order]
    part_tags = [tags[i] for i in order]
    ranks = _ranks([f"{g}|{t.text}" for g, t in zip(tags, takes, strict=True)])[order]  # rank within its word
    doc = {"steps": ws.steps, "ends": ws.ends, "texts": texts, "tags": part_tags, "ranks": ranks}
    _save(path, doc)
    log.info("%s: %d takes through the frontend in %.0f s", name, len(takes), time.perf_counter() - t0)
    return doc


def prepare(layout: Layout, p: WordEncoderParams, grid: list[tuple[int, int]], seed: int, max_pico: int,
            cache: Path) -> tuple[dict, dict, dict, dict]:
    cache.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(p.threads)
    words = collected_words(layout.collect, layout.split)
    frontend = se.SpeechEmbedding(threads=p.threads)
    bgs = {s: split_backgrounds(layout.collect, layout.split, s) for s in ("train", "dev")}
    held = {w.lower() for w in (*p.held_out_words, *p.dev_words, *p.test_words)}
    espeak, pico = None, None
    if not (cache / "espeak.npz").is_file():
        ep = p.model_copy(update={"pico_lexicon_voices": 0, "pico_vocabulary_voices": 0})
        t0 = time.perf_counter()
        takes = train_takes(words, ep, grid, seed)
        log.info("espeak-ng: %d takes read and synthesised in %.0f s", len(takes), time.perf_counter() - t0)
        n_lex = len(lexicon_words(p.lexicon_words, held)) * p.lexicon_voices if p.lexicon_words else 0
        n_col = len(takes) - n_lex - p.vocabulary * p.vocabulary_voices  # train_takes' order: collected first
        tags = ["collected"] * n_col + ["vocabulary"] * (len(takes) - n_col - n_lex) + ["lexicon"] * n_lex
        espeak = _prepare_part("espeak", takes, tags, frontend, bgs["train"], p, seed, cache)
    espeak = espeak or _load(cache / "espeak.npz")
    if not (cache / "pico.npz").is_file():
        pp = p.model_copy(update={"pico_lexicon_voices": max_pico, "pico_vocabulary_voices": max_pico})
        plan = pico_plan(pp, held, seed)
        vocab = set(VOCABULARY[:p.vocabulary])
        tags = ["pico-vocabulary" if w in vocab else "pico-lexicon" for w, *_ in plan]
        t0 = time.perf_counter()
        ptakes = pico_takes(plan)
        log.info("pico: %d takes synthesised in %.0f s", len(ptakes), time.perf_counter() - t0)
        pico = _prepare_part("pico", ptakes, tags, frontend, bgs["train"], p, seed + 5, cache)
    pico = pico or _load(cache / "pico.npz")
    dev_path = cache / "dev.npz"
    if dev_path.is_file():
        d = _load(dev_path)
        dev = {"pos": _takes(d, "pos"), "neg": _takes(d, "neg"),
               "set": WindowSet(d["set_steps"], d["set_ends"], d["set_labels"])}
    else:
        pos, neg = eval_takes(words, "dev", p, grid, seed)
        ds = window_set(frontend, [t for t in pos + neg if t.text], bgs["dev"], {}, p.word_to_background_db, p,
                        seed + 1)
        dev = {"pos": pos, "neg": neg, "set": ds}
        _save(dev_path, _takes_doc(pos, "pos") | _takes_doc(neg, "neg")
              | {"set_steps": ds.steps, "set_ends": ds.ends, "set_labels": ds.labels})
    return espeak, pico, dev, bgs


def subset(espeak: dict, pico: dict, v: dict) -> WindowSet:
    """The windows a variant trains on: per part, takes whose rank within their word is below its limit."""
    limits = {"collected": 10**9, "vocabulary": 10**9, "lexicon": v.get("espeak_lexicon_voices", 10**9),
              "pico-vocabulary": v.get("pico_vocabulary_voices", 0), "pico-lexicon": v.get("pico_lexicon_voices", 0)}
    labels: dict[str, int] = {}
    steps, ends, labs, offset = [], [], [], 0
    for part in (espeak, pico):
        keep = np.asarray([r < limits[t] for r, t in zip(part["ranks"], part["tags"], strict=True)])
        steps.append(part["steps"])
        ends.append(part["ends"][keep] + offset)
        labs += [labels.setdefault(t, len(labels)) for t, k in zip(part["texts"], keep, strict=True) if k]
        offset += len(part["steps"])
    return WindowSet(np.concatenate(steps), np.concatenate(ends), np.asarray(labs, np.int64))


def _slug(spec: str) -> str:
    return spec.replace("=", "").replace(",", "-") or "baseline"


def _variant(spec: str, base_p: WordEncoderParams) -> tuple[dict, WordEncoderParams]:
    v = {k: float(x) if "." in x else int(x) for k, x in (kv.split("=") for kv in spec.split(",") if kv)}
    return v, base_p.model_copy(update={k: x for k, x in v.items() if k in WordEncoderParams.model_fields})


def test_once(spec: str, base_p: WordEncoderParams, layout: Layout, grid: list[tuple[int, int]], seed: int,
              cache: Path) -> dict:
    """The saved encoder of ``spec`` on test at the lambda its dev run chose: the one look at test."""
    _, p = _variant(spec, base_p)
    results = [json.loads(line) for line in (cache / "results.jsonl").read_text().splitlines()]
    lam = [r for r in results if r["variant"] == spec][-1]["lambda"]
    model = WordEncoder(WordEncoderConfig(se.DIM, p.window_steps, p.hidden, p.dim, p.dropout))
    model.load_state_dict(torch.load(cache / f"model-{_slug(spec)}.pt", weights_only=True))
    bank = np.load(cache / f"bank-{_slug(spec)}.npy", allow_pickle=False)
    embedder = WindowEmbedder(model.eval(), p.threads)
    words = collected_words(layout.collect, layout.split)
    bgs = split_backgrounds(layout.collect, layout.split, "test")
    pos, neg = eval_takes(words, "test", p, grid, seed)
    enrols = enrolments(pos, embedder, bank, bgs, p, seed)
    segs, hours = negative_segments(neg, embedder, bgs, p, seed)
    return {"variant": spec, "lambda": lam} | report(enrols, segs, hours, embedder, lam, p, "test")


def run_variant(spec: str, base_p: WordEncoderParams, espeak: dict, pico: dict, dev: dict, bgs: dict,
                seed: int, cache: Path) -> dict:
    v, p = _variant(spec, base_p)
    train = subset(espeak, pico, v)
    tseed = seed + int(v.get("train_seed_offset", 0))  # another draw of the training alone (same windows, check)
    t0 = time.perf_counter()
    model, history = train_encoder(with_cut_windows(train, p.cut_fraction, p.cut_steps, tseed), dev["set"], p, tseed)
    log.info("%s: %d windows trained in %.0f s", spec, len(train.labels), time.perf_counter() - t0)
    bank = make_bank(model, train, p, seed)
    torch.save(model.state_dict(), cache / f"model-{_slug(spec)}.pt")
    np.save(cache / f"bank-{_slug(spec)}.npy", bank)
    embedder = WindowEmbedder(model, p.threads)
    enrols = enrolments(dev["pos"], embedder, bank, bgs["dev"], p, seed)
    segs, hours = negative_segments(dev["neg"], embedder, bgs["dev"], p, seed)
    points = curve(enrols, segs, hours, embedder, p)
    lam = pick_lambda(points, p.target_fa_per_hour)
    out = {"variant": spec, "train_takes": len(train.labels), "best_epoch": int(np.argmin([h["dev_loss"]
           for h in history]) + 1), "best_dev_loss": min(h["dev_loss"] for h in history), "lambda": lam}
    out |= report(enrols, segs, hours, embedder, lam, p, "dev")
    for target in (0.5, 1.0, 2.0, 5.0):
        ok = [q for q in points if q["false_accepts_per_hour"] <= target]
        best = min(ok, key=lambda q: (q["missed_rate"], q["false_accepts_per_hour"])) if ok else None
        out[f"dev_best_missed_at_{target}"] = [best["missed_rate"], best["false_accepts_per_hour"]] if best else None
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--params", default="params.yaml")
    ap.add_argument("--cache", type=Path, required=True)
    ap.add_argument("--max-pico", type=int, default=4)
    ap.add_argument("--test", action="store_true", help="the one look at test, for the one variant given")
    ap.add_argument("variants", nargs="+")
    args = ap.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    base, params = load_params(args.params, "trigger_word", TriggerWordParams)
    grid = [(r, q) for r in params.collect.tts.rates for q in params.collect.tts.pitches]
    p = params.word_encoder
    if args.test:
        (spec,) = args.variants
        result = test_once(spec, p, Layout(base.data_dir), grid, base.seed, args.cache)
        (args.cache / f"test-{_slug(spec)}.json").write_text(json.dumps(result, indent=1))
        log.info("%s", json.dumps({k: result[k] for k in result if not k.endswith("ci95")}))
        return
    espeak, pico, dev, bgs = prepare(Layout(base.data_dir), p, grid, base.seed, args.max_pico, args.cache)
    for spec in args.variants:
        result = run_variant(spec, p, espeak, pico, dev, bgs, base.seed, args.cache)
        with open(args.cache / "results.jsonl", "a") as f:
            f.write(json.dumps(result) + "\n")
        log.info("%s", json.dumps({k: result[k] for k in result if not k.endswith("ci95")}))


if __name__ == "__main__":
    main()
