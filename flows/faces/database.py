"""Stage `faces_database` (Prefect wiring): the pipeline's evaluation gallery, every person's first photos
embedded into an embedding database (:func:`tasks.faces.gallery.build_db`).

It writes ``faces/gallery``, never the users' database ``faces/db`` (what ``enrol`` adds to and
``delete`` removes from): a pipeline run rebuilds its own output and leaves enrolled people alone."""

from __future__ import annotations

from pathlib import Path

from prefect import flow

from flows.runtime import logger, publish_table, stage_main, with_runner
from tasks.config import BaseParams
from tasks.faces.config import DatabaseParams, FacesParams, Layout
from tasks.faces.gallery import build_db
from tasks.io import atomic_dir


@flow(name="faces-database")
def database(base: BaseParams, params: DatabaseParams, encoder_dir: str, faces: str, crops: str, pretrained: str,
             out_dir: str) -> dict:
    """Write the gallery folder ``out_dir`` (embeddings.parquet + crops/), replaced atomically."""
    with atomic_dir(out_dir) as tmp:
        summary = build_db(Path(tmp), Path(encoder_dir), Path(faces), Path(crops), Path(pretrained), params)
    publish_table("faces-database", [summary], "Embedding database")
    logger().info("faces database: %s", summary)
    return summary


def run(base: BaseParams, params: FacesParams, layout: Layout, runner: str | None = None) -> None:
    """Stage faces_database: the pipeline's evaluation gallery."""
    L = layout
    with_runner(database, base, runner)(base, params.database, str(L.encoder), str(L.faces), str(L.crops),
                                        str(L.pretrained), str(L.gallery))


if __name__ == "__main__":
    stage_main(run, "faces", FacesParams, Layout)
