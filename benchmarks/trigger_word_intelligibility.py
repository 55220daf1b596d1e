"""How many collected takes of the trigger word pocketsphinx's check would reject, per engine.

Run: ``python -m benchmarks.trigger_word_intelligibility [--collect data/trigger_word/collect] [--takes N]``

Reads the positive takes of a collect output (espeak-ng, ``positives.parquet``) and the Kokoro
takes of the cross-engine check's *dev* part (never its test part), recognises each against
the grammar of the collect vocabulary (:mod:`tasks.audio.intelligibility`), and prints the
share each engine would lose, what the rejected takes were heard as, and the time per take.
"""

from __future__ import annotations

import argparse
import collections
import time
from pathlib import Path

import pandas as pd

from tasks.audio.intelligibility import WordRecogniser
from tasks.config import load_params
from tasks.trigger_word.collect import read_word
from tasks.trigger_word.config import TriggerWordParams


def measure(collect_dir: Path, frame: pd.DataFrame, recogniser: WordRecogniser) -> tuple[dict, list[bool]]:
    """The check's verdicts on ``frame``'s takes: a summary and, per take, whether it was rejected."""
    heard: collections.Counter[str] = collections.Counter()
    verdicts, cache = [], {}
    t0 = time.process_time()
    for row in frame.itertuples():
        word = recogniser.recognise(read_word(collect_dir, row, cache), int(row.sample_rate))
        verdicts.append(word != str(row.text).lower())  # what problem_in_take refuses
        if verdicts[-1]:
            heard[str(word)] += 1
    cpu = time.process_time() - t0
    n = max(len(frame), 1)
    return ({"takes": len(frame), "rejected": sum(verdicts), "share": sum(verdicts) / n,
             "cpu_ms_per_take": 1000 * cpu / n, "heard_as": heard.most_common(6)}, verdicts)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--collect", default="data/trigger_word/collect")
    ap.add_argument("--params", default="params.yaml")
    ap.add_argument("--takes", type=int, default=0, help="espeak-ng takes drawn (0 = all)")
    args = ap.parse_args(argv)
    _, tw = load_params(args.params, "trigger_word", TriggerWordParams)
    c = tw.collect
    root = Path(args.collect)
    recogniser = WordRecogniser((c.positive_word, *c.negative_words))
    pos = pd.read_parquet(root / "positives.parquet")
    pos = pos[pos.source == "tts"]
    if args.takes:
        pos = pos.sample(min(args.takes, len(pos)), random_state=0)
    kokoro = pd.read_parquet(root / "cross_engine" / "words.parquet")
    kokoro = kokoro[(kokoro.source == "kokoro") & (kokoro.check_split == "dev") & (kokoro.kind == "positive")]
    for name, frame in (("espeak-ng", pos), ("kokoro (check's dev voices)", kokoro)):
        r, verdicts = measure(root, frame, recogniser)
        print(f"{name}: {r['rejected']} of {r['takes']} takes rejected ({r['share']:.1%}); "
              f"{r['cpu_ms_per_take']:.0f} ms CPU per take; rejected ones heard as {r['heard_as']}")
        if name == "espeak-ng":
            by_accent = frame.assign(rejected=verdicts).groupby("accent").rejected.mean()
            print("  rejected per accent: " + ", ".join(f"{a} {v:.0%}" for a, v in by_accent.items()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
