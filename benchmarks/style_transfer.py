"""Style transfer speed: ours vs a plain re-implementation of the public PyTorch tutorial loop.

The baseline follows the tutorial ("Neural Transfer Using PyTorch"): the backbone's
``features`` with loss modules inserted after the chosen layers and trimmed after the last
one, Gram matrices normalised by their element count, L-BFGS with its defaults stepped
``while run <= steps`` with a closure that clamps the image, in float32, contiguous layout.
Ours is :func:`tasks.art.transfer.stylize` (BN folded into convolutions, channels-last,
targets without autograd). Same backbone weights, images,
layers, step budget and threads, in the same run. One step = one loss + gradient evaluation.
Wall time and process CPU time are both printed: on a shared machine the CPU time (summed
over threads) is the steadier comparison.

    python -m benchmarks.style_transfer [--size 256] [--steps 300] [--threads 2]
        [--backbones mobilenet_v2 vgg19] [--precision auto|fp32|bf16]

MobileNetV2 uses its real ImageNet weights when found (scripts/setup.sh installs them);
VGG19's are not available offline, so it runs with RANDOM weights: timing only.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import torch
import torch.nn.functional as F
import torchvision
from torch import nn

from models.pretrained import MissingWeightsError, find_weights, load_state_dict
from models.style import (
    IMAGENET_MEAN,
    IMAGENET_STD,
    ExtractorConfig,
    FeatureExtractor,
    vgg_layer_names,
)
from tasks.art.config import DEFAULT_LAYERS, LayerWeights
from tasks.art.images import load_ref, to_tensor
from tasks.art.transfer import TransferSpec, stylize

# --- the tutorial, re-implemented plainly ---------------------------------------------------

def tutorial_gram(x: torch.Tensor) -> torch.Tensor:
    a, b, c, d = x.size()
    f = x.view(a * b, c * d)
    return torch.mm(f, f.t()).div(a * b * c * d)


class ContentLoss(nn.Module):
    def __init__(self, target: torch.Tensor):
        super().__init__()
        self.target = target.detach()
        self.loss = torch.zeros(())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.loss = F.mse_loss(x, self.target)
        return x


class StyleLoss(nn.Module):
    def __init__(self, target_feature: torch.Tensor):
        super().__init__()
        self.target = tutorial_gram(target_feature).detach()
        self.loss = torch.zeros(())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.loss = F.mse_loss(tutorial_gram(x), self.target)
        return x


class Normalization(nn.Module):
    def __init__(self):
        super().__init__()
        self.mean = torch.tensor(IMAGENET_MEAN).view(-1, 1, 1)
        self.std = torch.tensor(IMAGENET_STD).view(-1, 1, 1)

    def forward(self, img: torch.Tensor) -> torch.Tensor:
        return (img - self.mean) / self.std


def tutorial_model(features: nn.Sequential, content_idx: set[int], style_idx: set[int], style_img, content_img):
    model = nn.Sequential(Normalization())
    content_losses, style_losses = [], []
    for i, layer in enumerate(features.children()):
        if isinstance(layer, nn.ReLU):
            layer = nn.ReLU(inplace=False)
        model.add_module(str(i), layer)
        if i in content_idx:
            cl = ContentLoss(model(content_img).detach())
            model.add_module(f"content_loss_{i}", cl)
            content_losses.append(cl)
        if i in style_idx:
            sl = StyleLoss(model(style_img).detach())
            model.add_module(f"style_loss_{i}", sl)
            style_losses.append(sl)
    for j in range(len(model) - 1, -1, -1):  # trim after the last loss
        if isinstance(model[j], (ContentLoss, StyleLoss)):
            break
    return model[: j + 1], style_losses, content_losses


def run_tutorial(features, content_idx, style_idx, content_img, style_img, steps, style_weight=1e6,
                 content_weight=1.0) -> int:
    model, style_losses, content_losses = tutorial_model(features, content_idx, style_idx, style_img, content_img)
    input_img = content_img.clone().requires_grad_(True)
    model.eval()
    model.requires_grad_(False)
    optimizer = torch.optim.LBFGS([input_img])
    run = [0]
    while run[0] <= steps:
        def closure():
            with torch.no_grad():
                input_img.clamp_(0, 1)
            optimizer.zero_grad()
            model(input_img)
            style_score = sum(sl.loss for sl in style_losses) * style_weight
            content_score = sum(cl.loss for cl in content_losses) * content_weight
            loss = style_score + content_score
            loss.backward()
            run[0] += 1
            return style_score + content_score
        optimizer.step(closure)
    return run[0]


# --- the comparison ---------------------------------------------------------------------------

# VGG19 with the tutorial's own layers (content conv_4, style conv_1..conv_5, before their
# ReLUs), so its figures compare with the tutorial's; MobileNetV2 with the project's layers.
LAYERS = {
    "vgg19": LayerWeights(content={"conv2_2": 1.0},
                          style={n: 0.2 for n in ("conv1_1", "conv1_2", "conv2_1", "conv2_2", "conv3_1")}),
    "mobilenet_v2": DEFAULT_LAYERS["mobilenet_v2"],
}

def backbone_weights(backbone: str) -> tuple[dict[str, torch.Tensor], bool]:
    """Real ImageNet weights when found, else torchvision's random initialisation (seed 0)."""
    try:
        return load_state_dict(find_weights(backbone)), True
    except MissingWeightsError:
        torch.manual_seed(0)
        net = getattr(torchvision.models, backbone)(weights=None)
        return {k: v for k, v in net.state_dict().items() if k.startswith("features.")}, False


