"""Frozen ImageNet backbones as feature extractors for neural style transfer.

Nothing is trained in style transfer: a network that already understands images supplies
the features (content on one layer's activations, style on Gram matrices of several), and
gradients flow back to the pixels only. :class:`FeatureExtractor` wraps a torchvision
backbone by its torchvision name, keeps only its ``features`` part up to the deepest layer
asked for, freezes it and returns the asked layers' activations.

Layer names are torchvision module paths inside the model (``features.10``,
``features.3.conv.0``); VGG also accepts the names of the original paper (``conv4_2``,
``relu4_2``, ``pool3``; block ``b``, layer ``i``, counted as in Simonyan & Zisserman).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import torch
import torchvision
from torch import Tensor, nn
from torch.nn.utils.fusion import fuse_conv_bn_eval

from models.pretrained import find_weights, load_state_dict

BACKBONES = ("vgg19", "mobilenet_v2")
# ImageNet normalisation every torchvision classifier was trained with.
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)

_VGG_NAME = re.compile(r"^(conv|relu)(\d+)_(\d+)$|^pool(\d+)$")


@dataclass(frozen=True)
class ExtractorConfig:
    """Which torchvision backbone, and which of its layers to return (in this order)."""

    backbone: str = "vgg19"
    layers: tuple[str, ...] = ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu4_2", "relu5_1")


def _build(backbone: str) -> nn.Module:
    """The torchvision architecture with no weights (parameters allocated, not initialised)."""
    if backbone not in BACKBONES:
        raise ValueError(f"unknown backbone {backbone!r}; supported: {', '.join(BACKBONES)}")
    with torch.device("meta"):  # no memory, no init cost (VGG19's classifier alone is 120M params)
        net = getattr(torchvision.models, backbone)(weights=None)
    net.classifier = nn.Identity()  # only `features` is ever used
    return net


def vgg_layer_names(features: nn.Sequential) -> dict[str, str]:
    """Paper names of VGG layers -> torchvision paths (``relu4_2`` -> ``features.22``)."""
    names, block, conv = {}, 1, 0
    for idx, module in enumerate(features):
        if isinstance(module, nn.Conv2d):
            conv += 1
            names[f"conv{block}_{conv}"] = f"features.{idx}"
        elif isinstance(module, nn.ReLU):
            names[f"relu{block}_{conv}"] = f"features.{idx}"
        elif isinstance(module, nn.MaxPool2d):
            names[f"pool{block}"] = f"features.{idx}"
            block, conv = block + 1, 0
    return names


def layer_names(backbone: str) -> list[str]:
    """Every layer name :class:`FeatureExtractor` accepts for ``backbone`` (for messages and docs)."""
    net = _build(backbone)
    paths = [f"features.{n}" for n, _ in net.features.named_modules() if n]
    aliases = list(vgg_layer_names(net.features)) if backbone.startswith("vgg") else []
    return aliases + paths


def resolve_layer(backbone: str, name: str, net: nn.Module) -> str:
    """A layer name -> its torchvision module path; a clear error for a name that is not there."""
    path = name
    if _VGG_NAME.match(name):
        if not backbone.startswith("vgg"):
            raise ValueError(f"layer {name!r}: paper-style names are for VGG; {backbone} layers are "
                             "torchvision paths such as 'features.6'")
        path = vgg_layer_names(net.features).get(name, "")
    modules = dict(net.named_modules())
    if not path.startswith("features.") or path not in modules:
        examples = ", ".join(layer_names(backbone)[:8])
        raise ValueError(f"{backbone} has no layer {name!r}; names look like: {examples}, ... "
                         "(torchvision module paths under `features`)")
    return path


def fuse_conv_bn(net: nn.Module) -> None:
    """Fold every frozen batch norm into the convolution before it (``Conv2d, BatchNorm2d`` in a
    ``Sequential``), in place; the batch norm becomes an ``Identity`` so module paths keep their
    meaning. Same outputs (to float rounding), one pass less over every feature map."""
    for seq in [m for m in net.modules() if isinstance(m, nn.Sequential)]:
        kids = list(seq.named_children())
        for (conv_name, conv), (bn_name, bn) in zip(kids, kids[1:], strict=False):
            if isinstance(conv, nn.Conv2d) and isinstance(bn, nn.BatchNorm2d):
                setattr(seq, conv_name, fuse_conv_bn_eval(conv.eval(), bn.eval()))
                setattr(seq, bn_name, nn.Identity())


class FeatureExtractor(nn.Module):
    """A frozen backbone: images in [0, 1], ``(B, 3, H, W)`` -> the configured layers' activations.

    Parameters never require gradients and the network stays in eval mode (batch norm uses
    its ImageNet statistics, folded into the convolutions), so a loss on the returned features sends gradients to the
    input pixels only. In-place activations are turned off: a captured layer's output must
    not be overwritten by the next ReLU.
    """

    def __init__(self, config: ExtractorConfig, state_dict: dict[str, Tensor] | None = None,
                 random_init_seed: int | None = None):
        super().__init__()
        if (state_dict is None) == (random_init_seed is None):
            raise ValueError("give exactly one of state_dict (real weights) or random_init_seed "
                             "(random weights: tests and timing only, never for real images)")
        if not config.layers:
            raise ValueError("no layers asked for")
        self.config = config
        net = _build(config.backbone)
        paths = [resolve_layer(config.backbone, name, net) for name in config.layers]
        last = max(int(p.split(".")[1]) for p in paths)
        body = net.features[: last + 1].to_empty(device="cpu")
        if state_dict is not None:
            own = {k.removeprefix("features."): v for k, v in state_dict.items() if k.startswith("features.")}
            own = {k: v for k, v in own.items() if int(k.split(".")[0]) <= last}
            body.load_state_dict(own, strict=True)
        else:
            self._random_init(body, random_init_seed)
        fuse_conv_bn(body)
        for m in body.modules():
            if hasattr(m, "inplace"):
                m.inplace = False
        self.body = body.eval().requires_grad_(False)
        self.random_weights = state_dict is None
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1))
        self._paths = paths
        self._captured: dict[str, Tensor] = {}
        modules = dict(body.named_modules())
        for path in dict.fromkeys(paths):
            modules[path.removeprefix("features.")].register_forward_hook(self._hook(path))
        self.eval()

    @staticmethod
    def _random_init(body: nn.Module, seed: int) -> None:
        generator_state = torch.random.get_rng_state()
        torch.manual_seed(seed)
        for m in body.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
                m.reset_running_stats()
        torch.random.set_rng_state(generator_state)

    def _hook(self, path: str):
        def capture(_module: nn.Module, _inputs: tuple, output: Tensor) -> None:
            self._captured[path] = output
        return capture

    def train(self, mode: bool = True) -> FeatureExtractor:
        """Always eval: batch norm must keep its ImageNet statistics."""
        return super().train(False)

    def forward(self, images: Tensor) -> list[Tensor]:
        """``(B, 3, H, W)`` in [0, 1] -> one activation ``(B, C_l, H_l, W_l)`` per configured layer."""
        self._captured = {}
        self.body((images - self.mean) / self.std)
        out = [self._captured[p] for p in self._paths]
        self._captured = {}
        return out


def load_extractor(config: ExtractorConfig, weights: str | None = None, param_key: str | None = None
                   ) -> FeatureExtractor:
    """The extractor with real ImageNet weights (see :mod:`models.pretrained` for where they are
    looked for); raises :class:`models.pretrained.MissingWeightsError` when there are none."""
    path = find_weights(config.backbone, weights, param_key)
    return FeatureExtractor(config, state_dict=load_state_dict(path))


def random_extractor(config: ExtractorConfig, seed: int = 0) -> FeatureExtractor:
    """The extractor with RANDOM weights: for tests of the mechanics and for timing only.

    Random features carry no meaning (no content, no style); never use this for images
    someone will look at.
    """
    return FeatureExtractor(config, random_init_seed=seed)
