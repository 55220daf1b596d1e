"""Stage dn_train's plain parts: the resolution it trains at and the model card's text."""

from __future__ import annotations

import json
from pathlib import Path

from tasks.day_night.config import TrainParams

CARD = """# Day vs night classifier

{what}, trained with the logistic loss on {resolution} x {resolution} RGB inputs: p = P({positive}).

- Data: {n_train} train / {n_dev} dev / {n_test} test images ({source}).
- Test accuracy {accuracy}, precision {precision}, recall {recall} (positive class: {positive}).
- Inputs: the whole picture squeezed to a {thumb} px square (box filter), area-averaged to
  {resolution} px, then {normalise}.
- Limits: trained on {source}; check it on your own photos (the `evaluate` stage's real-photo
  check, the `human` sheet and the `classify` command) before trusting it.
"""


def chosen_resolution(train: TrainParams, choice_json: str) -> int:
    if train.resolution:
        return train.resolution
    path = Path(choice_json)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: sweep choice not found; run the sweep stage or set "
                                "day_night.train.resolution")
    return int(json.loads(path.read_text())["resolution"])
