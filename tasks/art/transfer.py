"""The style-transfer optimisation (Gatys et al.), as a plain function.

The generated image's pixels are the only thing optimised. Each evaluation runs the frozen
backbone once on the current image and adds

    J(G) = content_weight * sum_l w_l J_content^l(C, G)  +  style_weight * sum_l w_l J_style^l(S, G)
           (+ tv_weight * total variation, off by default)

with the lecture's losses from :mod:`models.losses`; the gradient flows back to the pixels.
One *step* is one evaluation of J and its gradient, for L-BFGS and Adam alike, so step
counts compare across optimisers and with the public PyTorch tutorial.

Speed: the backbone is cut after the deepest layer used, its batch norms are folded into
the convolutions, and it runs in channels-last memory layout; the targets (content features,
style Gram matrices) are computed once, without autograd. ``precision: bf16`` runs the
backbone under bfloat16 autocast (Gram matrices and losses stay float32); ``auto`` means
float32, since bfloat16 was slower here for both backbones (a CPU with AMX may differ).
``benchmarks/style_transfer.py`` measures the gain.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import torch
from torch import Tensor

from models.losses import content_loss, gram_matrix, style_loss
from models.style import FeatureExtractor

log = logging.getLogger(__name__)

CURVE_COLUMNS = ("step", "total", "content", "style", "tv")


@dataclass(frozen=True)
class TransferSpec:
    """Everything one optimisation needs besides the images and the backbone."""

    content_layers: dict[str, float]  # layer -> weight
    style_layers: dict[str, float]  # layer -> weight
    steps: int = 300
    content_weight: float = 1.0
    style_weight: float = 1e4
    tv_weight: float = 0.0
    init: str = "content"  # noise | content
    optimizer: str = "lbfgs"  # lbfgs | adam
    lr: float = 1.0
    history: int = 50  # L-BFGS history size
    precision: str = "auto"  # fp32 | bf16 | auto
    snapshot_every: int = 0  # 0 = no snapshots
    seed: int = 0


@dataclass
class TransferResult:
    image: Tensor  # (1, 3, H, W) in [0, 1]
    curve: list[dict[str, float]] = field(default_factory=list)  # one row per step
    final: dict[str, float] = field(default_factory=dict)  # losses of the returned image
    seconds: float = 0.0
    precision: str = "fp32"


def resolve_precision(precision: str) -> str:
    """``auto`` -> fp32 (bfloat16 autocast measured slower on this project's CPUs, see the module doc)."""
    if precision == "auto":
        return "fp32"
    if precision not in ("fp32", "bf16"):
        raise ValueError(f"precision must be fp32, bf16 or auto, not {precision!r}")
    return precision


def total_variation(image: Tensor) -> Tensor:
    """Mean squared difference of neighbouring pixels (smoothness; not in Gatys et al.)."""
    dx = image[..., :, 1:] - image[..., :, :-1]
    dy = image[..., 1:, :] - image[..., :-1, :]
    return dx.pow(2).mean() + dy.pow(2).mean()


class Objective:
    """J(G) for fixed content and style targets (computed once, in float32)."""

    def __init__(self, extractor: FeatureExtractor, content: Tensor, style: Tensor, spec: TransferSpec,
                 precision: str):
        self.extractor = extractor
        self.spec = spec
        self.precision = precision
        layers = list(extractor.config.layers)
        missing = sorted((set(spec.content_layers) | set(spec.style_layers)) - set(layers))
        if missing:
            raise ValueError(f"the extractor does not return layer(s) {missing}")
        self.c_idx = [layers.index(n) for n in spec.content_layers]
        self.s_idx = [layers.index(n) for n in spec.style_layers]
        self.c_w = list(spec.content_layers.values())
        self.s_w = list(spec.style_layers.values())
        with torch.no_grad():
            c_feats = self.features(content)
            s_feats = self.features(style)
        self.c_targets = [c_feats[i] for i in self.c_idx]
        # Per-position Gram matrices: the style image may differ in size from the generated one.
        self.s_grams = [gram_matrix(s_feats[i], normalize=True) for i in self.s_idx]

    def features(self, image: Tensor) -> list[Tensor]:
        x = image.contiguous(memory_format=torch.channels_last)
        if self.precision == "bf16":
            with torch.autocast("cpu", dtype=torch.bfloat16):
                feats = self.extractor(x)
        else:
            feats = self.extractor(x)
        return [f.float() for f in feats]

    def __call__(self, image: Tensor) -> tuple[Tensor, dict[str, float]]:
        feats = self.features(image)
        j_content = sum(w * content_loss(feats[i], t) for i, t, w in zip(self.c_idx, self.c_targets, self.c_w,
                                                                         strict=True))
        j_style = style_loss([feats[i] for i in self.s_idx], self.s_grams, self.s_w, normalized=True)
        total = self.spec.content_weight * j_content + self.spec.style_weight * j_style
        tv = total_variation(image) if self.spec.tv_weight > 0 else torch.zeros((), dtype=image.dtype)
        total = total + self.spec.tv_weight * tv
        parts = {k: float(v.detach()) for k, v in (("total", total), ("content", j_content), ("style", j_style), ("tv", tv))}
        return total, parts


def initial_image(content: Tensor, init: str, seed: int) -> Tensor:
    """White noise in [0, 1] (the lecture's start) or a copy of the content image (converges faster)."""
    if init == "content":
        return content.detach().clone()
    if init == "noise":
        g = torch.Generator().manual_seed(seed)
        return torch.rand(content.shape, generator=g, dtype=content.dtype).to(content.device)
    raise ValueError(f"init must be noise or content, not {init!r}")


def stylize(extractor: FeatureExtractor, content: Tensor, style: Tensor, spec: TransferSpec,
            on_step: Callable[[int], None] | None = None,
            on_snapshot: Callable[[int, Tensor], None] | None = None) -> TransferResult:
    """Optimise an image with ``content``'s content and ``style``'s style; ``(1, 3, H, W)`` in [0, 1].

    ``on_step(n)`` is called after every step (progress); ``on_snapshot(step, image)`` every
    ``spec.snapshot_every`` steps with a detached copy of the current image.
    """
    start = time.perf_counter()
    precision = resolve_precision(spec.precision)
    extractor = extractor.to(memory_format=torch.channels_last)
    objective = Objective(extractor, content, style, spec, precision)
    image = initial_image(content, spec.init, spec.seed).requires_grad_(True)
    curve: list[dict[str, float]] = []

    def evaluate() -> Tensor:
        with torch.no_grad():
            image.clamp_(0, 1)  # pixels stay in range (as in the PyTorch tutorial)
        optimizer.zero_grad(set_to_none=True)
        total, parts = objective(image)
        total.backward()
        curve.append({"step": len(curve) + 1, **parts})
        if on_step is not None:
            on_step(1)
        if on_snapshot is not None and spec.snapshot_every and len(curve) % spec.snapshot_every == 0:
            on_snapshot(len(curve), image.detach().clamp(0, 1).clone())
        return total

    if spec.optimizer == "lbfgs":
        # One `step()` call runs up to max_iter evaluations; keep calling until `steps` are done.
        optimizer = torch.optim.LBFGS([image], lr=spec.lr, max_iter=20, history_size=spec.history)
        while len(curve) < spec.steps:
            optimizer.param_groups[0]["max_iter"] = min(20, spec.steps - len(curve))
            optimizer.param_groups[0]["max_eval"] = optimizer.param_groups[0]["max_iter"]
            optimizer.step(evaluate)
    elif spec.optimizer == "adam":
        optimizer = torch.optim.Adam([image], lr=spec.lr)
        while len(curve) < spec.steps:
            evaluate()
            optimizer.step()
    else:
        raise ValueError(f"optimizer must be lbfgs or adam, not {spec.optimizer!r}")

    with torch.no_grad():
        out = image.detach().clamp(0, 1)
        _, final = objective(out)
    seconds = time.perf_counter() - start
    log.info("stylize: %d steps in %.1f s (%s), loss %.4g -> %.4g", len(curve), seconds, precision,
             curve[0]["total"] if curve else float("nan"), final["total"])
    return TransferResult(out, curve, final, seconds, precision)
