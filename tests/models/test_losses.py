"""The lecture's losses on small inputs whose values are worked out by hand in the comments."""

from __future__ import annotations

import math

import pytest
import torch

from models.losses import (
    batch_semi_hard_triplet_loss,
    content_loss,
    gram_matrix,
    logistic_loss,
    mine_semi_hard,
    pairwise_sq_distances,
    responsible_box,
    sequence_loss,
    style_layer_loss,
    style_loss,
    triplet_loss,
    yolo_v1_loss,
)

LN2, LN3 = math.log(2), math.log(3)


def close(x: torch.Tensor, value: float, tol: float = 1e-5) -> bool:
    return abs(float(x) - value) < tol


# --- logistic (day/night) and sequence (trigger word) -------------------------------------

def test_logistic_loss_by_hand():
    # s(0) = 1/2 with y=1 -> ln 2; s(ln 3) = 3/4 with y=0 -> -ln(1/4) = 2 ln 2; mean 1.5 ln 2.
    logits, y = torch.tensor([0.0, LN3]), torch.tensor([1, 0])
    assert close(logistic_loss(logits, y), 1.5 * LN2)
    # pos_weight 3 triples the positive's term: (3 ln 2 + 2 ln 2) / 2.
    assert close(logistic_loss(logits, y, pos_weight=3.0), 2.5 * LN2)


def test_logistic_loss_is_stable_for_huge_logits():
    loss = logistic_loss(torch.tensor([1000.0, -1000.0]), torch.tensor([1, 0]))
    assert torch.isfinite(loss) and close(loss, 0.0)
    assert close(logistic_loss(torch.tensor([-1000.0]), torch.tensor([1])), 1000.0, 1e-3)


def test_sequence_loss_sums_steps_and_averages_clips():
    # clip 1: three steps at s=1/2 -> 3 ln 2; clip 2: s(ln3)=3/4 with y=1 twice and
    # s(-ln3)=1/4 with y=0 -> 3 ln(4/3); mean over clips: 1.5 (ln 2 + ln 4/3) = 1.5 ln(8/3).
    logits = torch.tensor([[0.0, 0.0, 0.0], [LN3, LN3, -LN3]])
    y = torch.tensor([[0, 1, 0], [1, 1, 0]])
    assert close(sequence_loss(logits, y), 1.5 * math.log(8 / 3))
    # Summing over steps: doubling the clip length doubles the loss (a mean would not).
    assert close(sequence_loss(logits.repeat(1, 2), y.repeat(1, 2)), 3 * math.log(8 / 3))
    # pos_weight 2 on clip 1 doubles its one positive's term: 2 ln 2 + 2 ln 2 (the zeros).
    w = sequence_loss(logits[:1], y[:1], pos_weight=2.0)
    assert close(w, 4 * LN2)


# --- triplet (faces) -----------------------------------------------------------------------

def test_triplet_loss_by_hand():
    a = torch.tensor([[0.0, 0.0], [0.0, 0.0]])
    p = torch.tensor([[1.0, 0.0], [2.0, 0.0]])
    n = torch.tensor([[0.0, 2.0], [1.0, 0.0]])
    # triplet 1: d_ap 1, d_an 4: 1 - 4 + 0.2 < 0 -> 0 (margin met); triplet 2: 4 - 1 + 0.2 = 3.2.
    assert close(triplet_loss(a[:1], p[:1], n[:1]), 0.0)
    assert close(triplet_loss(a, p, n), 1.6)
    assert close(triplet_loss(a, p, n, margin=1.0), (0 + 4.0) / 2)


def test_triplet_loss_is_margin_when_embeddings_collapse():
    same = torch.full((5, 8), 0.3)
    assert close(triplet_loss(same, same, same, margin=0.2), 0.2)
    assert close(triplet_loss(same, same, same, margin=0.7), 0.7)


def test_pairwise_sq_distances():
    x = torch.tensor([[0.0], [1.0], [2.0], [5.0]])
    d = pairwise_sq_distances(x)
    assert torch.allclose(d, (x - x.T) ** 2)
    assert (d.diagonal() == 0).all()


# Four 1-D embeddings, identities 0, 0, 1, 1; squared distances:
#   d(0,1)=1  d(0,2)=4  d(0,3)=25  d(1,2)=1  d(1,3)=16  d(2,3)=9
EMB = torch.tensor([[0.0], [1.0], [2.0], [5.0]])
LABELS = torch.tensor([0, 0, 1, 1])


