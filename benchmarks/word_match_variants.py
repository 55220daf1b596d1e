"""Experiment: query-by-example matching (subsequence DTW on the frontend's steps), alone and fused
with the word encoder, against the encoder alone, on the word encoder's DEV check only.

Run: ``python -m benchmarks.word_match_variants --cache DIR`` (after ``dvc checkout``: the
shipped encoder folder and the collected words). It prepares once, with the stage's own
functions and draws (:func:`eval_takes`, the enrolment and negative draws of
:mod:`tasks.trigger_word.word_eval`), the dev check's enrolled takes, positive clips and negative
segments as frontend steps and encoder vectors, and a step bank (strips of train-split words
over train backgrounds, :func:`bank_takes`); then scores every variant on the same audio:
threshold by the rule ``tau = imp + lambda (self - imp)`` on that scorer's own scale, with
``imp`` the ``bank_quantile`` of its scores over the step bank and ``self`` the takes' mean
leave-one-out score, lambda chosen on dev. Test is never touched here.

Variants are JSON objects with :class:`Scoring`'s fields (``kind``, ``weight``, ``extra``,
``centre``, ``top``, ``norm``, ``speeds``, ``noise_db``, ``noise_alpha``, ``cost``, ``running``,
``pitch``, ``pitch_formants``, ``warps``, ``stretches``); those sharing their templates
(:data:`TEMPLATE_KEYS`) are scored by one DTW per detector and stream (:func:`run_family`). Each
result line (``match_results.jsonl`` in the cache) has the dev curve, the chosen lambda's figures
per engine and by word level, the best points at 0.5-5 FA/h and the missed positives at the
chosen lambda and at the best point at <= 1 FA/h (for paired comparisons). ``--negative-folds K``
also chooses each variant's lambda on each of K interleaved parts of the negatives alone and
counts the false accepts on the rest (``negative_folds``: how far a lambda picked on fewer
negatives holds). ``--time-minutes M`` times ``detect``'s streaming of M
minutes per variant instead.
"""

from __future__ import annotations

import argparse
import json
import logging
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from tasks.config import load_params
from tasks.trigger_word.config import Layout, TriggerWordParams
from tasks.trigger_word.enrol import enrolled_takes, in_context, take_vectors, threshold_parts
from tasks.trigger_word.lexicon import lexicon_words
from tasks.trigger_word.word_data import (
    RATE,
    Take,
    background_slice,
    collected_words,
    mix_word,
    pico_takes,
    read_take,
    strip_steps,
    windows,
)
from tasks.trigger_word.word_encoder import WindowEmbedder, embed_windows, load_encoder
from tasks.trigger_word.word_encoder_config import WordEncoderParams
from tasks.trigger_word.word_encoder_stage import eval_takes, split_backgrounds
from tasks.trigger_word.word_eval import (
    CLIP_S,
    END_S,
    LAMBDAS,
    detector_counts,
    negative_steps,
    pick_lambda,
)
from tasks.trigger_word.word_match import (
    EnrolledTakes,
    Scoring,
    bank_centre,
    combined,
    self_near_end,
    self_score,
    stream_scores,
    stream_unit,
    template_norms,
    template_scores,
    template_span,
)
from tasks.trigger_word.word_match import scoring_of as stored_scoring

log = logging.getLogger(__name__)
# A variant's keys that make its templates (variants equal on all of them share one DTW).
TEMPLATE_KEYS = ("extra", "centre", "speeds", "noise_db", "noise_alpha", "cost", "running", "pitch",
                 "pitch_formants", "warps", "stretches")


@dataclass
class Prepared:
    """One detector of the dev check: its enrolled takes and its positive clips as frontend steps."""

    word: str
    engine: str
    takes: EnrolledTakes
    clip_steps: list[np.ndarray]  # per positive clip: (T, 96)
    ends: list[float]
    waves: list[np.ndarray]  # the enrolled takes (16 kHz, trimmed)
    snr: list[float]  # per positive clip: the word's level above the background (dB)


