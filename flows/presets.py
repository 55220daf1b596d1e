"""Params presets: whole params files made from params.yaml plus a few overrides.

``params.yaml`` is the demo scale (the README's main command) and stays so: a preset never
overwrites it. The presets are complete files, rendered from params.yaml so they never drift
from it (``python -m flows.presets`` rewrites them, ``--check`` fails when one is stale; the
test suite runs it). Stage commands take one directly (``--params params-full.yaml``); the
pipeline flow runs one as a DVC experiment, ``dvc exp run --temp -n full -S key=value ...``
with the keys that differ from params.yaml (:func:`set_arguments`), so the workspace, params.yaml
and dvc.lock included, is left as it is. The meaning of every key is commented in params.yaml.
"""

from __future__ import annotations

import argparse
import copy
import re
import sys
from pathlib import Path
from typing import Any

import yaml

from tasks.errors import ParamsError

ROOT = Path(__file__).resolve().parents[1]

# Dotted key -> value, applied over params.yaml.
PRESETS: dict[str, tuple[str, dict[str, Any]]] = {
    "params-full.yaml": ("Full scale of the default (CPU) settings (batch size and learning rate were "
                         "chosen with the log-mel features; on the frontend they trained no worse than batch 32 "
                         "at 6,000 clips, docs/experiments.md): every voice, more rates and pitches, "
                         "24 times the training clips in batches of 128, 16 hours of negative audio "
                         "per split.", {
        "trigger_word.collect.tts.voices": 0,
        "trigger_word.collect.tts.rates": [125, 150, 175, 200, 225],
        "trigger_word.collect.tts.pitches": [30, 45, 60, 75],
        "trigger_word.collect.generated_backgrounds.count": 330,
        "trigger_word.synthesize.clips": {"train": 48000, "dev": 600, "test": 600},
        # 7: the best epoch by tw_train's dev check in a 13-epoch full-scale run on the frontend
        # (docs/experiments.md, "Full scale with the frontend, measured"); the learning rate is
        # constant, so 7 epochs give that run's model, in about 24 minutes instead of 47 (the
        # head trains about 250 clips/s on two cores; torch's second thread hardly helps).
        # Log-mel's full-scale run J used 13 epochs (28 minutes).
        "trigger_word.train.epochs": 7,
        # Batches of 128 train more clips per second than batches of 32 or 64 on two cores
        # (benchmarks.trigger_word_training). The demo keeps 32: few clips need the steps.
        "trigger_word.train.batch_size": 128,
        "trigger_word.train.learning_rate": 0.006,
        "trigger_word.evaluate.negative_minutes": 960.0,
        "trigger_word.evaluate.mine_minutes": 30.0,
        # The word encoder of enrol-word: every collected train take, the whole vocabulary said
        # by 40 voices, 6,000 lexicon words by 4 voices each, more epochs; every dev and test voice enrolled, 2 hours of negatives each.
        "trigger_word.word_encoder.train_takes": 0,
        "trigger_word.word_encoder.vocabulary": 120,
        "trigger_word.word_encoder.vocabulary_voices": 40,
        "trigger_word.word_encoder.lexicon_words": 6000,
        "trigger_word.word_encoder.lexicon_voices": 4,
        "trigger_word.word_encoder.epochs": 30,
        "trigger_word.word_encoder.eval_voices": 1000,
        "trigger_word.word_encoder.negative_minutes": 120.0,
    }),
    "params-logmel.yaml": ("The from-scratch CPU preset (the default before the pretrained speech "
                           "frontend): 16 kHz log-mel features (40 x 499), the lecture's Conv1D "
                           "(kernel 15, stride 4) + 2 GRU, Ty = 122.", {
        "trigger_word.features.kind": "logmel",
        "trigger_word.synthesize.ty": 122,
        "trigger_word.train.model.conv_kernel": 15,
        "trigger_word.train.model.conv_stride": 4,
        "trigger_word.train.spec_augment.time_width": 10,
        "trigger_word.synthesize.train_word_to_background_db": None,
    }),
    "params-kokoro.yaml": ("Leave one engine out, the reverse way: the training words said by 40 "
                           "Kokoro-82M voice blends (no espeak-ng voice), and the cross-engine check "
                           "made of espeak-ng voices never in training (10 dev, 15 test); no babble "
                           "backgrounds (they are made of espeak-ng voices).", {
        "trigger_word.collect.tts.engines": ["kokoro"],
        "trigger_word.collect.cross_engine.engine": "espeak",
        "trigger_word.collect.generated_backgrounds.kinds": ["white", "pink", "brown", "blue", "violet", "hum",
                                                             "fan", "rain", "wind", "traffic"],
    }),
    "params-pico.yaml": ("Leave one engine out, the third way: the training words said by espeak-ng "
                         "voices and 40 Kokoro-82M voice blends together, and the cross-engine check "
                         "made of SVOX Pico's two voices (en-US dev, en-GB test), never in training.", {
        "trigger_word.collect.tts.engines": ["espeak", "kokoro"],
        "trigger_word.collect.cross_engine.engine": "pico",
    }),
    "params-lecture.yaml": ("The lecture's trigger-word settings: 44.1 kHz clips, linear spectrogram "
                            "(101 x 5511), Ty = 1375, 50 label ones, 196 conv filters, GRU 128.", {
        "trigger_word.collect.sample_rate": 44100,
        "trigger_word.synthesize.ty": 1375,
        "trigger_word.synthesize.label_ones": 50,
        "trigger_word.features.kind": "spectrogram",
        "trigger_word.features.sample_rate": None,
        "trigger_word.features.n_fft": 200,
        "trigger_word.features.hop": 80,
        "trigger_word.train.model.conv_kernel": 15,
        "trigger_word.train.model.conv_stride": 4,
        "trigger_word.train.model.conv_filters": 196,
        "trigger_word.train.model.gru_units": 128,
        "trigger_word.train.batch_size": 16,
        "trigger_word.train.learning_rate": 0.001,
        "trigger_word.train.spec_augment.time_width": 40,
        "trigger_word.synthesize.negatives": [0, 2],
        "trigger_word.synthesize.train_word_to_background_db": None,
    }),
}


