"""The art stage as DVC sees it (rendered into dvc.yaml by ``flows.dvc_stages``)."""

from __future__ import annotations

from tasks.art.config import Layout

CMD = "python -m flows.art"
COMMON = ["tasks/config.py", "tasks/io.py", "flows/runtime.py"]


def dvc_stages(layout: Layout) -> dict[str, dict]:
    """Stage name -> dvc.yaml entry; paths come from ``layout`` (built on ``${base.data_dir}``)."""
    return {
        "art_stylize": {
            "cmd": f"{CMD} gallery",
            "deps": [*COMMON, "models/losses.py", "models/pretrained.py", "models/style.py", "tasks/art",
                     "tasks/images/io.py", "flows/art/stylize.py"],
            "params": ["base.seed", "art"],
            "outs": [{str(layout.stylize): {"persist": True}}],
            "plots": [{str(layout.curves): {"x": "step", "y": "total", "cache": False}}],
        },
    }
