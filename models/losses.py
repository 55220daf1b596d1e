"""The lecture's loss functions, one per case study, each tested on hand-computed values.

| loss | case |
| --- | --- |
| :func:`logistic_loss` | day vs night (one sigmoid output) |
| :func:`sequence_loss` | trigger word (a sigmoid at every output step) |
| :func:`triplet_loss`, :func:`batch_semi_hard_triplet_loss` | face verification / recognition |
| :func:`content_loss`, :func:`gram_matrix`, :func:`style_loss` | art generation (style transfer) |
| :func:`yolo_v1_loss` | object detection (the lecture's closing example) |

Losses that follow a sigmoid take raw logits, so the numerically stable form is used; each
returns a scalar tensor averaged over the batch (the sums inside are as the formulas say).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor


def _pos_weight(pos_weight: float | None, like: Tensor) -> Tensor | None:
    return None if pos_weight is None else torch.tensor(pos_weight, dtype=like.dtype, device=like.device)


def logistic_loss(logits: Tensor, targets: Tensor, pos_weight: float | None = None) -> Tensor:
    """Day vs night: the logistic (binary cross-entropy) loss of one sigmoid output per image.

    ``L = -[p y log s(z) + (1 - y) log(1 - s(z))]``, averaged over the batch, with ``z`` the
    logit, ``y`` in {0, 1} (1 = day) and ``p = pos_weight`` (1 when None): weighting the
    positive class, e.g. ``p = n_negative / n_positive`` for an unbalanced set.
    """
    return F.binary_cross_entropy_with_logits(logits, targets.to(logits.dtype),
                                              pos_weight=_pos_weight(pos_weight, logits))


def sequence_loss(logits: Tensor, targets: Tensor, pos_weight: float | None = None,
                  weight: Tensor | None = None, smoothing: float = 0.0, focal_gamma: float = 0.0,
                  pool_positives: bool = False) -> Tensor:
    """Trigger word: the logistic loss at every output step, summed over time, averaged over clips.

    ``logits`` and ``targets`` are ``(B, Ty)`` (targets: the run of ones right after each
    "activate"; soft targets in 0-1 are allowed). ``L = sum_t -[p y_t log s(z_t) + (1 - y_t)
    log(1 - s(z_t))]``. Summing over steps, not averaging, keeps a clip's few positive steps
    from being drowned by its many zeros; ``pos_weight`` (``p``) can weigh them up further.
    ``weight`` (``(B, Ty)``, optional) multiplies each step's term, e.g. to weigh up the zeros
    right after a confusable word. ``smoothing`` (label smoothing, ``e``) trains on
    ``y (1 - e) + e / 2``, so no score is pushed all the way to 0 or 1; ``focal_gamma`` (``g``,
    the focal loss) multiplies each term by ``(1 - q_t)^g``, ``q_t`` the probability given to
    the target (``s(z)`` for a one, ``1 - s(z)`` for a zero): steps already right count less.
    ``pool_positives`` (the max-pooling loss of Sun et al., 2016): each run of ones (targets
    >= 0.5) counts as its highest-scoring step alone, times the run's length, so the detector
    must fire once per word, anywhere in the run, not at every step of it; zeros count as before.
    """
    y = targets.to(logits.dtype)
    if smoothing:
        y = y * (1 - smoothing) + smoothing / 2
    if pool_positives:
        logits, y, weight = _pool_runs(logits, y, targets >= 0.5, weight)
    per_step = F.binary_cross_entropy_with_logits(logits, y, weight=weight,
                                                  pos_weight=_pos_weight(pos_weight, logits), reduction="none")
    if focal_gamma:
        s = torch.sigmoid(logits)
        q = y * s + (1 - y) * (1 - s)
        per_step = per_step * (1 - q).pow(focal_gamma)
    return per_step.sum(dim=1).mean()


def _pool_runs(logits: Tensor, y: Tensor, ones: Tensor, weight: Tensor | None
               ) -> tuple[Tensor, Tensor, Tensor]:
    """``(B, Ty)`` -> ``(B, Ty + Ty)`` logits, targets and weights: the steps that are not ones as
    they were, then one slot per run of ones (its largest logit, its largest target, weighted by its
    length; unused slots weigh 0)."""
    b, t = logits.shape
    starts = ones & ~torch.cat([torch.zeros_like(ones[:, :1]), ones[:, :-1]], dim=1)
    run = (torch.cumsum(starts.long(), dim=1) - 1).clamp_min(0)  # (B, Ty): run index of each one
    slot = (torch.arange(b, device=logits.device)[:, None] * t + run)[ones]  # flat slot of each one
    pooled = torch.full((b * t,), -1e4, dtype=logits.dtype, device=logits.device)
    pooled = pooled.scatter_reduce(0, slot, logits[ones], reduce="amax", include_self=True)
    target = torch.zeros(b * t, dtype=y.dtype, device=y.device).scatter_reduce(0, slot, y[ones], reduce="amax")
    length = torch.zeros(b * t, dtype=y.dtype, device=y.device).index_add_(0, slot, torch.ones_like(y[ones]))
    keep = (~ones).to(y.dtype) * (1.0 if weight is None else weight)
    return (torch.cat([logits, pooled.view(b, t)], dim=1), torch.cat([y * ~ones, target.view(b, t)], dim=1),
            torch.cat([keep, length.view(b, t)], dim=1))


def triplet_loss(anchor: Tensor, positive: Tensor, negative: Tensor, margin: float = 0.2) -> Tensor:
    """Faces: ``max(||f(A) - f(P)||^2 - ||f(A) - f(N)||^2 + margin, 0)``, averaged over triplets.

    ``anchor``, ``positive``, ``negative``: ``(N, D)`` embeddings; A and P show the same person,
    N another. The loss is 0 once the negative is at least ``margin`` farther (squared) than
    the positive. The margin is what stops the trivial solution: if every embedding
    collapsed to one point, both distances would be 0 and the loss would still be ``margin``.
    """
    d_ap = (anchor - positive).pow(2).sum(dim=-1)
    d_an = (anchor - negative).pow(2).sum(dim=-1)
    return F.relu(d_ap - d_an + margin).mean()


def pairwise_sq_distances(embeddings: Tensor) -> Tensor:
    """``(N, D)`` -> ``(N, N)`` squared Euclidean distances (clamped at 0)."""
    sq = embeddings.pow(2).sum(dim=1)
    return (sq[:, None] - 2 * embeddings @ embeddings.T + sq[None, :]).clamp_min(0)


def mine_semi_hard(dist: Tensor, labels: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """Faces: online semi-hard negatives for every (anchor, positive) pair of a P x K batch.

    ``dist``: ``(N, N)`` squared distances; ``labels``: ``(N,)`` identities. For each ordered
    pair (a, p) of the same identity, the negative is the closest one that is still *farther*
    than the positive (``d(a,n) > d(a,p)``; FaceNet's semi-hard: hard enough to teach, not so
    hard that training collapses); when no negative is farther, the farthest negative (the
    least hard of the hard ones) is used, as in TensorFlow's ``triplet_semihard_loss``. Pairs
    whose anchor has no negative in the batch are dropped. Returns index tensors (a, p, n).
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
    """Faces: triplet loss over every (anchor, positive) pair of a batch, negatives mined semi-hard.

    ``embeddings``: ``(N, D)``, ``labels``: ``(N,)``. The mining sees the distances detached
    (a choice of triplets, not a function to differentiate); the loss is averaged over all
    mined triplets, those already past the margin counting as 0.
    """
    dist = pairwise_sq_distances(embeddings)
    a, p, n = mine_semi_hard(dist.detach(), labels)
    if len(a) == 0:
        return embeddings.sum() * 0.0
    return F.relu(dist[a, p] - dist[a, n] + margin).mean()