def test_mine_semi_hard_on_a_fixed_batch():
    a, p, n = mine_semi_hard(pairwise_sq_distances(EMB), LABELS)
    # (0,1): d_ap 1, negatives at 4 and 25 both farther -> the closer one, 2.
    # (1,0): d_ap 1, negatives at 1 (not farther) and 16 -> 3.
    # (2,3): d_ap 9, negatives at 4 and 1, none farther -> the farthest, 0.
    # (3,2): d_ap 9, negatives at 25 and 16 -> the closer farther one, 1.
    assert a.tolist() == [0, 1, 2, 3]
    assert p.tolist() == [1, 0, 3, 2]
    assert n.tolist() == [2, 3, 0, 1]


def test_batch_semi_hard_triplet_loss_by_hand():
    # Terms (d_ap - d_an + m): 1-4, 1-16, 9-4, 9-16, plus m.
    assert close(batch_semi_hard_triplet_loss(EMB, LABELS, margin=0.2), (0 + 0 + 5.2 + 0) / 4)
    assert close(batch_semi_hard_triplet_loss(EMB, LABELS, margin=3.5), (0.5 + 0 + 8.5 + 0) / 4)


def test_batch_semi_hard_without_pairs_is_zero_with_a_gradient():
    emb = torch.randn(3, 4, requires_grad=True)
    loss = batch_semi_hard_triplet_loss(emb, torch.tensor([0, 1, 2]))
    assert float(loss.detach()) == 0.0
    loss.backward()  # still part of the graph


# --- content and style (art) ---------------------------------------------------------------

# One image, two channels on a 2 x 2 map: A = [[1, 2, 3, 4], [0, 1, 0, 1]].
FEAT = torch.tensor([[[[1.0, 2.0], [3.0, 4.0]], [[0.0, 1.0], [0.0, 1.0]]]])


def test_gram_matrix_of_a_known_feature_map():
    # G = A A^T: [[1+4+9+16, 2+4], [2+4, 1+1]].
    g = gram_matrix(FEAT)
    assert g.shape == (1, 2, 2)
    assert torch.equal(g[0], torch.tensor([[30.0, 6.0], [6.0, 2.0]]))
    assert torch.equal(gram_matrix(FEAT, normalize=True)[0], torch.tensor([[7.5, 1.5], [1.5, 0.5]]))


def test_content_loss_by_hand_and_zero_for_itself():
    assert float(content_loss(FEAT, FEAT)) == 0.0
    # Every activation off by 1: 8 squared errors / (4 * nC 2 * nH 2 * nW 2) = 8 / 32.
    assert close(content_loss(FEAT + 1, FEAT), 0.25)
    x = torch.randn(1, 16, 9, 7)
    assert float(content_loss(x, x)) == 0.0


def test_style_layer_loss_by_hand():
    # Against a zero Gram: sum G^2 = 900 + 36 + 36 + 4 = 976, / (4 * 2^2 * (2*2)^2) = 976 / 256.
    zero = torch.zeros(1, 2, 2)
    assert close(style_layer_loss(FEAT, zero), 976 / 256)
    # The size-free form gives the same value when sizes match: sum (G/4)^2 / (4 * 2^2) = 61 / 16.
    assert close(style_layer_loss(FEAT, zero, normalized=True), 976 / 256)
    assert float(style_layer_loss(FEAT, gram_matrix(FEAT))) == 0.0


def test_style_loss_weights_layers_and_checks_lengths():
    zero = torch.zeros(1, 2, 2)
    assert close(style_loss([FEAT, FEAT], [zero, zero], [0.25, 2.0]), 2.25 * 976 / 256)
    with pytest.raises(ValueError, match="2 layers, 1 Gram"):
        style_loss([FEAT, FEAT], [zero], [1.0, 1.0])


def test_style_loss_invariant_to_shuffling_positions():
    g = torch.Generator().manual_seed(0)
    gen = torch.rand(1, 8, 6, 5, generator=g)
    style = torch.rand(1, 8, 6, 5, generator=g)
    perm = torch.randperm(30, generator=g)
    shuffled = gen.reshape(1, 8, 30)[:, :, perm].reshape(1, 8, 6, 5)
    assert not torch.equal(shuffled, gen)
    grams = [gram_matrix(style)]
    before, after = style_loss([gen], grams, [1.0]), style_loss([shuffled], grams, [1.0])
    assert torch.allclose(before, after, rtol=1e-5)
    # ... while the content loss sees the move.
    assert float(content_loss(shuffled, gen)) > 0


