"""Command line of the trigger-word pipeline: ``python -m flows.trigger_word <stage|command> [--params FILE]``.

The stage subcommands come from the stage registry (``flows/trigger_word/stages.py``); each also runs
as ``python -m flows.trigger_word.<module>``, its dvc.yaml ``cmd``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from flows.registry import add_stage_commands, stage_for
from flows.runtime import (
    add_params_argument,
    add_runner_argument,
    count,
    probability,
    run_cli,
    with_runner,
)
from flows.trigger_word.stages import stages
from tasks.config import load_params
from tasks.trigger_word.config import Layout, TriggerWordParams


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m flows.trigger_word",
                                     description="Trigger-word pipeline stages and commands.")
    sub = parser.add_subparsers(dest="command", required=True)
    add_stage_commands(sub, stages(Layout(".")))
    p = sub.add_parser("dataset", help="build a labelled clip set from your own recordings")
    p.add_argument("--positives", required=True, help="folder of recordings of the trigger word")
    p.add_argument("--negatives", help="folder of recordings of other words")
    p.add_argument("--backgrounds", help="folder of background recordings (default: generated noise)")
    p.add_argument("--out", required=True, help="output folder: new, or one this command wrote before "
                   "(replaced atomically); never one of the input folders")
    p.add_argument("--force", action="store_true", help="replace --out even if it was not written by dlpipes")
    p.add_argument("--clips", type=count, required=True, help="clips to make, over all splits")
    p.add_argument("--seed", type=int, help="seed (default: base.seed of the params file)")
    add_params_argument(p)
    add_runner_argument(p)
    p = sub.add_parser("detect", help="print when the trigger word occurs in audio files (JSON lines)")
    p.add_argument("files", nargs="+", type=Path, help="audio files (WAV, FLAC, OGG; any rate, mono or stereo)")
    p.add_argument("--checkpoint", type=Path, help="model folder (default: the pipeline's shipped model)")
    p.add_argument("--threshold", type=probability,
                   help="detection threshold, 0-1 (default: the one stored with the model)")
    p.add_argument("--chime-dir", type=Path, help="also write a copy of each file with a chime at each detection "
                   "(a new folder, or one this command wrote before)")
    p.add_argument("--force", action="store_true", help="write into --chime-dir even if dlpipes did not create it")
    add_params_argument(p)
    p = sub.add_parser("enrol-word", help="a detector for any word from 3-10 recordings of it (no retraining)")
    p.add_argument("recordings", nargs="+", type=Path, help="3-10 recordings of the word (any rate, mono or stereo)")
    p.add_argument("--out", required=True, type=Path, help="detector folder to write: new, or one this command wrote")
    p.add_argument("--encoder", type=Path, help="word encoder folder (default: the word_encoder stage's output)")
    p.add_argument("--scorer", choices=("encoder", "match", "fused"),
                   help="how the detector scores a stream: the encoder's vectors, query-by-example matching of the "
                   "takes' frontend steps, or both fused (default: the one the encoder folder names)")
    p.add_argument("--force", action="store_true", help="replace --out even if it was not written by dlpipes")
    add_params_argument(p)
    p = sub.add_parser("export", help="write one synthesized clip or collected word out as a WAV, for listening")
    which = p.add_mutually_exclusive_group(required=True)
    which.add_argument("--clip", help="clip id, e.g. train-0000042 (see clips/clips.parquet)")
    which.add_argument("--word", help="word or background id (see collect/*.parquet)")
    p.add_argument("--out", type=Path, required=True, help="WAV file to write")
    p.add_argument("--from", dest="source", type=Path, help="a `dataset` output folder (default: the pipeline's data)")
    add_params_argument(p)
    p = sub.add_parser("feedback", help="copy the false accepts mined by evaluate into a new hard-negatives round")
    add_params_argument(p)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    base, params = load_params(args.params, "trigger_word", TriggerWordParams)
    layout = Layout(base.data_dir)
    if args.command == "detect":
        from flows.trigger_word.detect import main as detect_main

        return detect_main(args.files, args.checkpoint or layout.model, args.threshold, args.chime_dir,
                           force=args.force)
    if args.command == "enrol-word":
        from flows.trigger_word.enrol_word import main as enrol_main

        return enrol_main(args.recordings, args.out, args.encoder or layout.word_encoder, force=args.force,
                          scorer=args.scorer)
    if args.command == "export":
        from tasks.trigger_word.export import export

        src = args.source
        written = export(args.out, clips_dir=src or layout.clips, collect_dir=src / "collect" if src else layout.collect,
                         clip_id=args.clip, word_id=args.word)
        print(written)  # noqa: T201 - command output
        return 0
    if args.command == "feedback":
        from tasks.trigger_word.hard_negatives import feedback

        dest, n = feedback(layout.eval / "hard_negatives", layout.hard_negatives)
        print(f"{n} mined false accepts copied to {dest}\n"  # noqa: T201 - command output
              f"next round: set trigger_word.synthesize.hard_negatives_dir: {dest} in {args.params}, "
              "then `dvc repro` (synthesis, features, training and evaluation rerun)")
        return 0
    if args.command == "dataset":
        from flows.trigger_word.dataset import dataset, dataset_inputs, dataset_params
        from tasks.io import check_output_dir

        if args.seed is not None:
            base = base.model_copy(update={"seed": args.seed})
        params = dataset_params(params, args.positives, args.negatives, args.backgrounds)
        check_output_dir(args.out, dataset_inputs(params), force=args.force)  # before any work
        with_runner(dataset, base, args.task_runner)(base, params, args.out, args.clips, args.force)
        return 0
    stage_for(stages(layout), args.command).run_function()(base, params, layout, args.task_runner)
    return 0


if __name__ == "__main__":
    run_cli(main)
