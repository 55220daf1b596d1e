"""The trigger-word heads, by name: the params key ``trigger_word.train.model.head`` picks one,
and a checkpoint names its architecture, so :func:`load_head` rebuilds whichever it holds.

| name | model | what a step sees |
| --- | --- | --- |
| ``gru`` | :class:`~models.trigger_word.TriggerWordModel` (the lecture's Conv1D + 2 GRU) | everything before it |
| ``window`` | :class:`~models.trigger_word_window.WindowHead` (a DNN on the last frames) | the last ``window`` frames |

Both map ``(B, F, T)`` features to ``(B, Ty)`` logits and carry ``conv_kernel`` /
``conv_stride`` in their config for the step clock.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from torch import nn

from models.checkpoint import CONFIG, CheckpointError, load_model, read_config
from models.trigger_word import TriggerWordConfig, TriggerWordModel
from models.trigger_word_window import WindowHead, WindowHeadConfig

HEADS: dict[str, tuple[type[nn.Module], type]] = {
    "gru": (TriggerWordModel, TriggerWordConfig),
    "window": (WindowHead, WindowHeadConfig),
}


def build_head(config: Any) -> nn.Module:
    """The head whose config class ``config`` is (untrained)."""
    for model_cls, config_cls in HEADS.values():
        if isinstance(config, config_cls):
            return model_cls(config)
    raise TypeError(f"no trigger-word head takes a {type(config).__name__}")


def load_head(folder: Path | str, map_location: str = "cpu") -> tuple[nn.Module, dict[str, Any]]:
    """Rebuild the head a checkpoint folder holds (any of :data:`HEADS`); returns (model, config.json)."""
    doc = read_config(folder)
    by_arch = {m.__name__: (m, c) for m, c in HEADS.values()}
    arch = doc.get("architecture")
    if arch not in by_arch:
        raise CheckpointError(f"{Path(folder) / CONFIG}: architecture {arch!r}, expected a trigger-word head "
                              f"({', '.join(sorted(by_arch))})")
    return load_model(folder, *by_arch[arch], map_location=map_location)