def layer_indices(backbone: str, names, features: nn.Sequential) -> set[int]:
    aliases = vgg_layer_names(features) if backbone.startswith("vgg") else {}
    return {int(aliases.get(n, n).split(".")[1]) for n in names}


def bench(backbone: str, size: int, steps: int, precision: str) -> None:
    state, real = backbone_weights(backbone)
    layers = LAYERS[backbone]
    content = load_ref("builtin:china", size)
    style = to_tensor(torchvision.transforms.functional.to_pil_image(
        load_ref("builtin:swirls", size)[0]).resize((content.shape[3], content.shape[2])))

    net = getattr(torchvision.models, backbone)(weights=None)
    net.load_state_dict(state, strict=False)
    features = net.features.eval()
    c_idx = layer_indices(backbone, layers.content, features)
    s_idx = layer_indices(backbone, layers.style, features)
    t0, c0 = time.perf_counter(), time.process_time()
    evals = run_tutorial(features, c_idx, s_idx, content, style, steps)
    t_base, cpu_base = time.perf_counter() - t0, time.process_time() - c0

    config = ExtractorConfig(backbone, tuple(dict.fromkeys([*layers.content, *layers.style])))
    extractor = FeatureExtractor(config, state_dict=state)
    spec = TransferSpec(dict(layers.content), dict(layers.style), steps=steps, precision=precision)
    c0 = time.process_time()
    result = stylize(extractor, content, style, spec)
    t_ours, cpu_ours = result.seconds, time.process_time() - c0

    per_base, per_ours = t_base / evals, t_ours / len(result.curve)
    print(f"\n{backbone} ({'real ImageNet' if real else 'RANDOM: timing only'} weights), "
          f"{content.shape[3]}x{content.shape[2]} px, {torch.get_num_threads()} threads, "
          f"load average {os.getloadavg()[0]:.1f}")
    print(f"  tutorial loop : {t_base:7.1f} s for {evals} steps ({per_base * 1000:6.1f} ms/step; "
          f"{per_base * steps:6.1f} s per {steps} steps), float32; CPU {cpu_base / evals * 1000:6.1f} ms/step")
    print(f"  ours          : {t_ours:7.1f} s for {len(result.curve)} steps ({per_ours * 1000:6.1f} ms/step), "
          f"{result.precision}; CPU {cpu_ours / len(result.curve) * 1000:6.1f} ms/step; "
          f"loss {result.curve[0]['total']:.4g} -> {result.final['total']:.4g}")
    cpu_ratio = (cpu_base / evals) / (cpu_ours / len(result.curve))
    print(f"  speed-up      : {per_base / per_ours:5.2f}x per step (wall), {cpu_ratio:5.2f}x (CPU time); goal < 60 s per {steps} steps: "
          f"{'met' if per_ours * steps < 60 else 'NOT met'} ({per_ours * steps:.1f} s)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.style_transfer", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=256, help="long side of the image, px")
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--backbones", nargs="+", default=["mobilenet_v2", "vgg19"])
    parser.add_argument("--precision", default="auto", choices=("auto", "fp32", "bf16"), help="ours only")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    torch.set_flush_denormal(True)
    for backbone in args.backbones:
        bench(backbone, args.size, args.steps, args.precision)
        sys.stdout.flush()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