def gram_matrix(features: Tensor, *, normalize: bool = False) -> Tensor:
    """Art: ``(B, C, H, W)`` -> ``(B, C, C)`` style matrix ``G = A A^T``, ``A`` = ``(C, H W)``.

    ``G[i, j]`` is how much channels i and j fire together, summed over all positions: the
    positions themselves are gone, which is why it carries style (textures, colours, strokes)
    and not content. ``normalize=True`` divides by ``H W`` (a per-position average), so that
    images of different sizes can be compared.
    """
    b, c, h, w = features.shape
    a = features.reshape(b, c, h * w)
    g = a @ a.transpose(1, 2)
    return g / (h * w) if normalize else g


def content_loss(generated: Tensor, content: Tensor) -> Tensor:
    """Art: ``1 / (4 nH nW nC) * sum((a_C - a_G)^2)`` on one layer's activations (the lecture's form).

    ``generated``, ``content``: ``(B, nC, nH, nW)`` activations of the same layer (``content``
    may have batch 1, broadcast). A middle layer: early layers would copy pixels, deep
    ones only what objects are there. Zero when the generated image is the content image.
    """
    _, c, h, w = content.shape
    return (generated - content).pow(2).sum() / (4 * c * h * w) / generated.shape[0]


def style_layer_loss(generated: Tensor, style_gram: Tensor, *, normalized: bool = False) -> Tensor:
    """Art: ``1 / (4 nC^2 (nH nW)^2) * sum((G_S - G_G)^2)`` on one layer (Gatys et al., eq. 4).

    ``generated``: ``(B, nC, nH, nW)`` activations; ``style_gram``: the style image's
    ``(1 or B, nC, nC)`` :func:`gram_matrix` at the same layer. With ``normalized=False`` it
    must come from a style image of the generated image's size (the formula's ``nH nW``);
    with ``normalized=True`` it is ``gram_matrix(style, normalize=True)`` and the style image
    may have any size: ``sum((G_S/M_S - G_G/M_G)^2) / (4 nC^2)``, equal to the formula when
    the sizes match.
    """
    b, c, h, w = generated.shape
    if normalized:
        diff = gram_matrix(generated, normalize=True) - style_gram
        return diff.pow(2).sum() / (4 * c**2) / b
    return (gram_matrix(generated) - style_gram).pow(2).sum() / (4 * c**2 * (h * w) ** 2) / b


