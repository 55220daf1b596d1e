"""Command line of the art pipeline: ``python -m flows.art <command> [--params FILE]``.

``stylize CONTENT STYLE --out FILE``: one image (files or ``builtin:NAME``), the user's run:
missing weights are an error. ``gallery``: the DVC stage, every pair of ``art.pairs``.
"""

from __future__ import annotations

import argparse

from flows.runtime import add_params_argument, run_cli
from models.style import BACKBONES
from tasks.art.config import ArtParams, Layout
from tasks.config import load_params


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m flows.art", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("stylize", help="one image with CONTENT's content and STYLE's style")
    p.add_argument("content", help="content image file, or builtin:NAME (china, flower)")
    p.add_argument("style", help="style image file, or builtin:NAME (swirls, stained_glass, mosaic)")
    p.add_argument("--out", required=True, help="output image (PNG); its loss curve and snapshots "
                   "are written next to it (NAME.loss.csv, NAME.snapshots.png)")
    p.add_argument("--steps", type=int, help="optimisation steps (default: art.steps)")
    p.add_argument("--size", type=int, help="long side of the generated image, px (default: art.size)")
    p.add_argument("--init", choices=("noise", "content"), help="start image (default: art.init)")
    p.add_argument("--backbone", choices=BACKBONES, help="torchvision network (default: art.backbone)")
    p.add_argument("--weights", help="weights file (default: art.weights, then torchvision's cache)")
    add_params_argument(p)
    p = sub.add_parser("gallery", help="run the art stage: every pair of art.pairs")
    add_params_argument(p)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    base, params = load_params(args.params, "art", ArtParams)
    from flows import art

    if args.command == "stylize":
        for flag, value in (("--steps", args.steps), ("--size", args.size)):
            if value is not None and value < 1:
                raise SystemExit(f"error: {flag} must be >= 1")
        if not args.out.lower().endswith(".png"):
            raise SystemExit(f"error: --out {args.out}: the image is written as PNG, name it *.png")
        from pathlib import Path

        from tasks.io import check_output_files

        out = Path(args.out)
        check_output_files([out, out.with_name(f"{out.stem}.loss.csv"), out.with_name(f"{out.stem}.snapshots.png")],
                           [("CONTENT", args.content), ("STYLE", args.style), ("--weights", args.weights)])
        art.stylize_one(base, params, args.content, args.style, args.out, steps=args.steps, size=args.size,
                        init=args.init, backbone=args.backbone, weights=args.weights)
        return 0
    layout = Layout(base.data_dir)
    from flows.nesting import as_child_run

    as_child_run(art.gallery)(base, params, str(layout.stylize), str(layout.curves))
    return 0


if __name__ == "__main__":
    run_cli(main)
