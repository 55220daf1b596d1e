"""Command line of the faces pipeline: ``python -m flows.faces <stage|command> [--params FILE]``.

Stages (each a DVC stage, from the registry in ``flows/faces/stages.py``; each also runs as
``python -m flows.faces.<stage>``): collect, detect, split, train, database, evaluate.
Commands: enrol DIR, verify --person ID PHOTO, identify PHOTO..., cluster DIR, delete --person ID;
``--db`` (default: your database, <data_dir>/faces/db, which no pipeline stage rebuilds; the
pipeline's evaluation gallery is <data_dir>/faces/gallery) and ``--encoder`` (``dlib_resnet``,
the pretrained encoder; ``chosen``, the one the pipeline chose on dev; or a checkpoint folder;
default: the one that built the database, else ``faces.encoder``, dlib_resnet) choose what they use. verify and
identify print JSON lines on stdout.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from flows.faces.stages import stages
from flows.registry import add_stage_commands, stage_for
from flows.runtime import add_params_argument, positive, run_cli
from tasks.config import load_params
from tasks.faces.config import FacesParams, Layout


def choose_encoder(args: argparse.Namespace, params: FacesParams, layout: Layout, db: str):
    """``--encoder``; else the one that built the database; else ``faces.encoder`` (dlib_resnet)."""
    from tasks.faces import db as D
    from tasks.faces.encoder import command_encoder

    identity = D.load(db).identity if (Path(db) / D.TABLE).is_file() else None
    return command_encoder(args.encoder, params.encoder, layout.encoder, identity, params.detect.settings())


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m flows.faces", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    add_stage_commands(sub, stages(Layout(".")))

    def command(name: str, help: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help)
        p.add_argument("--db", help="database folder (default: <data_dir>/faces/db, yours; the pipeline's "
                                    "evaluation gallery is <data_dir>/faces/gallery)")
        p.add_argument("--encoder", help="dlib_resnet (pretrained), chosen (the pipeline's choice on dev) or an "
                                         "encoder checkpoint folder (default: the database's, else faces.encoder)")
        add_params_argument(p)
        return p

    command("enrol", "add every DIR/<person>/ photo to the database (no retraining)").add_argument("dir")
    p = command("verify", "1:1: is PHOTO the enrolled person? (one JSON object)")
    p.add_argument("--person", required=True)
    p.add_argument("photo")
    p = command("identify", "1:N: who is in each photo? (one JSON object per line)")
    p.add_argument("photos", nargs="+")
    p.add_argument("--k", type=positive, help="neighbours that vote (default: the database's)")
    p = command("cluster", "group an unlabelled folder by person (HDBSCAN or k-means)")
    p.add_argument("dir")
    p.add_argument("--method", choices=("hdbscan", "kmeans"), help="default: faces.cluster.method")
    p.add_argument("--out", help="output folder, new or written by cluster before; never DIR or a folder "
                   "around it (default: <data_dir>/faces/clusters/<DIR's name>)")
    p.add_argument("--force", action="store_true", help="replace --out even if it was not written by dlpipes")
    command("delete", "remove a person: every row and cached crop").add_argument("--person", required=True)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    base, params = load_params(args.params, "faces", FacesParams)
    layout = Layout(base.data_dir)
    if stage := stage_for(stages(layout), args.command):
        stage.run_function()(base, params, layout, args.task_runner)
        return 0
    db = args.db or str(layout.db)
    if args.command in ("verify", "identify", "delete"):
        from tasks.faces import db as D
        from tasks.faces import query as Q

        if args.command == "delete":
            out = [{"db": db, "person": args.person, "removed_rows": D.delete_person(db, args.person)}]
        elif args.command == "verify":
            out = [Q.verify(D.load(db), choose_encoder(args, params, layout, db), args.person, args.photo)]
        else:
            out = Q.identify(D.load(db), choose_encoder(args, params, layout, db), args.photos, args.k)
        for obj in out:
            sys.stdout.write(json.dumps(obj) + "\n")
        return 1 if any("error" in o for o in out) and args.command == "verify" else 0
    from flows.faces.commands import cluster, enrol

    if args.command == "cluster":
        from tasks.io import check_output_dir

        out_dir = args.out or str(layout.clusters / Path(args.dir).resolve().name)
        check_output_dir(out_dir, cluster_inputs(args), force=args.force)  # before any work
    encoder = choose_encoder(args, params, layout, db)
    if args.command == "enrol":
        summary = enrol(encoder, db, args.dir, params.database.k)
    else:
        summary = cluster(base, params.cluster, encoder, args.dir, out_dir, args.method, args.force)
    sys.stdout.write(json.dumps(summary) + "\n")
    return 0


def cluster_inputs(args: argparse.Namespace) -> list[tuple[str, str | None]]:
    """What ``cluster --out`` must never hold: the photos, and an encoder folder given by path."""
    encoder = args.encoder if args.encoder and Path(args.encoder).exists() else None
    return [("DIR", args.dir), ("--encoder", encoder)]


if __name__ == "__main__":
    run_cli(main)
