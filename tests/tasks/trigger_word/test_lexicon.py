"""The word encoder's lexicon words: common words from pocketsphinx's CMUdict, none confusable
with a held-out word."""

from __future__ import annotations

from tasks.trigger_word.lexicon import confusable, lexicon_words, ranked_words

HELD = ("activate", "marmalade", "lighthouse", "pineapple", "saxophone")


def test_lexicon_words_are_common_plain_words_ranked_by_the_language_model():
    ranked = ranked_words()
    assert len(ranked) > 20_000  # thousands of distinct words to train on
    assert all(w.isalpha() and w.islower() and 4 <= len(w) <= 12 for w in ranked)
    # Common words come before rare ones (unigram probability of the bundled model).
    assert ranked.index("people") < ranked.index("curvature") < ranked.index("marmalade")
    assert "the" not in ranked and "cat" not in ranked  # one syllable or too short
    assert ranked_words() is ranked  # read once per process


def test_held_out_words_and_their_confusables_are_left_out():
    words = lexicon_words(3000, HELD)
    assert len(words) == len(set(words)) == 3000
    assert not {"activate", "activation", "active", "activity", "lighthouse", "lighting"} & set(words)
    assert not any(confusable(w, HELD) for w in words)
    assert "people" in words and "actually" in words  # "act..." is not "activ..."
    # Without held-out words the same ranking is kept: the first words agree.
    free = lexicon_words(3000, ())
    assert "activity" in free and words[:10] == [w for w in free if not confusable(w, HELD)][:10]
