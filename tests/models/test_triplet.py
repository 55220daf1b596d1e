"""The triplet loss and semi-hard mining on hand-made vectors, and the face encoder's output."""

from __future__ import annotations

import torch

from models.face_encoder import FaceEncoder, FaceEncoderConfig
from models.losses import (
    batch_semi_hard_triplet_loss,
    mine_semi_hard,
    pairwise_sq_distances,
    triplet_loss,
)


def test_triplet_loss_is_zero_when_the_margin_is_met():
    a = torch.tensor([[1.0, 0.0]])
    p = torch.tensor([[0.9, 0.1]])  # d(a,p)^2 = 0.02
    n = torch.tensor([[0.0, 1.0]])  # d(a,n)^2 = 2
    assert triplet_loss(a, p, n, margin=0.2).item() == 0.0


def test_triplet_loss_is_the_margin_when_embeddings_collapse():
    x = torch.tensor([[0.6, 0.8]] * 3)
    assert torch.isclose(triplet_loss(x[:1], x[1:2], x[2:], margin=0.2), torch.tensor(0.2))
    labels = torch.tensor([0, 0, 1, 1])
    collapsed = torch.tensor([[0.6, 0.8]] * 4)
    assert torch.isclose(batch_semi_hard_triplet_loss(collapsed, labels, 0.2), torch.tensor(0.2))


def test_triplet_loss_hand_value():
    a, p, n = torch.tensor([[0.0, 0.0]]), torch.tensor([[0.3, 0.0]]), torch.tensor([[0.0, 0.2]])
    # 0.09 - 0.04 + 0.2 = 0.25
    assert torch.isclose(triplet_loss(a, p, n, 0.2), torch.tensor(0.25))


def test_semi_hard_mining_picks_the_closest_negative_farther_than_the_positive():
    # 1-D points: person 0 at 0.0 and 1.0; person 1 at 0.5 (closer than the positive: hard),
    # 1.5 and 3.0 (farther: semi-hard candidates).
    x = torch.tensor([[0.0], [1.0], [0.5], [1.5], [3.0]])
    labels = torch.tensor([0, 0, 1, 1, 1])
    a, p, n = mine_semi_hard(pairwise_sq_distances(x), labels)
    chosen = {(int(i), int(j)): int(k) for i, j, k in zip(a, p, n, strict=True)}
    assert chosen[(0, 1)] == 3  # d(0,1)=1; negatives 0.25 (hard), 2.25, 9 -> 1.5 is semi-hard
    assert chosen[(1, 0)] == 4  # d(1,0)=1; negatives 0.25, 0.25, 4 -> only 3.0 is farther
    # anchor 2 (person 1, at 0.5) with positive 4 (at 3.0): d=6.25; no negative is farther -> the farthest
    assert chosen[(2, 4)] in (0, 1)
    assert chosen[(3, 2)] == 0  # d(1.5,0.5)=1; negatives at d 2.25 (0.0) and 0.25 (1.0) -> 0.0


def test_encoder_gives_unit_vectors_of_the_configured_size():
    torch.manual_seed(0)
    model = FaceEncoder(FaceEncoderConfig(input_size=32, channels=(8, 16), embedding_dim=128))
    out = model(torch.randint(0, 256, (3, 3, 32, 32)))
    assert out.shape == (3, 128)
    assert torch.allclose(out.norm(dim=1), torch.ones(3), atol=1e-5)