def bank_takes(words, p: WordEncoderParams, seed: int, n_collected: int = 400, n_pico: int = 400) -> list[Take]:
    """Train-split words for the step bank: collected takes and SVOX Pico lexicon words (cheap to make)."""
    rng = np.random.default_rng([seed, 31])
    held = {w.lower() for w in (*p.held_out_words, *p.dev_words, *p.test_words)}
    train = words[(words.split == "train") & ~words.text.isin(held) & (words.text != "")]
    rows = [train.iloc[int(i)] for i in sorted(rng.choice(len(train), min(n_collected, len(train)), replace=False))]
    takes = [read_take(r.path, r.text, r.group, r.sample_rate) for r in rows]
    lex = lexicon_words(p.lexicon_words or 2000, held)
    pick = sorted(rng.choice(len(lex), min(n_pico, len(lex)), replace=False))
    plan = [(lex[i], ("en-US", "en-GB")[k % 2], int(rng.integers(60, 161)), int(rng.integers(70, 151)))
            for k, i in enumerate(pick)]
    return takes + pico_takes(plan)


def prepare(layout: Layout, p: WordEncoderParams, grid, seed: int, cache: Path, encoder_dir: Path) -> dict:
    path = cache / f"match_dev-{p.negative_minutes:g}min-v2.npz"
    model, doc, bank = load_encoder(encoder_dir)
    embedder = WindowEmbedder(model, p.threads)
    if path.is_file():
        with np.load(path, allow_pickle=False) as z:
            return {"doc": doc, "bank": bank, "embedder": embedder, **{k: z[k] for k in z.files}}
    t0 = time.perf_counter()
    words = collected_words(layout.collect, layout.split)
    bgs = split_backgrounds(layout.collect, layout.split, "dev")
    pos, neg = eval_takes(words, "dev", p, grid, seed)
    log.info("dev takes: %d positives, %d negatives (%.0f s)", len(pos), len(neg), time.perf_counter() - t0)
    frontend = embedder.frontend
    out: dict = {}
    # Enrolments: the same draws as word_eval.enrolments.
    by_key: dict[tuple[str, str], list[Take]] = {}
    for t in pos:
        by_key.setdefault((t.group, t.text), []).append(t)
    rng = np.random.default_rng([seed, 11])
    det, clips, clip_det, clip_end, enr, enr_det, enr_span, waves, snrs = [], [], [], [], [], [], [], [], []
    for (group, word), ts in sorted(by_key.items()):
        if len(ts) <= p.enrol_takes:
            continue
        d = len(det)
        det.append(f"{group.split(':')[0]}|{word}")
        order = rng.permutation(len(ts))
        waves.append([ts[i].wave for i in order[:p.enrol_takes]])
        for i in order[:p.enrol_takes]:
            x, end = in_context(ts[i].wave)
            enr.append(frontend(x).T)
            enr_det.append(d)
            enr_span.append(template_span(end - len(ts[i].wave), end))
        for i in order[p.enrol_takes:]:
            level = float(rng.uniform(*p.background_db))
            x = background_slice(bgs, int(CLIP_S * RATE), rng, level)
            end = float(rng.uniform(*END_S))
            snrs.append(float(rng.uniform(*p.word_to_background_db)))
            mix_word(x, ts[i].wave, int(end * RATE) - len(ts[i].wave), snrs[-1], level)
            clips.append(frontend(np.clip(x, -1, 1)).T)
            clip_det.append(d)
            clip_end.append(end)
    vecs = np.concatenate([take_vectors(embedder, w, p.jitter_steps) for w in waves])
    segs, hours = negative_steps(neg, embedder, bgs, p, seed)
    log.info("dev check through the frontend (%.0f s)", time.perf_counter() - t0)
    tbgs = split_backgrounds(layout.collect, layout.split, "train")
    btakes = bank_takes(words, p, seed)
    bank_steps, _ = strip_steps(frontend, btakes, tbgs, np.random.default_rng([seed, 32]), p.word_to_background_db,
                                p.background_db)
    log.info("step bank: %d takes, %d steps (%.0f s)", len(btakes), len(bank_steps), time.perf_counter() - t0)

    def flat(name: str, arrays: list[np.ndarray]) -> None:
        out[f"{name}_steps"] = np.concatenate(arrays)
        out[f"{name}_len"] = np.asarray([len(a) for a in arrays])

    flat("enrol", enr)
    flat("clip", clips)
    flat("seg", segs)
    flat("wave", [w for ws in waves for w in ws])
    out |= {"det": np.asarray(det), "enrol_det": np.asarray(enr_det), "enrol_span": np.asarray(enr_span),
            "enrol_vectors": vecs, "clip_det": np.asarray(clip_det), "clip_end": np.asarray(clip_end),
            "clip_snr": np.asarray(snrs),
            "hours": np.asarray(hours), "bank_steps": bank_steps.astype(np.float32)}
    np.savez(path, **out)
    return {"doc": doc, "bank": bank, "embedder": embedder, **out}


