"""The art stage registry: dvc.yaml (``python -m flows.dvc_stages``) and the CLI are made from it."""

from __future__ import annotations

from flows.registry import Stage, report
from tasks.art.config import Layout


def stages(layout: Layout) -> list[Stage]:
    """The stages in run order; paths come from ``layout`` (built on ``${base.data_dir}`` for dvc.yaml)."""
    return [
        Stage("art_stylize", "gallery", "flows.art.stylize:run", "every pair of art.pairs",
              params=["base.seed", "art"], outs=[layout.stylize],
              plots=[report(layout.curves, x="step", y="total")]),
    ]
