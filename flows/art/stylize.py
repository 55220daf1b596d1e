"""Stage `art_stylize` (``gallery``) and the ``stylize`` command: neural style transfer.

Each content/style pair is one task: load both images, optimise the pixels, write the
image, its loss curve (CSV, a DVC plot) and a sheet of snapshots, and publish the
snapshots as a Prefect markdown artifact. The backbone is loaded once per run.
"""

from __future__ import annotations

from pathlib import Path

import torch
from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from flows.runtime import Progress, logger, publish_markdown, publish_table, stage_main, with_runner
from models.pretrained import MissingWeightsError
from models.style import ExtractorConfig, FeatureExtractor, load_extractor
from tasks.art.config import ArtParams, Layout, pair_name
from tasks.art.images import contact_sheet, data_uri, load_ref, save_png
from tasks.art.transfer import CURVE_COLUMNS, TransferResult, TransferSpec, stylize
from tasks.config import BaseParams
from tasks.errors import DataError
from tasks.io import atomic_dir, write_json, write_text


def curve_csv(curve: list[dict[str, float]]) -> str:
    """The loss curve as CSV (one row per step; ``repr`` floats: same run, same bytes)."""
    lines = [",".join(CURVE_COLUMNS)]
    lines += [",".join(str(int(row["step"])) if c == "step" else repr(row[c]) for c in CURVE_COLUMNS)
              for row in curve]
    return "\n".join(lines) + "\n"


def build_extractor(params: ArtParams, spec: TransferSpec, backbone: str, weights: str | None,
                    param_key: str) -> FeatureExtractor:
    layers = tuple(dict.fromkeys([*spec.content_layers, *spec.style_layers]))
    return load_extractor(ExtractorConfig(backbone, layers), weights, param_key)


def snapshot_markdown(name: str, result: TransferResult, snaps: list[tuple[int, torch.Tensor]],
                      content: torch.Tensor, style: torch.Tensor) -> str:
    cells = [("content", content), ("style", style), *((f"step {s}", im) for s, im in snaps),
             ("result", result.image)]
    head = "| " + " | ".join(label for label, _ in cells) + " |\n|" + " --- |" * len(cells) + "\n"
    row = "| " + " | ".join(f"![{label}]({data_uri(im, 160)})" for label, im in cells) + " |\n"
    f = result.final
    return (f"### {name}\n\n{head}{row}\nfinal loss {f['total']:.4g} (content {f['content']:.4g}, "
            f"style {f['style']:.4g}) after {len(result.curve)} steps, {result.seconds:.1f} s\n")


def run_pair(extractor: FeatureExtractor, content_ref: str, style_ref: str, spec: TransferSpec, size: int,
             image_path: Path, curve_path: Path, sheet_path: Path, name: str) -> dict:
    """Stylize one pair and write its three files; returns a summary row."""
    content = load_ref(content_ref, size, "content image")
    style = load_ref(style_ref, size, "style image")
    snaps: list[tuple[int, torch.Tensor]] = []
    with Progress(spec.steps, f"stylize {name}", unit="step") as bar:
        result = stylize(extractor, content, style, spec, on_step=bar.update,
                         on_snapshot=lambda step, im: snaps.append((step, im)))
    save_png(result.image, image_path)
    write_text(curve_path, curve_csv(result.curve))
    save_png(contact_sheet([content, style, *(im for _, im in snaps), result.image]), sheet_path)
    publish_markdown(f"art-{name}", snapshot_markdown(name, result, snaps, content, style),
                     f"Style transfer {name}: content, style, snapshots, result")
    first = result.curve[0]["total"]
    logger().info("%s: loss %.4g -> %.4g in %d steps, %.1f s", name, first, result.final["total"],
                  len(result.curve), result.seconds)
    return {"pair": name, "content": content_ref, "style": style_ref, "steps": len(result.curve),
            "height": int(result.image.shape[2]), "width": int(result.image.shape[3]),
            "first_loss": first, **{f"final_{k}": v for k, v in result.final.items()},
            "seconds": round(result.seconds, 2), "precision": result.precision}


stylize_pair = task(run_pair, name="art-stylize-pair", cache_policy=NO_CACHE)