def _split(z: dict, name: str) -> list[np.ndarray]:
    return np.split(z[f"{name}_steps"], np.cumsum(z[f"{name}_len"])[:-1])


def encoder_vectors(model, steps: np.ndarray) -> np.ndarray:
    w = model.config.window
    if len(steps) < w:
        return np.zeros((0, model.config.dim), np.float32)
    idx = np.arange(w - 1, len(steps))
    return embed_windows(model, windows(steps, idx, w, np.zeros(len(idx), np.int64)))


def detectors(z: dict) -> list[Prepared]:
    enrol, clips, waves = _split(z, "enrol"), _split(z, "clip"), _split(z, "wave")
    out = []
    for d, name in enumerate(z["det"]):
        engine, word = str(name).split("|")
        ix = np.flatnonzero(z["enrol_det"] == d)
        cx = np.flatnonzero(z["clip_det"] == d)
        takes = EnrolledTakes(z["enrol_vectors"][ix], [enrol[i] for i in ix],
                              [(int(z["enrol_span"][i][0]), int(z["enrol_span"][i][1])) for i in ix])
        out.append(Prepared(word, engine, takes, [clips[i] for i in cx], [float(z["clip_end"][i]) for i in cx],
                            [waves[i] for i in ix], [float(z["clip_snr"][i]) for i in cx]))
    return out


def scoring_of(v: dict) -> Scoring:
    """A variant's scoring (``centre`` for :class:`Scoring`'s ``centred``)."""
    return stored_scoring(v | {"centred": v.get("centre", True)})


@dataclass
class PerTemplate:
    """One detector's templates scored once on every stream of the check (each template apart), so
    that scorers differing only in how templates combine (top, norm, weight) reuse the DTW."""

    takes: EnrolledTakes
    pos: list[np.ndarray]  # per clip: (K, T)
    neg: list[np.ndarray]  # per segment: (K, T)
    bank: np.ndarray  # (K, T_bank)
    own: list[np.ndarray]  # per enrolled take: (K, T) on its own context


def per_template(sc: Scoring, e: Prepared, seg_steps: list[np.ndarray], bank_steps: np.ndarray, centre, embedder,
                 jitter: int) -> PerTemplate:
    copies = sc.speeds or sc.noise_db or sc.pitch or sc.warps or sc.stretches
    takes = enrolled_takes(embedder, e.waves, jitter, sc) if copies else e.takes
    c = centre if sc.centred else None
    tps = takes.templates(sc, c)

    def sc_of(s: np.ndarray) -> np.ndarray:
        return template_scores(tps, stream_unit(s, c, sc.running), sc.cost)

    return PerTemplate(takes, [sc_of(s) for s in e.clip_steps], [sc_of(s) for s in seg_steps], sc_of(bank_steps),
                       [sc_of(takes.contexts[k]) for k in range(len(takes.vectors))])