def style_loss(generated: list[Tensor], style_grams: list[Tensor], weights: list[float], *,
               normalized: bool = False) -> Tensor:
    """Art: ``sum_l weight_l * style_layer_loss_l`` over the chosen layers (shallow + deep:
    fine and coarse texture). See :func:`style_layer_loss` for ``normalized``."""
    if len(generated) != len(style_grams) or len(generated) != len(weights):
        raise ValueError(f"style_loss: {len(generated)} layers, {len(style_grams)} Gram matrices, "
                         f"{len(weights)} weights")
    total = torch.zeros((), dtype=generated[0].dtype, device=generated[0].device) if generated else torch.zeros(())
    for g, s, wt in zip(generated, style_grams, weights, strict=True):
        total = total + wt * style_layer_loss(g, s, normalized=normalized)
    return total


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


def _signed_sqrt(x: Tensor, eps: float = 1e-6) -> Tensor:
    """``sign(x) sqrt(|x| + eps)``: defined for the negative widths an untrained net predicts;
    ``eps`` bounds the gradient near 0 (at most ``1 / (2 sqrt(eps))``, 500)."""
    return torch.sign(x) * torch.sqrt(x.abs() + eps)


def responsible_box(pred_boxes: Tensor, target_box: Tensor, grid: int) -> Tensor:
    """Index of the responsible predictor per cell: ``(..., nb, 4)``, ``(..., 4)`` -> ``(..., 1)``.

    The predicted box with the highest IoU with the object's box; when no predicted box
    overlaps it at all, the one closest to it (smallest RMS difference of x, y, w, h), as the
    original darknet code does, so the choice is never an arbitrary tie at IoU 0.
    """
    iou = _iou_same_cell(pred_boxes, target_box[..., None, :], grid)  # (..., nb)
    rmse = (pred_boxes - target_box[..., None, :]).pow(2).mean(-1).sqrt()
    overlaps = (iou > 0).any(dim=-1, keepdim=True)
    score = torch.where(overlaps, iou, -rmse)
    return score.argmax(dim=-1, keepdim=True)


def yolo_v1_loss(pred: Tensor, target: Tensor, n_boxes: int = 2, lambda_coord: float = 5.0,
                 lambda_noobj: float = 0.5) -> Tensor:
    """Object detection (YOLO v1, Redmon et al. 2016): the lecture's closing example.

    ``pred``: ``(B, S, S, n_boxes * 5 + C)``, each box (x, y, w, h, confidence) then C class
    scores; ``target``: ``(B, S, S, 5 + C)`` = (x, y, w, h, has_object, one-hot class). x, y
    are relative to the cell (0-1 inside it), w, h to the image. Summed over cells and boxes,
    averaged over images::

        lambda_coord sum_resp [(x - x^)^2 + (y - y^)^2 + (sqrt w - sqrt w^)^2 + (sqrt h - sqrt h^)^2]
      + sum_resp (C - IoU)^2  +  lambda_noobj sum_other C^2
      + sum_cells_with_object sum_classes (p(c) - p^(c))^2

    In a cell with an object one predictor is *responsible* (:func:`responsible_box`): its
    centre and its square-rooted width and height are regressed (the square root makes an
    error on a small box cost more than the same error on a large one) and its confidence
    is pushed to its IoU with the object. Every other box, in cells with or without an
    object, is pushed to confidence 0 with the small weight ``lambda_noobj`` (most cells are
    empty; at full weight they would swamp the rest). Class scores count in cells with an
    object only.
    """
    grid = pred.shape[1]
    boxes = pred[..., : n_boxes * 5].reshape(*pred.shape[:3], n_boxes, 5)  # (B, S, S, nb, 5)
    classes = pred[..., n_boxes * 5:]  # (B, S, S, C)
    has_obj = target[..., 4]  # (B, S, S)
    t_box = target[..., :4]  # (B, S, S, 4)
    iou = _iou_same_cell(boxes[..., :4], t_box[..., None, :], grid)  # (B, S, S, nb)
    best = responsible_box(boxes[..., :4].detach(), t_box, grid)  # (B, S, S, 1)
    responsible = torch.zeros_like(iou).scatter_(-1, best, 1.0) * has_obj[..., None]  # (B, S, S, nb)

    xy = (boxes[..., :2] - t_box[..., None, :2]).pow(2).sum(-1)
    wh = (_signed_sqrt(boxes[..., 2:4]) - _signed_sqrt(t_box[..., None, 2:4])).pow(2).sum(-1)
    coord = lambda_coord * ((xy + wh) * responsible).sum()
    conf = boxes[..., 4]
    obj = ((conf - iou.detach()).pow(2) * responsible).sum()
    noobj = lambda_noobj * (conf.pow(2) * (1 - responsible)).sum()
    cls = ((classes - target[..., 5:]).pow(2).sum(-1) * has_obj).sum()
    return (coord + obj + noobj + cls) / pred.shape[0]