def apply(params: dict, overrides: dict[str, Any]) -> dict:
    out = copy.deepcopy(params)
    for dotted, value in overrides.items():
        *parents, leaf = dotted.split(".")
        node = out
        for key in parents:
            node = node[key]
        if leaf not in node:
            raise KeyError(f"preset key {dotted} is not in params.yaml")
        node[leaf] = value
    return out


def render(name: str, base_text: str) -> str:
    about, overrides = PRESETS[name]
    header = (f"# {name}: generated by `python -m flows.presets` from params.yaml; do not edit.\n"
              f"# {about}\n# Overrides: {', '.join(overrides)}.\n"
              "# Every key's meaning and unit is commented in params.yaml.\n")
    return header + yaml.safe_dump(apply(yaml.safe_load(base_text), overrides), sort_keys=False, width=100)


def flatten(params: dict, prefix: str = "") -> dict[str, Any]:
    """Dotted key -> value for every leaf of ``params`` (a list is a leaf)."""
    out: dict[str, Any] = {}
    for key, value in params.items():
        dotted = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            out.update(flatten(value, f"{dotted}."))
        else:
            out[dotted] = value
    return out


def overrides(base: dict, other: dict, source: str = "params file") -> dict[str, Any]:
    """The dotted keys whose value in ``other`` differs from ``base`` (a preset's overrides)."""
    flat_base, flat_other = flatten(base), flatten(other)
    unknown = sorted(set(flat_other) - set(flat_base))
    if unknown:
        raise ParamsError(f"{source}: {', '.join(unknown[:5])}: not in params.yaml")
    return {k: v for k, v in flat_other.items() if flat_base[k] != v}


def set_arguments(base_file: Path, params_file: Path) -> list[str]:
    """`dvc exp run` options (``-S key=value``, values in YAML) that turn ``base_file`` into ``params_file``."""
    base = yaml.safe_load(base_file.read_text()) or {}
    other = yaml.safe_load(params_file.read_text()) or {}
    args: list[str] = []
    for key, value in overrides(base, other, str(params_file)).items():
        text = yaml.safe_dump(value, default_flow_style=True, width=1 << 20).strip()
        args += ["-S", f"{key}={text.removesuffix('...').strip()}"]
    return args


def experiment_name(params_file: Path) -> str:
    """The DVC experiment a params file runs as: ``params-full.yaml`` -> ``full``."""
    stem = params_file.name.removesuffix(".yaml").removesuffix(".yml")
    return re.sub(r"[^A-Za-z0-9_-]+", "-", stem.removeprefix("params-")).strip("-") or "preset"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m flows.presets", description=__doc__)
    parser.add_argument("--check", action="store_true", help="only check that the presets are up to date")
    parser.add_argument("--sets", metavar="PRESET", help="print a preset's `dvc exp run` options (-S key=value "
                        "..., shell-quoted), e.g. eval \"dvc exp run --queue -n full $(python -m flows.presets --sets "
                        "params-full.yaml)\"")
    args = parser.parse_args(argv)
    if args.sets:
        import shlex

        print(shlex.join(set_arguments(ROOT / "params.yaml", Path(args.sets))))  # noqa: T201 - command output
        return 0
    base_text = (ROOT / "params.yaml").read_text()
    stale = []
    for name in PRESETS:
        text, path = render(name, base_text), ROOT / name
        if args.check:
            if not path.is_file() or path.read_text() != text:
                stale.append(name)
        else:
            path.write_text(text)
    if stale:
        print(f"out of date: {', '.join(stale)}: run `python -m flows.presets`", file=sys.stderr)  # noqa: T201
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
