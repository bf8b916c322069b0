"""NT-Xent, SimCLR's contrastive loss, against a loop-by-loop reference."""

import math

import pytest
import torch

from selection_engine.embedding.loss import NTXentLoss


def reference_ntxent(z0, z1, temperature):
    """Textbook NT-Xent in float64: for each of the 2B samples,
    -log(exp(sim_pos / t) / sum_{k != i} exp(sim_ik / t)), averaged."""
    z = torch.cat([z0, z1]).double()
    n, batch = len(z), len(z0)

    def sim(a, b):
        return float(z[a] @ z[b] / (z[a].norm() * z[b].norm()))

    total = 0.0
    for i in range(n):
        positive = (i + batch) % n
        denominator = sum(math.exp(sim(i, k) / temperature) for k in range(n) if k != i)
        total += -math.log(math.exp(sim(i, positive) / temperature) / denominator)
    return total / n


def random_pair(batch=4, dim=8, seed=0):
    generator = torch.Generator().manual_seed(seed)
    return torch.randn(batch, dim, generator=generator), torch.randn(batch, dim, generator=generator)


@pytest.mark.parametrize("temperature", [0.1, 0.5, 1.0])
@pytest.mark.parametrize("batch, seed", [(2, 0), (4, 1), (7, 2)])
def test_matches_the_reference(temperature, batch, seed):
    z0, z1 = random_pair(batch, 8, seed)
    loss = NTXentLoss(temperature)(z0, z1)
    assert loss.shape == ()
    assert loss.item() == pytest.approx(reference_ntxent(z0, z1, temperature), abs=1e-5)


def test_identical_views_of_orthogonal_samples_score_lower_than_random_pairs():
    loss = NTXentLoss(0.5)
    orthogonal = torch.eye(4, 8)
    assert loss(orthogonal, orthogonal) < loss(*random_pair(4, 8))


def test_temperature_changes_the_value():
    z0, z1 = random_pair()
    assert NTXentLoss(0.1)(z0, z1).item() != pytest.approx(NTXentLoss(0.5)(z0, z1).item())


def test_symmetric_in_the_views_and_blind_to_scale():
    z0, z1 = random_pair()
    loss = NTXentLoss(0.5)
    assert loss(z1, z0).item() == pytest.approx(loss(z0, z1).item(), abs=1e-6)
    assert loss(3 * z0, 0.5 * z1).item() == pytest.approx(loss(z0, z1).item(), abs=1e-6)


def test_stable_at_a_low_temperature():
    z0, z1 = random_pair()
    value = NTXentLoss(0.01)(z0, z1)
    assert value.isfinite()
    assert value.item() == pytest.approx(reference_ntxent(z0, z1, 0.01), rel=1e-5)


def test_gradient_flows_to_both_views():
    z0, z1 = (z.requires_grad_() for z in random_pair())
    NTXentLoss(0.5)(z0, z1).backward()
    for z in (z0, z1):
        assert z.grad is not None and z.grad.isfinite().all() and z.grad.abs().sum() > 0


def test_rejects_mismatched_batches_and_a_bad_temperature():
    with pytest.raises(ValueError, match="z0 and z1"):
        NTXentLoss()(torch.zeros(4, 8), torch.zeros(3, 8))
    with pytest.raises(ValueError, match="temperature"):
        NTXentLoss(0)