def test_normalized_style_loss_compares_images_of_different_sizes():
    # A texture repeated 2 x 2 has the same per-position Gram as one tile.
    tile = torch.rand(1, 4, 3, 3, generator=torch.Generator().manual_seed(1))
    big = tile.repeat(1, 1, 2, 2)
    loss = style_layer_loss(big, gram_matrix(tile, normalize=True), normalized=True)
    assert close(loss, 0.0, 1e-6)


# --- YOLO v1 (detection) -------------------------------------------------------------------

def _yolo(boxes: list[list[float]], classes: list[float]) -> torch.Tensor:
    """One image, a 1 x 1 grid: boxes (x, y, w, h, conf) then class scores -> (1, 1, 1, 5 nb + C)."""
    return torch.tensor(sum(boxes, []) + classes).view(1, 1, 1, -1)


TARGET = torch.tensor([0.5, 0.5, 0.25, 0.25, 1.0, 1.0, 0.0]).view(1, 1, 1, -1)  # box, object, class 0


def test_yolo_loss_confidence_and_class_terms():
    # Box 1 is the target box (IoU 1), box 2 a centred half-side box (IoU 0.25).
    pred = _yolo([[0.5, 0.5, 0.25, 0.25, 0.9], [0.5, 0.5, 0.125, 0.125, 0.3]], [0.8, 0.1])
    # coord 0; object (0.9 - 1)^2 = 0.01; no-object 0.5 * 0.3^2 = 0.045; class 0.2^2 + 0.1^2 = 0.05.
    assert close(yolo_v1_loss(pred, TARGET), 0.105)
    assert close(yolo_v1_loss(pred, TARGET, lambda_noobj=1.0), 0.01 + 0.09 + 0.05)


def test_yolo_loss_coordinate_term_uses_square_roots():
    # Responsible box (0.6, 0.4, 0.36, 0.16): xy (0.1^2 + 0.1^2) + wh ((0.6-0.5)^2 + (0.4-0.5)^2)
    # = 0.04, times lambda_coord 5 -> 0.2. Its IoU with the target: corners x .42-.78, y .32-.48
    # against .375-.625: intersection .205 * .105 = .021525, union .0576 + .0625 - .021525.
    # Confidence 0 -> object term IoU^2. Box 2 (no overlap, confidence 0) and classes add 0.
    pred = _yolo([[0.6, 0.4, 0.36, 0.16, 0.0], [0.1, 0.1, 0.05, 0.05, 0.0]], [1.0, 0.0])
    iou = 0.021525 / (0.0576 + 0.0625 - 0.021525)
    assert close(yolo_v1_loss(pred, TARGET), 0.2 + iou**2, 1e-4)
    assert close(yolo_v1_loss(pred, TARGET, lambda_coord=1.0), 0.04 + iou**2, 1e-4)


def test_yolo_loss_weighs_small_box_errors_more():
    def coord_loss(w_true: float, w_pred: float) -> float:
        target = torch.tensor([0.5, 0.5, w_true, w_true, 1.0, 1.0]).view(1, 1, 1, -1)
        pred = _yolo([[0.5, 0.5, w_pred, w_pred, 0.0]], [1.0])
        iou = (min(w_true, w_pred) / max(w_true, w_pred)) ** 2
        return float(yolo_v1_loss(pred, target, n_boxes=1)) - iou**2  # minus the object term

    assert coord_loss(0.05, 0.10) > 3 * coord_loss(0.50, 0.55)


def test_yolo_loss_empty_cells_count_confidence_only_and_batch_is_averaged():
    pred = torch.zeros(1, 2, 2, 12)
    pred[..., 4], pred[..., 9] = 0.4, 0.2  # confidences of the two boxes in every cell
    pred[..., 10:] = 0.7  # class scores: ignored where there is no object
    target = torch.zeros(1, 2, 2, 7)
    # 4 cells * 0.5 * (0.16 + 0.04) = 0.4
    assert close(yolo_v1_loss(pred, target), 0.4)
    assert close(yolo_v1_loss(pred.repeat(3, 1, 1, 1), target.repeat(3, 1, 1, 1)), 0.4)


def test_responsible_box_falls_back_to_closest_without_overlap():
    target = torch.tensor([0.5, 0.5, 0.1, 0.1])
    far = torch.tensor([[0.0, 0.0, 0.05, 0.05], [0.9, 0.9, 0.05, 0.05]])  # neither overlaps; 2nd closer
    assert responsible_box(far, target, grid=1).item() == 1
    overlap = torch.tensor([[0.5, 0.5, 0.05, 0.05], [0.5, 0.5, 0.1, 0.1]])  # IoU 0.25 vs 1
    assert responsible_box(overlap, target, grid=1).item() == 1
