"""Stage `split`: people (never photos) into train, dev and test."""

from __future__ import annotations

from pathlib import Path

from prefect import flow

from flows.runtime import logger, publish_table, stage_main, with_runner
from tasks.config import BaseParams
from tasks.faces.config import FacesParams, Layout, SplitParams
from tasks.faces.split import split_people
from tasks.io import atomic_dir, read_parquet, write_json, write_parquet


@flow(name="faces-split")
def split(base: BaseParams, params: SplitParams, faces: str, out_dir: str) -> list[dict]:
    """Write ``people.parquet`` (person, split): no person is in two splits."""
    frame = read_parquet(faces, "detected faces")
    people = split_people(sorted(set(frame["person"])), params.dev_fraction, params.test_fraction, base.seed)
    photos = frame.groupby("person").size()
    counts = [{"split": s, "people": int((people.split == s).sum()),
               "photos": int(photos[people.person[people.split == s]].sum())} for s in ("train", "dev", "test")]
    with atomic_dir(out_dir) as tmp:
        write_parquet(Path(tmp) / "people.parquet", people)
        write_json(Path(tmp) / "summary.json", counts)
    publish_table("faces-split", counts, "People and photos per split")
    logger().info("faces split: %s", counts)
    return counts


def run(base: BaseParams, params: FacesParams, layout: Layout, runner: str | None = None) -> None:
    """Stage faces_split: people (never photos) into train, dev and test."""
    with_runner(split, base, runner)(base, params.split, str(layout.faces), str(layout.split))


if __name__ == "__main__":
    stage_main(run, "faces", FacesParams, Layout)
