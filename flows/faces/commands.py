"""The database commands that write files, as flows: enrol and cluster.

verify, identify and delete are plain calls in ``__main__`` (no flow run, so the answer
comes without starting Prefect)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from PIL import Image
from prefect import flow

from flows.runtime import logger, publish_markdown, publish_table
from tasks.config import BaseParams
from tasks.faces import query as Q
from tasks.faces.config import ClusterParams
from tasks.faces.encoder import Encoder
from tasks.io import atomic_output_dir, write_json


@flow(name="faces-enrol")
def enrol(encoder: Encoder, db_dir: str, people_dir: str, k: int = 2) -> dict:
    """Add every ``people_dir/<person>/`` photo to the database without retraining."""
    summary = Q.enrol_folder(db_dir, encoder, people_dir, pd.Timestamp.now(tz="UTC").floor("s"),
                             encoder.calibration, k)
    publish_table("faces-enrol", [{"person": p, "photos": n} for p, n in summary["people"].items()],
                  f"Enrolled into {db_dir}")
    if summary["errors"]:
        publish_table("faces-enrol-errors", [{"file": f, "error": e} for f, e in summary["errors"].items()],
                      "Photos not enrolled")
    logger().info("faces enrol: %d people, %d photos not usable; database has %d rows",
                  len(summary["people"]), len(summary["errors"]), summary["rows"])
    return summary


@flow(name="faces-cluster")
def cluster(base: BaseParams, params: ClusterParams, encoder: Encoder, folder: str, out_dir: str,
            method: str | None = None, force: bool = False) -> dict:
    """Group an unlabelled folder by person: ``out_dir/groups.json`` and ``group_NN.png`` contact sheets.

    ``out_dir`` must be new or a previous output unless ``force``, and never hold ``folder``."""
    summary, crops = Q.cluster_photos(encoder, folder, method or params.method, params.k_min, params.k_max,
                                      base.seed, params.min_silhouette, params.n_init, params.min_cluster_size,
                                      params.min_samples)
    with atomic_output_dir(out_dir, [("DIR", folder)], "flows.faces cluster", force=force) as tmp:
        for g, group in enumerate(crops):
            name = f"group_{g:02d}.png"
            Image.fromarray(Q.contact_sheet(group, params.sheet_columns)).save(Path(tmp) / name)
            summary["groups"][g]["sheet"] = str(Path(out_dir) / name)
        write_json(Path(tmp) / "groups.json", summary)
    publish_markdown("faces-cluster", f"{summary['method']}: {summary['k']} groups, "
                     f"{len(summary['unassigned'])} photos unassigned\n\n" + "\n".join(
        f"- group {g['group']}: {len(g['files'])} photos" for g in summary["groups"]), f"Clusters of {folder}")
    return summary

