"""The lecture's loss functions, one per case study.

Each takes raw network outputs (logits where a sigmoid follows) so the numerically stable
form can be used, and returns a scalar tensor averaged over the batch.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor


def logistic_loss(logits: Tensor, targets: Tensor, pos_weight: float | None = None) -> Tensor:
    """Day vs night: the logistic (binary cross-entropy) loss of a sigmoid output.

    ``L = -[y log s(z) + (1 - y) log(1 - s(z))]``, averaged over the batch. ``pos_weight``
    scales the positive class's term (class weighting for unbalanced sets).
    """
    weight = None if pos_weight is None else torch.tensor(pos_weight, dtype=logits.dtype)
    return F.binary_cross_entropy_with_logits(logits, targets.to(logits.dtype), pos_weight=weight)


def sequence_loss(logits: Tensor, targets: Tensor, pos_weight: float | None = None) -> Tensor:
    """Trigger word: binary cross-entropy at every output step, summed over time, averaged over clips.

    ``logits`` and ``targets`` are ``(B, Ty)``. Summing over steps (rather than averaging)
    keeps the few positive steps of a clip from being drowned by its many zeros.
    """
    weight = None if pos_weight is None else torch.tensor(pos_weight, dtype=logits.dtype)
    per_step = F.binary_cross_entropy_with_logits(logits, targets.to(logits.dtype), pos_weight=weight,
                                                  reduction="none")
    return per_step.sum(dim=1).mean()


def triplet_loss(anchor: Tensor, positive: Tensor, negative: Tensor, margin: float = 0.2) -> Tensor:
    """Faces: ``max(||f(A) - f(P)||^2 - ||f(A) - f(N)||^2 + margin, 0)``, averaged over triplets.

    The margin is what stops the trivial solution: if every embedding collapsed to one point,
    both distances would be 0 and the loss would still be ``margin``.
    """
    d_ap = (anchor - positive).pow(2).sum(dim=-1)
    d_an = (anchor - negative).pow(2).sum(dim=-1)
    return F.relu(d_ap - d_an + margin).mean()


def pairwise_sq_distances(embeddings: Tensor) -> Tensor:
    """``(N, D)`` -> ``(N, N)`` squared Euclidean distances (clamped at 0)."""
    sq = embeddings.pow(2).sum(dim=1)
    return (sq[:, None] - 2 * embeddings @ embeddings.T + sq[None, :]).clamp_min(0)


def mine_semi_hard(dist: Tensor, labels: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """Online semi-hard negatives for every (anchor, positive) pair of a P x K batch.

    For each pair, the negative is the closest one that is still *farther* than the positive
    (``d(a,n) > d(a,p)``: hard enough to teach, not so hard that training collapses); when no
    negative is farther, the farthest negative is used. Returns index tensors (a, p, n).
    """
    same = labels[:, None] == labels[None, :]
    eye = torch.eye(len(labels), dtype=torch.bool, device=labels.device)
    a_idx, p_idx = torch.nonzero(same & ~eye, as_tuple=True)
    d_ap = dist[a_idx, p_idx][:, None]  # (pairs, 1)
    d_an = dist[a_idx]  # (pairs, N)
    neg = ~same[a_idx]
    inf = torch.finfo(dist.dtype).max
    semi = neg & (d_an > d_ap)
    closest_semi = torch.where(semi, d_an, torch.full_like(d_an, inf)).argmin(dim=1)
    farthest = torch.where(neg, d_an, torch.full_like(d_an, -inf)).argmax(dim=1)
    n_idx = torch.where(semi.any(dim=1), closest_semi, farthest)
    keep = neg.any(dim=1)
    return a_idx[keep], p_idx[keep], n_idx[keep]


def batch_semi_hard_triplet_loss(embeddings: Tensor, labels: Tensor, margin: float = 0.2) -> Tensor:
    """Triplet loss over every (anchor, positive) pair of a batch, negatives mined semi-hard."""
    dist = pairwise_sq_distances(embeddings)
    a, p, n = mine_semi_hard(dist.detach(), labels)
    if len(a) == 0:
        return embeddings.sum() * 0.0
    return F.relu(dist[a, p] - dist[a, n] + margin).mean()


def gram_matrix(features: Tensor) -> Tensor:
    """Art: ``(B, C, H, W)`` -> ``(B, C, C)`` channel correlations ``G = A A^T`` (no position left)."""
    b, c, h, w = features.shape
    a = features.reshape(b, c, h * w)
    return a @ a.transpose(1, 2)


def content_loss(generated: Tensor, content: Tensor) -> Tensor:
    """Art: ``1 / (4 nH nW nC) * sum((a_C - a_G)^2)`` on one layer's activations."""
    _, c, h, w = content.shape
    return (generated - content).pow(2).sum() / (4 * c * h * w) / generated.shape[0]


