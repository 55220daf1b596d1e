"""Day/night image pipeline flows; ``python -m flows.day_night <stage>`` runs one stage."""

import os

# Before torch loads: idle OpenMP threads sleep instead of spinning. On a busy machine,
# spinning threads made training 4-8x slower here (they steal the cores doing the work).
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from flows.day_night.collect import collect  # noqa: E402
from flows.day_night.evaluate import evaluate  # noqa: E402
from flows.day_night.human import human_sheet  # noqa: E402
from flows.day_night.split import split  # noqa: E402
from flows.day_night.sweep import sweep  # noqa: E402
from flows.day_night.train import train  # noqa: E402
from flows.day_night.validate import validate  # noqa: E402

__all__ = ["collect", "evaluate", "human_sheet", "split", "sweep", "train", "validate"]
