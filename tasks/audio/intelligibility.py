"""An offline intelligibility check of synthesised words with pocketsphinx's English model.

pocketsphinx 5.1.1 (PyPI, BSD; installed by ``scripts/setup.sh`` with ``--no-deps``: its
``sounddevice`` dependency is only for live microphones) bundles a US English acoustic model,
language model and dictionary. A take is recognised against a grammar of exactly the
vocabulary (one word of the positive and negative words, nothing else): a take of the
trigger word that the recogniser hears as another vocabulary word, or as nothing, fails.
The grammar asks "which of these words is it closest to", not "is this any English
sentence", so a confusable take (``activate`` heard as ``captivate``) is caught while an
accent the recogniser merely finds odd still wins against words that sound different.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

from tasks.errors import DataError

SETUP = "bash scripts/setup.sh (it installs pocketsphinx==5.1.1 with --no-deps)"
RATE = 16000  # the bundled acoustic model's rate, in Hz
PAD_S = 0.3  # silence around a take, in seconds (the recogniser needs some on both sides)


class WordRecogniser:
    """Isolated-word recognition over a fixed vocabulary (every word must be in the dictionary)."""

    def __init__(self, vocabulary: Sequence[str]) -> None:
        try:
            import pocketsphinx
        except ImportError:
            raise DataError(f"intelligibility check: pocketsphinx is not installed; run {SETUP}") from None
        words = sorted({w.lower() for w in vocabulary})
        bad = [w for w in words if not re.fullmatch(r"[a-z']+", w)]
        if bad:
            raise DataError(f"intelligibility check: only single words can be checked, not {bad}")
        self._decoder = pocketsphinx.Decoder(loglevel="FATAL")
        missing = [w for w in words if self._decoder.lookup_word(w) is None]
        if missing:
            raise DataError(f"intelligibility check: words not in pocketsphinx's dictionary: {missing}")
        grammar = "#JSGF V1.0;\ngrammar vocabulary;\npublic <word> = " + " | ".join(words) + " ;\n"
        self._decoder.add_jsgf_string("vocabulary", grammar)
        self._decoder.activate_search("vocabulary")
        self.vocabulary = tuple(words)

    def recognise(self, x: np.ndarray, sample_rate: int) -> str | None:
        """The vocabulary word heard in mono float audio ``x`` (None: nothing recognised)."""
        if sample_rate != RATE:
            from tasks.audio.io import resample

            x = resample(x, sample_rate, RATE)
        pad = np.zeros(int(PAD_S * RATE), np.int16)
        pcm = np.concatenate([pad, np.round(np.clip(x, -1.0, 1.0) * 32767).astype(np.int16), pad])
        d = self._decoder
        d.start_utt()
        d.process_raw(pcm.tobytes(), full_utt=True)
        d.end_utt()
        hyp = d.hyp()
        return hyp.hypstr.strip() if hyp is not None and hyp.hypstr.strip() else None


def problem_in_take(recogniser: WordRecogniser, x: np.ndarray, sample_rate: int, word: str) -> str | None:
    """Why a take of ``word`` fails the check (None: it was heard as ``word``)."""
    heard = recogniser.recognise(x, sample_rate)
    if heard == word.lower():
        return None
    what = "nothing" if heard is None else repr(heard)
    return (f"intelligibility: pocketsphinx heard {what}, not {word.lower()!r} "
            f"(grammar of the {len(recogniser.vocabulary)} vocabulary words)")


def check_takes(collect_dir: object, rows: Sequence[dict], vocabulary: Sequence[str], sources: Sequence[str]
                ) -> tuple[list[dict], list[dict]]:
    """Positive takes of ``sources`` that fail the check move from ``rows`` to quarantine rows;
    returns (kept rows, quarantine rows). Other rows are kept unchecked."""
    from tasks.trigger_word.collect import read_word

    recogniser = WordRecogniser(vocabulary)
    kept, bad, cache = [], [], {}
    for row in rows:
        if row["kind"] != "positive" or row.get("source") not in sources or not row.get("text"):
            kept.append(row)
            continue
        reason = problem_in_take(recogniser, read_word(collect_dir, row, cache), int(row["sample_rate"]),
                                 str(row["text"]))
        if reason is None:
            kept.append(row)
        else:
            bad.append({"file": row.get("origin") or row["path"], "kind": "positive", "reason": reason})
    return kept, bad