def style_layer_loss(generated: Tensor, style_gram: Tensor) -> Tensor:
    """Art: ``1 / (4 nC^2 (nH nW)^2) * sum((G_S - G_G)^2)`` on one layer."""
    _, c, h, w = generated.shape
    return (gram_matrix(generated) - style_gram).pow(2).sum() / (4 * c**2 * (h * w) ** 2) / generated.shape[0]


def style_loss(generated: list[Tensor], style_grams: list[Tensor], weights: list[float]) -> Tensor:
    """Art: the weighted sum of :func:`style_layer_loss` over the chosen layers."""
    return sum(wt * style_layer_loss(g, s) for g, s, wt in zip(generated, style_grams, weights, strict=True))


def _iou_same_cell(a: Tensor, b: Tensor, grid: int) -> Tensor:
    """IoU of boxes ``(..., 4)`` = (x, y, w, h) in one cell: x, y cell-relative, w, h image-relative."""
    def corners(box: Tensor) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        cx, cy = box[..., 0] / grid, box[..., 1] / grid
        return cx - box[..., 2] / 2, cy - box[..., 3] / 2, cx + box[..., 2] / 2, cy + box[..., 3] / 2

    ax0, ay0, ax1, ay1 = corners(a)
    bx0, by0, bx1, by1 = corners(b)
    inter = (torch.min(ax1, bx1) - torch.max(ax0, bx0)).clamp_min(0) * (torch.min(ay1, by1) - torch.max(ay0, by0)).clamp_min(0)
    union = (ax1 - ax0).clamp_min(0) * (ay1 - ay0).clamp_min(0) + (bx1 - bx0).clamp_min(0) * (by1 - by0).clamp_min(0) - inter
    return inter / union.clamp_min(1e-9)


def _signed_sqrt(x: Tensor) -> Tensor:
    return torch.sign(x) * torch.sqrt(x.abs() + 1e-12)


def yolo_v1_loss(pred: Tensor, target: Tensor, n_boxes: int = 2, lambda_coord: float = 5.0,
                 lambda_noobj: float = 0.5) -> Tensor:
    """Object detection (YOLO v1): the lecture's closing example, summed over cells, averaged over images.

    ``pred``: ``(B, S, S, n_boxes * 5 + C)``, each box (x, y, w, h, confidence) then C class
    scores; ``target``: ``(B, S, S, 5 + C)`` = (x, y, w, h, has_object, one-hot class). x, y
    are relative to the cell, w, h to the image. In a cell with an object, the predicted box
    with the highest IoU is *responsible*: its centre and its square-rooted width and height
    are regressed (the square root makes an error on a small box cost more than the same
    error on a large one), and its confidence is pushed to the IoU. Every other box is pushed
    to confidence 0 with weight ``lambda_noobj``. Class scores are regressed in cells with
    an object only.
    """
    grid = pred.shape[1]
    boxes = pred[..., : n_boxes * 5].reshape(*pred.shape[:3], n_boxes, 5)  # (B, S, S, nb, 5)
    classes = pred[..., n_boxes * 5:]
    has_obj = target[..., 4]  # (B, S, S)
    t_box = target[..., :4]
    iou = _iou_same_cell(boxes[..., :4], t_box[..., None, :], grid)  # (B, S, S, nb)
    best = iou.argmax(dim=-1, keepdim=True)
    responsible = torch.zeros_like(iou).scatter_(-1, best, 1.0) * has_obj[..., None]
    resp = responsible.bool()

    xy = (boxes[..., :2] - t_box[..., None, :2]).pow(2).sum(-1)
    wh = (_signed_sqrt(boxes[..., 2:4]) - _signed_sqrt(t_box[..., None, 2:4])).pow(2).sum(-1)
    coord = lambda_coord * ((xy + wh) * responsible).sum()
    conf = boxes[..., 4]
    obj = ((conf - iou.detach()).pow(2) * responsible).sum()
    noobj = lambda_noobj * (conf.pow(2) * (~resp).to(conf.dtype)).sum()
    cls = ((classes - target[..., 5:]).pow(2).sum(-1) * has_obj).sum()
    return (coord + obj + noobj + cls) / pred.shape[0]