def combined_row(sc: Scoring, pt: PerTemplate, e: Prepared, clip_vecs, seg_vecs, bank_vecs, p: WordEncoderParams,
                 window: int, embedder) -> dict:
    """The detector's scores and rule parts under ``sc``, from its per-template scores: the same
    functions as enrol-word and the stage (:func:`combined`, :func:`self_near_end`)."""
    norms = template_norms(pt.bank) if sc.norm else None
    mean = pt.takes.mean()

    def enc(vecs: np.ndarray, m: np.ndarray = mean) -> np.ndarray:
        return ((1.0 + vecs @ m) / 2).astype(np.float32)

    pos = [combined(sc, x, enc(v), window, norms) for x, v in zip(pt.pos, clip_vecs, strict=True)]
    neg = [combined(sc, x, enc(v), window, norms) for x, v in zip(pt.neg, seg_vecs, strict=True)]
    imp_s = float(np.quantile(combined(sc, pt.bank, enc(bank_vecs), window, norms), p.bank_quantile))
    own = []
    for k, x in enumerate(pt.own):
        keep = pt.takes.kept(k)
        ctx = pt.takes.contexts[k]
        s = combined(sc, x[keep], enc(encoder_vectors(embedder.model, ctx), pt.takes.mean(k)), window,
                     norms[keep] if norms is not None else None)
        own.append(self_near_end(s, pt.takes.spans[k][1], window))
    return {"word": e.word, "engine": e.engine, "pos": pos, "neg": neg, "ends": e.ends, "snr": e.snr,
            "self": float(np.mean(own)), "imp": imp_s, "positives": len(e.ends)}


def run_family(vs: list[dict], dets: list[Prepared], clip_vecs, seg_steps, seg_vecs, bank_stream, z: dict,
               p: WordEncoderParams, centre, embedder, folds: int = 1) -> list[dict]:
    """Variants sharing their templates (kind match/fused; same extra, centring, speeds, noise):
    the DTW once per detector, then each variant's combination."""
    window = embedder.model.config.window
    t0 = time.perf_counter()
    base = scoring_of(vs[0])
    rows: list[list[dict]] = [[] for _ in vs]
    for di, e in enumerate(dets):
        pt = per_template(base, e, seg_steps, bank_stream[0], centre, embedder, p.jitter_steps)
        for vi, v in enumerate(vs):
            rows[vi].append(combined_row(scoring_of(v), pt, e, clip_vecs[di], seg_vecs, bank_stream[1], p, window,
                                         embedder))
    dtw_s = time.perf_counter() - t0
    return [figures(v, r, z, p, embedder, dtw_s, folds) for v, r in zip(vs, rows, strict=True)]


def run_variant(v: dict, dets: list[Prepared], clip_vecs: list[list[np.ndarray]], seg_streams, bank_stream, z: dict,
                p: WordEncoderParams, centre, embedder, folds: int = 1) -> dict:
    window = embedder.model.config.window
    t0 = time.perf_counter()
    rows = []
    sc = scoring_of(v)
    c = centre if sc.centred else None
    for di, e in enumerate(dets):
        pos = [stream_scores(sc, e.takes, st, vc, c, window) for st, vc in zip(e.clip_steps, clip_vecs[di],
                                                                                strict=True)]
        neg = [stream_scores(sc, e.takes, st, vc, c, window) for st, vc in seg_streams]
        if sc.kind == "encoder" and v.get("rule") == "vectors":  # the shipped rule, on the vector bank
            self_cos, imp_cos = threshold_parts(e.takes.vectors, z["bank"], p.bank_quantile)
            self_s, imp_s = (1 + self_cos) / 2, (1 + imp_cos) / 2
        else:
            imp_s = float(np.quantile(stream_scores(sc, e.takes, *bank_stream, c, window), p.bank_quantile))
            self_s = self_score(sc, e.takes, lambda st: encoder_vectors(embedder.model, st), c, window)
        rows.append({"word": e.word, "engine": e.engine, "pos": pos, "neg": neg, "ends": e.ends, "snr": e.snr,
                     "self": self_s, "imp": imp_s, "positives": len(e.ends)})
    return figures(v, rows, z, p, embedder, time.perf_counter() - t0, folds)


