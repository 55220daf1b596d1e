"""Thousands of distinct English words for the word encoder, from an installed pronunciation lexicon.

pocketsphinx (PyPI) bundles CMUdict (``cmudict-en-us.dict``, ~135k entries) and a unigram
language model: words are ranked by that model's probability, so the first ``n`` are common
words rather than rare names. Only plain words of 4-12 letters and 2-4 syllables are kept
(wake words are not one-syllable), and none that shares its first letters with a word held out
of training (``activate`` excludes ``activation`` and ``active``): a held-out word must stay
unheard, and so must its confusable part.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import cache
from pathlib import Path

from tasks.errors import DataError

VOWELS = frozenset({"AA", "AE", "AH", "AO", "AW", "AY", "EH", "ER", "EY", "IH", "IY", "OW", "OY", "UH", "UW"})
WORD = re.compile(r"[a-z]{4,12}")
SYLLABLES = (2, 4)
PREFIX = 5  # letters a lexicon word may not share with a held-out word
UNKNOWN = -536870912  # pocketsphinx's log probability of a word its model does not know
SETUP = "pip install -e . (or bash scripts/setup.sh)"


def _model_dir() -> Path:
    try:
        import pocketsphinx
    except ImportError:
        raise DataError(f"the word encoder's lexicon needs the pocketsphinx package: {SETUP}") from None
    return Path(pocketsphinx.get_model_path()) / "en-us"


@cache
def ranked_words() -> tuple[str, ...]:
    """Every lexicon word of 4-12 letters and 2-4 syllables that the language model knows, most
    common first (ties alphabetical)."""
    import pocketsphinx

    folder = _model_dir()
    dict_path, lm_path = folder / "cmudict-en-us.dict", folder / "en-us.lm.bin"
    for p in (dict_path, lm_path):
        if not p.is_file():
            raise DataError(f"{p}: missing from the pocketsphinx package; reinstall it: {SETUP}")
    words = set()
    for line in dict_path.read_text(encoding="utf-8", errors="replace").splitlines():
        word, *phones = line.split()
        if WORD.fullmatch(word) and SYLLABLES[0] <= sum(p in VOWELS for p in phones) <= SYLLABLES[1]:
            words.add(word)
    pocketsphinx.set_loglevel("FATAL")
    lm = pocketsphinx.NGramModel.readfile(str(lm_path))
    scored = [(lm.prob([w]), w) for w in sorted(words)]
    return tuple(w for s, w in sorted(scored, key=lambda sw: (-sw[0], sw[1])) if s > UNKNOWN)


def confusable(word: str, held_out: Iterable[str]) -> bool:
    """Whether ``word`` shares its first letters with a held-out word (or is one)."""
    w = word.lower()
    return any(w[:PREFIX] == h.lower()[:PREFIX] or w == h.lower() for h in held_out)


def lexicon_words(n: int, held_out: Iterable[str]) -> list[str]:
    """The ``n`` most common lexicon words that are not confusable with any held-out word."""
    held = tuple(held_out)
    out: list[str] = []
    for w in ranked_words():
        if len(out) == n:
            break
        if not confusable(w, held):
            out.append(w)
    return out