def set_threads(threads: int) -> None:
    """Torch threads for this run (0: torch's default); denormal floats flushed to zero (on
    some CPUs arithmetic on them is ~100x slower, and they change no pixel)."""
    if threads:
        torch.set_num_threads(threads)
    torch.set_flush_denormal(True)


@flow(name="art-stylize")
def gallery(base: BaseParams, params: ArtParams, out_dir: str, curves_dir: str) -> dict:
    """Every pair of ``art.pairs`` into ``out_dir`` (images, snapshot sheets, summary.json) and
    ``curves_dir`` (loss curves), both replaced atomically. Skips, with a clear message and a
    summary saying so, when the backbone's weights are missing and ``on_missing_weights: skip``.
    A pair whose image cannot be read is listed under ``failed`` in summary.json; the others run."""
    log = logger()
    set_threads(params.threads)
    spec = params.spec(base.seed)
    try:
        extractor = build_extractor(params, spec, params.backbone, params.weights, "art.weights in params.yaml")
    except MissingWeightsError as exc:
        if params.on_missing_weights != "skip":
            raise
        message = f"art stage SKIPPED (art.on_missing_weights: skip): {exc}"
        log.warning(message)
        with atomic_dir(out_dir) as out, atomic_dir(curves_dir):
            write_text(out / "SKIPPED.txt", message + "\n")
            write_json(out / "summary.json", {"skipped": True, "reason": str(exc), "pairs": []})
        publish_markdown("art-stylize-skipped", f"### art stage skipped\n\n```\n{exc}\n```\n",
                         "Why the art stage did not run")
        return {"skipped": True, "reason": str(exc)}

    rows, names, failed = [], set(), []
    with atomic_dir(out_dir) as out, atomic_dir(curves_dir) as curves:
        for pair in params.pairs:
            name = pair_name(pair)
            if name in names:
                name = f"{name}-{len(names)}"
            names.add(name)
            try:
                rows.append(stylize_pair(extractor, pair.content, pair.style, spec, params.size,
                                         out / f"{name}.png", curves / f"{name}.csv",
                                         out / f"{name}.snapshots.png", name))
            except DataError as exc:  # an unreadable image: report it, go on with the other pairs
                log.warning("%s: skipped: %s", name, exc)
                failed.append({"pair": name, "content": pair.content, "style": pair.style, "error": str(exc)})
        if not rows:
            raise DataError(f"art: no pair could be stylized: {'; '.join(f['error'] for f in failed)}")
        summary = {"skipped": False, "backbone": params.backbone, "failed": failed,
                   "pairs": [{k: v for k, v in r.items() if k not in ("seconds", "precision")} for r in rows]}
        write_json(out / "summary.json", summary)
    publish_table("art-stylize", rows, "Style transfer: one row per content/style pair")
    return summary


@flow(name="art-stylize-one")
def stylize_one(base: BaseParams, params: ArtParams, content: str, style: str, out: str, *,
                steps: int | None = None, size: int | None = None, init: str | None = None,
                backbone: str | None = None, weights: str | None = None) -> dict:
    """One image at ``out`` (PNG) plus ``<stem>.loss.csv`` and ``<stem>.snapshots.png`` beside it.

    A user's run: missing weights always stop it with the message naming the file needed.
    """
    set_threads(params.threads)
    backbone = backbone or params.backbone
    spec = params.spec(base.seed, backbone, steps=steps, init=init)
    if weights is None and backbone == params.backbone:
        weights = params.weights
    extractor = build_extractor(params, spec, backbone, weights, "--weights (or art.weights in params.yaml)")
    target = Path(out)
    name = target.stem
    return run_pair(extractor, content, style, spec, size or params.size, target,
                    target.with_name(f"{name}.loss.csv"), target.with_name(f"{name}.snapshots.png"), name)


def run(base: BaseParams, params: ArtParams, layout: Layout, runner: str | None = None) -> None:
    """Stage art_stylize: every pair of art.pairs."""
    with_runner(gallery, base, runner)(base, params, str(layout.stylize), str(layout.curves))


if __name__ == "__main__":
    stage_main(run, "art", ArtParams, Layout)
