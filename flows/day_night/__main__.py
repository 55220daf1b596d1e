"""Command line of the day/night pipeline: ``python -m flows.day_night <stage|command> [--params FILE]``.

The stage subcommands come from the stage registry (``flows/day_night/stages.py``); each also runs
as ``python -m flows.day_night.<module>``, its dvc.yaml ``cmd``.
"""

from __future__ import annotations

import argparse
import json
import sys

from flows.day_night.stages import stages
from flows.registry import add_stage_commands, stage_for
from flows.runtime import add_params_argument, run_cli
from tasks.config import load_params
from tasks.day_night.config import DayNightParams, Layout


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m flows.day_night",
                                     description="Day/night image pipeline stages and commands.")
    sub = parser.add_subparsers(dest="command", required=True)
    add_stage_commands(sub, stages(Layout(".")))
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
    stage_for(stages(layout), args.command).run_function()(base, params, layout, args.task_runner)
    return 0


if __name__ == "__main__":
    run_cli(main)