def row_threshold(r: dict, lam: float) -> float:
    """A detector row's threshold at ``lam``: the rule on its scorer's own 0-1 scale."""
    return float(np.clip(r["imp"] + lam * (r["self"] - r["imp"]), 0, 1))


def figures(v: dict, rows: list[dict], z: dict, p: WordEncoderParams, embedder, score_s: float,
            folds: int = 1) -> dict:
    """The dev curve over lambda, the chosen lambda's figures (all, per engine, by word level) and
    the best points at a few false-accept rates."""
    hours = float(z["hours"])
    points = []
    for lam in LAMBDAS:
        mis = fas = 0
        for r in rows:
            thr = row_threshold(r, lam)
            m, f = detector_counts(thr, r["pos"], r["ends"], r["neg"], embedder.clock, p)
            mis, fas = mis + m, fas + f
        n = sum(r["positives"] for r in rows)
        points.append({"lambda": lam, "missed_rate": round(mis / n, 6), "false_accepts_per_hour":
                       round(fas / (hours * len(rows)), 6), "misses": mis, "false_accepts": fas})
    lam = pick_lambda(points, p.target_fa_per_hour)
    at = next(q for q in points if q["lambda"] == lam)
    out = {"variant": v, "lambda": lam, "dev_missed_rate": at["missed_rate"],
           "dev_false_accepts_per_hour": at["false_accepts_per_hour"], "dev_misses": at["misses"],
           "dev_false_accepts": at["false_accepts"], "positives": sum(r["positives"] for r in rows),
           "detectors": len(rows), "score_seconds": round(score_s, 1)}
    thr_at = {id(r): row_threshold(r, lam) for r in rows}
    for engine in sorted({r["engine"] for r in rows}):
        mine = [r for r in rows if r["engine"] == engine]
        mf = [detector_counts(thr_at[id(r)], r["pos"], r["ends"], r["neg"], embedder.clock, p) for r in mine]
        out[f"dev_{engine}"] = {"detectors": len(mine), "misses": sum(m for m, _ in mf),
                                "positives": sum(r["positives"] for r in mine), "false_accepts": sum(f for _, f in mf)}
    by_level = {}  # misses at the chosen lambda by the word's level above the background
    for lo in (0, 5, 10):
        k = n = 0
        for r in rows:
            for sc, end, snr in zip(r["pos"], r["ends"], r["snr"], strict=True):
                if lo <= snr < lo + 5:
                    k += detector_counts(thr_at[id(r)], [sc], [end], [], embedder.clock, p)[0]
                    n += 1
        by_level[f"{lo}-{lo + 5}dB"] = [k, n]
    out["dev_misses_by_level"] = by_level
    out["dev_missed"] = [[di, ci] for di, r in enumerate(rows) for ci, (sc, end) in enumerate(zip(r["pos"], r["ends"],
                                                                                                 strict=True))
                         if detector_counts(thr_at[id(r)], [sc], [end], [], embedder.clock, p)[0]]
    out["dev_per_detector"] = [[r["engine"], r["word"], *detector_counts(thr_at[id(r)], r["pos"], r["ends"], r["neg"],
                                                                      embedder.clock, p), r["positives"]]
                               for r in rows]
    out["negative_hours_per_detector"] = round(hours, 4)
    for target in (0.5, 1.0, 2.0, 5.0):
        ok = [q for q in points if q["false_accepts_per_hour"] <= target]
        best = min(ok, key=lambda q: (q["missed_rate"], q["false_accepts_per_hour"])) if ok else None
        out[f"best_at_{target}"] = [best["missed_rate"], best["false_accepts_per_hour"]] if best else None
        if target == 1.0 and best is not None:  # which positives that point misses (paired comparisons)
            thr = {id(r): row_threshold(r, best["lambda"]) for r in rows}
            out["lambda_at_1.0"] = best["lambda"]
            out["dev_missed_at_1.0"] = [[di, ci] for di, r in enumerate(rows)
                                        for ci, (sc, end) in enumerate(zip(r["pos"], r["ends"], strict=True))
                                        if detector_counts(thr[id(r)], [sc], [end], [], embedder.clock, p)[0]]
    # one global threshold (not a rule): the best point at <= 1 FA/h, for reference
    grid = np.linspace(0.5, 1.0, 201)
    glob = []
    for thr in grid:
        mis = fas = 0
        for r in rows:
            m, f = detector_counts(float(thr), r["pos"], r["ends"], r["neg"], embedder.clock, p)
            mis, fas = mis + m, fas + f
        glob.append((mis / out["positives"], fas / (hours * len(rows)), float(thr)))
    ok = [g for g in glob if g[1] <= 1.0]
    out["global_best_at_1.0"] = [round(x, 4) for x in min(ok)] if ok else None
    out["curve"] = points
    if folds > 1:
        out["negative_folds"] = negative_folds(rows, hours, lam, p, embedder, folds)
    return out


