from __future__ import annotations

import numpy as np

from tasks.audio.augment import augment_word, change_speed


def test_speed_changes_length_exactly():
    x = np.sin(np.arange(1000) / 10).astype(np.float32)
    assert len(change_speed(x, 900)) == 900


def test_augment_keeps_length_and_is_deterministic():
    x = np.random.default_rng(0).standard_normal(8000).astype(np.float32)
    a = augment_word(x, 16000, 7000, 8000 / 7000, eq_db=6, seed=3, rt60_s=0.4)
    b = augment_word(x, 16000, 7000, 8000 / 7000, eq_db=6, seed=3, rt60_s=0.4)
    assert len(a) == 7000 and np.array_equal(a, b)
    assert not np.allclose(a, change_speed(x, 7000))


def test_dry_is_identity():
    x = np.ones(100, np.float32)
    assert augment_word(x, 16000, 100, 1.0, 0.0, 0, 0.0) is x
