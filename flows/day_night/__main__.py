"""Command line of the day/night pipeline: ``python -m flows.day_night <stage> [--params FILE]``."""

from __future__ import annotations

import argparse
import json
import sys

from flows.runtime import (
    add_params_argument,
    add_stage_parsers,
    run_cli,
    with_runner,
)
from tasks.config import load_params
from tasks.day_night.config import DayNightParams, Layout

STAGES = ("collect", "validate", "split", "sweep", "train", "evaluate", "human")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m flows.day_night",
                                     description="Day/night image pipeline stages and commands.")
    sub = parser.add_subparsers(dest="command", required=True)
    add_stage_parsers(sub, STAGES)
    p = sub.add_parser("classify", help="classify image files; one JSON object per line")
    p.add_argument("files", nargs="+", metavar="FILE")
    p.add_argument("--checkpoint", help="checkpoint folder (default: the train stage's)")
    add_params_argument(p)
    p = sub.add_parser("human-score", help="human accuracy per resolution from a sheet's answers file")
    p.add_argument("--answers", required=True, help="answers.json downloaded from the sheet")
    p.add_argument("--key", help="the sheet's key.json (default: the human stage's)")
    p.add_argument("--out", help="also write the table as JSON here")
    add_params_argument(p)
    return parser


def classify(files: list[str], checkpoint: str, weights: str | None = None) -> int:
    """Print one JSON line per file; exit 1 when any file failed (the others are still printed)."""
    from tasks.day_night.classify import Classifier

    failed = 0
    for row in Classifier(checkpoint, weights).classify(files):
        failed += "error" in row
        sys.stdout.write(json.dumps(row) + "\n")
    sys.stdout.flush()
    return 1 if failed else 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    base, params = load_params(args.params, "day_night", DayNightParams)
    layout = Layout(base.data_dir)
    if args.command == "classify":
        from models.checkpoint import CheckpointError
        from tasks.errors import DataError

        try:
            return classify(args.files, args.checkpoint or str(layout.model), params.model.backbone_weights)
        except CheckpointError as exc:
            raise DataError(str(exc)) from None
    if args.command == "human-score":
        from flows.day_night.human import human_score
        from tasks.io import check_output_files

        key = args.key or str(layout.human / "key.json")
        if args.out:
            check_output_files([args.out], [("--answers", args.answers), ("--key", key)])
        rows = human_score(args.answers, key, args.out)
        for row in rows:
            sys.stdout.write(json.dumps(row) + "\n")
        return 0
    from flows import day_night as dn
    from tasks.io import refuse_overlap

    refuse_overlap(layout.collect, [("day_night.collect.images_dir", params.collect.images_dir),
                                    ("day_night.collect.manifest", params.collect.manifest)],
                   "the collect stage's output")  # replaced whole: never around a user's photos
    p, L = params, layout
    calls = {
        "collect": lambda: (dn.collect, (base, p.generate, p.collect, str(L.demo), str(L.collect))),
        "validate": lambda: (dn.validate, (base, p.validate_, p.labels, p.resolutions, str(L.catalogue),
                                           str(L.validate), str(L.resolution_table), str(L.resolution_plot))),
        "split": lambda: (dn.split, (base, p.split, p.labels, p.train.balance, str(L.images), str(L.thumbs),
                                     str(L.split), str(L.balance))),
        "sweep": lambda: (dn.sweep, (base, p.sweep, p.model, p.train, p.check, p.resolutions, p.labels,
                                     p.collect.thumb_size, str(L.assignments), str(L.thumbs), str(L.features),
                                     str(L.sweep_curve), str(L.sweep_choice))),
        "train": lambda: (dn.train, (base, p.train, p.model, p.labels, p.collect.thumb_size, str(L.assignments),
                                     str(L.thumbs), str(L.sweep_choice), str(L.features), str(L.model),
                                     str(L.metrics), str(L.history), str(L.confusion))),
        "evaluate": lambda: (dn.evaluate, (p.check, p.model, p.labels, p.train.threads, str(L.model),
                                           str(L.check_metrics), str(L.check_predictions))),
        "human": lambda: (dn.human_sheet, (base, p.human, p.labels, p.resolutions, str(L.assignments),
                                           str(L.thumbs), str(L.human))),
    }
    flow_obj, flow_args = calls[args.command]()
    with_runner(flow_obj, base, args.task_runner)(*flow_args)
    return 0


if __name__ == "__main__":
    run_cli(main)