def negative_folds(rows: list[dict], hours: float, chosen: float, p: WordEncoderParams, embedder,
                   folds: int) -> list[dict]:
    """How far a lambda chosen on part of the negatives holds on the rest: the negative segments
    in ``folds`` interleaved parts; for each, the rule's lambda chosen on that part alone (as the
    stage chooses it, on fewer negatives) and its misses and FA/h there and on the other parts."""
    n_seg = len(rows[0]["neg"])
    out = []
    for f in [*range(folds), None]:
        own = [i for i in range(n_seg) if f is None or i % folds == f]
        rest = [i for i in range(n_seg) if f is not None and i % folds != f]
        h_own, h_rest = hours * len(own) / n_seg, hours * len(rest) / n_seg

        def count(lam: float, idx: list[int]) -> tuple[int, int]:
            mis = fas = 0
            for r in rows:
                thr = row_threshold(r, lam)
                m, a = detector_counts(thr, r["pos"], r["ends"], [r["neg"][i] for i in idx], embedder.clock, p)
                mis, fas = mis + m, fas + a
            return mis, fas

        if f is None:
            lam = chosen
        else:
            pts = []
            for q in LAMBDAS:
                m, a = count(q, own)
                pts.append({"lambda": q, "missed_rate": m, "false_accepts_per_hour": a / (h_own * len(rows))})
            lam = pick_lambda(pts, p.target_fa_per_hour)
        m, a_own = count(lam, own)
        a_rest = count(lam, rest)[1] if rest else 0
        out.append({"fold": f, "lambda": lam, "misses": m, "false_accepts": a_own,
                    "fa_per_hour": round(a_own / (h_own * len(rows)), 3), "rest_false_accepts": a_rest,
                    "rest_fa_per_hour": round(a_rest / (h_rest * len(rows)), 3) if rest else None})
    return out


