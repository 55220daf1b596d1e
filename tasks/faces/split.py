"""Identity-disjoint split: each person lies wholly in train, dev or test.

Dev people calibrate the verification threshold and test people measure the encoder;
neither is seen in training, which is what makes enrolment without retraining honest.
"""

from __future__ import annotations

import pandas as pd

from tasks.splits import assign_groups


def split_people(persons: list[str], dev: float, test: float, seed: int) -> pd.DataFrame:
    """One row per person: ``person``, ``split`` (stable: a person's split never depends on who else exists)."""
    fractions = {"train": 1.0 - dev - test, "dev": dev, "test": test}
    assigned = assign_groups(persons, fractions, seed, salt="faces")
    return pd.DataFrame(sorted(assigned.items()), columns=["person", "split"])


def gallery_and_probes(photo_ids: list[str], persons: list[str], per_person: int) -> list[bool]:
    """Flag each photo as gallery (True: the first ``per_person`` of its person, by photo id)
    or probe (False): the lecture's "a few enrolled photos per person", the rest as queries."""
    order = sorted(range(len(photo_ids)), key=lambda i: (persons[i], photo_ids[i]))
    seen: dict[str, int] = {}
    flags = [False] * len(photo_ids)
    for i in order:
        seen[persons[i]] = seen.get(persons[i], 0) + 1
        flags[i] = seen[persons[i]] <= per_person
    return flags
