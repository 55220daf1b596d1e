"""Training the logistic head on cached backbone features: plain functions, no I/O.

The whole training set fits in one batch (a few thousand vectors of 1,280 numbers), so the
head is fitted full-batch with L-BFGS: the logistic loss plus an L2 penalty on the weights
(``l2``), classes weighed equally unless ``balance`` is ``none``. Each "epoch" is one L-BFGS
round of up to 20 iterations; the round with the best dev accuracy is kept.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from models.day_night_backbone import HeadConfig, LogisticHead
from models.losses import logistic_loss
from tasks.day_night.train import binary_metrics, downsample

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class HeadSettings:
    epochs: int = 10  # L-BFGS rounds
    l2: float = 0.01  # penalty 0.5 * l2 * |w|^2 on the standardised features' weights
    balance: str = "sampler"  # anything but "none" weighs the two classes equally ("downsample" drops)
    seed: int = 0


@torch.no_grad()
def predict_head(head: LogisticHead, f: np.ndarray | Tensor) -> np.ndarray:
    """``(n,)`` probabilities of the positive class from ``(n, F)`` features."""
    head.eval()
    x = torch.as_tensor(np.asarray(f), dtype=torch.float32)
    return torch.sigmoid(head(x)).numpy() if len(x) else np.zeros(0, np.float32)


def fit_head(f_train: np.ndarray, y_train: Tensor, f_dev: np.ndarray, y_dev: Tensor, settings: HeadSettings,
             keys: list[str] | None = None) -> tuple[LogisticHead, list[dict]]:
    """A fresh head fitted on ``(n, F)`` features; returns it (best dev round) and per-round history."""
    torch.manual_seed(settings.seed)
    x, y = torch.as_tensor(f_train, dtype=torch.float32), y_train.float()
    if settings.balance == "downsample":
        keep = torch.from_numpy(downsample(y.numpy(), keys or [str(i) for i in range(len(y))], settings.seed))
        x, y = x[keep], y[keep]
    n_pos = float(y.sum())
    pos_weight = (len(y) - n_pos) / n_pos if settings.balance != "none" and 0 < n_pos < len(y) else None
    head = LogisticHead(HeadConfig(features=x.shape[1]))
    head.set_standardisation(x)
    nn_init = torch.nn.init
    nn_init.zeros_(head.linear.weight)
    nn_init.zeros_(head.linear.bias)
    opt = torch.optim.LBFGS(head.linear.parameters(), lr=1.0, max_iter=20, history_size=10,
                            line_search_fn="strong_wolfe")

    def closure() -> Tensor:
        opt.zero_grad()
        loss = logistic_loss(head(x), y, pos_weight) + 0.5 * settings.l2 * head.linear.weight.square().sum()
        loss.backward()
        return loss

    history, best, best_state = [], -1.0, None
    for epoch in range(1, settings.epochs + 1):
        head.train()
        loss = float(opt.step(closure).detach())
        dev = binary_metrics(y_dev.numpy(), predict_head(head, f_dev))
        history.append({"epoch": epoch, "train_loss": round(loss, 5), "dev_accuracy": dev["accuracy"]})
        log.info("head round %d loss %.4f dev accuracy %.4f", epoch, loss, dev["accuracy"])
        if dev["accuracy"] > best:
            best, best_state = dev["accuracy"], {k: v.clone() for k, v in head.state_dict().items()}
    if best_state is not None:
        head.load_state_dict(best_state)
    return head.eval(), history