def time_detect(dets: list[Prepared], specs: list[dict], bank_steps: np.ndarray, embedder, jitter: int,
                minutes: float, repeats: int = 3) -> list[dict]:
    """``detect``'s speed on one core for each variant (taking turns, fastest of ``repeats``): the
    first dev detector's takes enrolled as enrol-word does, then ``score_file`` over ``minutes``
    of pink noise holding its takes, as ``detect --checkpoint`` streams a file."""
    import tempfile

    import soundfile as sf

    from tasks.audio.noise import make_background
    from tasks.trigger_word.enrol import STREAM_WINDOW_S, EnrolledScorer, centroid, match_rule_parts
    from tasks.trigger_word.inference import score_file

    e = dets[0]
    rng = np.random.default_rng(0)
    x = make_background("pink", minutes * 60, RATE, rng) * 0.1
    for at in range(RATE, len(x) - RATE * 3, RATE * 4):
        w = e.waves[int(rng.integers(len(e.waves)))]
        x[at:at + len(w)] += w
    scorers = []
    for v in specs:
        sc = scoring_of(v)
        takes = enrolled_takes(embedder, e.waves, jitter, sc)
        norms = match_rule_parts(sc, takes, bank_steps, embedder, 0.999)[2] if sc.kind != "encoder" else None
        raw = [c[a:b + sc.extra] for c, (a, b) in zip(takes.contexts, takes.spans, strict=True)]
        scorers.append(EnrolledScorer(embedder, centroid(takes.vectors), sc, raw, bank_centre(bank_steps), norms))
    best = [np.inf] * len(specs)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "stream.wav"
        sf.write(path, np.clip(x, -1, 1), RATE)
        for _ in range(repeats):
            for i, s in enumerate(scorers):
                t0 = time.process_time()
                score_file(path, s, STREAM_WINDOW_S)
                best[i] = min(best[i], time.process_time() - t0)
    return [{"variant": v, "templates": len(s.templates), "audio_s": round(len(x) / RATE, 1),
             "cpu_s": round(b, 3), "times_real_time": round(len(x) / RATE / b, 1)}
            for v, s, b in zip(specs, scorers, best, strict=True)]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--params", default="params.yaml")
    ap.add_argument("--cache", type=Path, required=True)
    ap.add_argument("--encoder", type=Path, default=None)
    ap.add_argument("--negative-minutes", type=float, default=None, help="more negatives than params.yaml's")
    ap.add_argument("--time-minutes", type=float, default=0.0,
                    help="instead of the dev check: time detect on this many minutes of audio per variant")
    ap.add_argument("--negative-folds", type=int, default=1,
                    help="also choose lambda on each of this many parts of the negatives and count the rest")
    ap.add_argument("variants", nargs="*", help="JSON objects: {kind: encoder|match|fused, weight, extra, centre}")
    args = ap.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    base, params = load_params(args.params, "trigger_word", TriggerWordParams)
    layout = Layout(base.data_dir)
    grid = [(r, q) for r in params.collect.tts.rates for q in params.collect.tts.pitches]
    p = params.word_encoder
    if args.negative_minutes is not None:
        p = p.model_copy(update={"negative_minutes": args.negative_minutes})
    torch.set_num_threads(p.threads)
    args.cache.mkdir(parents=True, exist_ok=True)
    z = prepare(layout, p, grid, base.seed, args.cache, args.encoder or layout.word_encoder)
    embedder = z["embedder"]
    dets = detectors(z)
    specs = [json.loads(s) for s in args.variants] or [{"kind": "encoder", "rule": "vectors"}]
    if args.time_minutes:
        for r in time_detect(dets, specs, z["bank_steps"], embedder, p.jitter_steps, args.time_minutes):
            log.info("%s", json.dumps(r))
        return
    clip_vecs = [[encoder_vectors(embedder.model, s) for s in e.clip_steps] for e in dets]
    seg_steps = _split(z, "seg")
    seg_streams = [(s, encoder_vectors(embedder.model, s)) for s in seg_steps]
    bank_stream = (z["bank_steps"], encoder_vectors(embedder.model, z["bank_steps"]))
    centre = bank_centre(z["bank_steps"])
    families: dict[str, list[dict]] = {}
    for v in specs:
        key = "encoder" if v["kind"] == "encoder" else json.dumps([v.get(k) for k in TEMPLATE_KEYS])
        families.setdefault(key, []).append(v)
    seg_vecs = [vc for _, vc in seg_streams]
    for key, vs in families.items():
        if key == "encoder":
            results = [run_variant(v, dets, clip_vecs, seg_streams, bank_stream, z, p, centre, embedder,
                                   args.negative_folds) for v in vs]
        else:
            results = run_family(vs, dets, clip_vecs, seg_steps, seg_vecs, bank_stream, z, p, centre, embedder,
                                 args.negative_folds)
        for r in results:
            with open(args.cache / "match_results.jsonl", "a") as f:
                f.write(json.dumps(r) + "\n")
            log.info("%s", json.dumps({k: r[k] for k in r if k != "curve"}))


if __name__ == "__main__":
    main()
