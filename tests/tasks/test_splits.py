from __future__ import annotations

import pytest

from tasks.splits import assign_groups, rule_fraction, split_fractions


def test_rule_follows_the_lecture():
    assert rule_fraction(10_000) == pytest.approx(0.2)
    assert rule_fraction(1_000_000) == pytest.approx(0.01)
    assert rule_fraction(100) == pytest.approx(0.2)


def test_explicit_fractions_win():
    f = split_fractions(1_000_000, dev=0.05, test=0.1)
    assert f == pytest.approx({"train": 0.85, "dev": 0.05, "test": 0.1})


def test_groups_follow_fractions():
    groups = [f"g{i}" for i in range(5000)]
    a = assign_groups(groups, {"train": 0.6, "dev": 0.2, "test": 0.2}, seed=1)
    share = {s: sum(v == s for v in a.values()) / len(a) for s in ("train", "dev", "test")}
    assert share == pytest.approx({"train": 0.6, "dev": 0.2, "test": 0.2}, abs=0.03)


def test_adding_groups_never_moves_existing_ones():
    fractions = {"train": 0.6, "dev": 0.2, "test": 0.2}
    before = assign_groups([f"g{i}" for i in range(300)], fractions, seed=7)
    after = assign_groups([f"g{i}" for i in range(600)], fractions, seed=7)
    assert all(after[g] == s for g, s in before.items())


def test_shrinking_test_share_never_moves_train_into_test():
    groups = [f"g{i}" for i in range(2000)]
    big = assign_groups(groups, {"train": 0.6, "dev": 0.2, "test": 0.2}, seed=3, ensure_each=False)
    small = assign_groups(groups, {"train": 0.8, "dev": 0.1, "test": 0.1}, seed=3, ensure_each=False)
    assert not [g for g in groups if big[g] == "train" and small[g] != "train"]
    assert not [g for g in groups if small[g] == "test" and big[g] != "test"]


def test_small_sets_still_get_every_split():
    for seed in range(20):
        a = assign_groups(["a", "b", "c", "d"], {"train": 0.6, "dev": 0.2, "test": 0.2}, seed=seed)
        assert set(a.values()) == {"train", "dev", "test"}
