"""Identity-disjoint, stable split of people; gallery/probe choice per person."""

from __future__ import annotations

from tasks.faces.split import gallery_and_probes, split_people


def test_people_never_straddle_splits_and_assignment_is_stable():
    people = [f"p{i:03d}" for i in range(50)]
    a = split_people(people, 0.15, 0.2, seed=0)
    assert sorted(a.person) == people and a.person.is_unique
    assert set(a.split) == {"train", "dev", "test"}
    b = split_people(people + [f"new{i}" for i in range(20)], 0.15, 0.2, seed=0).set_index("person")["split"]
    assert all(b[p] == s for p, s in zip(a.person, a.split, strict=True))  # adding people moves nobody


def test_gallery_is_the_first_photos_of_each_person():
    ids = ["b/2", "a/1", "b/1", "a/3", "a/2", "b/3"]
    persons = [i[0] for i in ids]
    flags = gallery_and_probes(ids, persons, 2)
    assert [i for i, f in zip(ids, flags, strict=True) if f] == ["b/2", "a/1", "b/1", "a/2"]
