"""The query-by-example driver's template choice: random, one accent after another, coverage."""

import numpy as np

from benchmarks.trigger_word_qbe import pick_templates
from tasks.trigger_word.word_match import unit


def test_spread_takes_one_take_per_accent_in_turn_and_random_is_seeded():
    groups = ["tts:en-us+m3", "tts:en-us+f2", "tts:en-gb+m1", "tts:en-029+f4", "tts:en-gb+f1"]
    raw = [np.zeros((3, 96))] * len(groups)
    assert pick_templates(groups, raw, 4, "spread", 0) == [3, 2, 0, 4]  # en-029, en-gb, en-us, then en-gb
    a, b = pick_templates(groups, raw, 3, "random", 0), pick_templates(groups, raw, 3, "random", 1)
    assert len(set(a)) == 3 and a == pick_templates(groups, raw, 3, "random", 0) and a != b


def test_coverage_starts_with_the_take_most_like_the_others():
    rng = np.random.default_rng(0)
    base = rng.standard_normal((8, 96))
    near = [unit(base + 0.3 * rng.standard_normal((8, 96)), None) for _ in range(4)]  # one word, four takes
    far = unit(rng.standard_normal((8, 96)), None)
    order = pick_templates(["tts:a+x"] * 5, near + [far], 2, "coverage", 0)
    assert order[0] in (0, 1, 2, 3) and order[1] == 4  # then the one nothing chosen matches
