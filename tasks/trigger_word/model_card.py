"""The shipped trigger-word model's card: what it was trained on, how good it is, where it fails."""

from __future__ import annotations

import pandas as pd


def _pct(ci: list[float]) -> str:
    return f"{ci[0]:.1%}-{ci[1]:.1%}"


def _cross_section(m: dict) -> str:
    """The cross-engine check (voices of an engine never in training, real speech), if it ran."""
    if "cross_engine_test_false_reject_rate" not in m:
        return "No cross-engine check ran (no material: `trigger_word.collect.cross_engine.enabled`).\n"
    p = "cross_engine_test"
    engine = ("espeak-ng" if m.get(p + "_espeak_negatives") else "SVOX Pico" if m.get(p + "_pico_negatives")
              else "Kokoro")
    return f"""## Cross-engine check (test: {engine} voices and real speech never used in training)
At the same dev-chosen threshold, words 0-15 dB above held-out backgrounds; 95% intervals
(Wilson for the rate, exact Poisson for false accepts per hour).

| | value | 95% interval |
|---|---|---|
| false-reject rate | {m[p + '_false_reject_rate']:.1%} ({m[p + '_misses']} of {m[p + '_positives']}) | {_pct(m[p + '_false_reject_rate_ci95'])} |
| false accepts per hour | {m[p + '_false_accepts_per_hour']:.2f} ({m[p + '_false_accepts']} in {m[p + '_negative_hours']:.2f} h) | {m[p + '_false_accepts_per_hour_ci95'][0]:.2f}-{m[p + '_false_accepts_per_hour_ci95'][1]:.2f} |
"""


def _levels_section(m: dict) -> str:
    """Test misses at the threshold by the word's level over its background, if evaluate reported them."""
    parts = [(name, m[key]) for name, key in (("held-out voices", "test_misses_by_level_db"),
                                             ("cross-engine", "cross_engine_test_misses_by_level_db"))
             if m.get(key)]
    if not parts:
        return ""
    bands = sorted({b for _, d in parts for b in d}, key=lambda b: float(b.split("-")[0]))
    rows = [f"| {name} | " + " | ".join(
        f"{d[b]['false_reject_rate']:.1%} ({d[b]['misses']} of {d[b]['positives']})" if b in d else "-"
        for b in bands) + " |" for name, d in parts]
    return ("## Misses by word level (test, at the threshold)\n"
            "Word RMS over background RMS, in dB, as the clip was planned.\n\n"
            f"| test part | {' | '.join(b + ' dB' for b in bands)} |\n|---|{'---|' * len(bands)}\n"
            + "\n".join(rows) + "\n")


def _head(config: dict) -> str:
    """One line on the head's architecture (the GRU head, or the window head)."""
    mc = config["model_config"]
    if config.get("architecture") == "WindowHead":
        return (f"A window head: a {mc['layers']}-layer DNN ({mc['units']} units, LayerNorm) on the last "
                f"{mc['window']} feature frames,\nwith a sigmoid at every frame")
    return (f"Conv1D ({mc['conv_filters']} filters, kernel {mc['conv_kernel']}, stride {mc['conv_stride']}) + BatchNorm +\n"
            f"{mc['gru_layers']} x GRU ({mc['gru_units']} units) with a sigmoid at every output step")


def model_card(config: dict, positives: pd.DataFrame, assignments: pd.DataFrame) -> str:
    m = config["metrics"]
    f = config["features"]
    ev = config.get("params", {}).get("trigger_word", {}).get("evaluate", {})
    frontend = f.get("frontend")
    if frontend:  # the frozen pretrained frontend the head was trained on
        f = {**f, "kind": f"speech_embedding (frozen: npm {frontend['package']}@{frontend['version']})"}
    names = {"espeak": "espeak-ng", "kokoro": "Kokoro-82M blends", "pico": "SVOX Pico variants (train only)"}
    tts = config.get("params", {}).get("trigger_word", {}).get("collect", {}).get("tts", {})
    engines = ", ".join(names.get(e, e) for e in tts.get("engines", ["espeak"]))
    word = positives.text.dropna().iloc[0] if positives.text.notna().any() else "(user recordings)"
    sources = ", ".join(f"{k}: {v}" for k, v in positives.source.value_counts().sort_index().items())
    groups = assignments[assignments.kind == "positive"].groupby("split").group.nunique().to_dict()
    return f"""# Trigger-word detector: "{word}"

## Model
{_head(config)}, on {f['kind']}
features ({f['n_bins']} bins, n_fft {f['n_fft']}, hop {f['hop']}, {f['sample_rate']} Hz). Files:
`model.safetensors` (weights), `config.json` (architecture, features, normalisation, threshold,
params, data hash, metrics).

## Data
Synthesised 10-second clips: positive and negative words inserted into backgrounds without
overlap, labelled automatically. Positive recordings by source: {sources}. Speaker groups per
split (no voice in two splits): {groups}. Training data hash (features): `{config['data_sha256'][:16]}`.

## Metrics (held-out voices, test split)
| | value |
|---|---|
| operating threshold (chosen on dev for <= {m['target_fa_per_hour']} false accepts/hour) | {m['threshold']:.6g} |
| false-reject rate | {m['test_false_reject_rate']:.1%} of {m['test_positives']} positives (95% interval {_pct(m['test_false_reject_rate_ci95'])}) |
| false accepts per hour | {m['test_false_accepts_per_hour']:.2f} over {m['test_negative_hours']:.2f} h of audio without the word (95% interval {m['test_false_accepts_per_hour_ci95'][0]:.2f}-{m['test_false_accepts_per_hour_ci95'][1]:.2f}) |

{_cross_section(m)}
{_levels_section(m)}
A positive counts as found when the detector fires between {ev.get('match_early_s', 0.0)} s before the word's end and
{ev.get('match_window_s', 1.0)} s after; one word fires once (refractory period {config['refractory_s']} s).

## Intended use
Spotting the word in recordings or streams, e.g. to wake a device or index audio;
`python -m flows.trigger_word detect FILE...` prints when it fires.

## Limits
- Trained on what the pipeline could make: offline text-to-speech voices ({engines}) and any
  user recordings given, generated or recorded backgrounds. Real human voices, far-field
  microphones and unseen noise types will perform worse than the numbers above; measure on your
  own recordings (`python -m flows.trigger_word dataset ...`) before relying on it.
- English accents only; other words that sound alike may trigger it.
- Not for safety-critical use.
"""
