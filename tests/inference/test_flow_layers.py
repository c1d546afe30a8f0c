"""The flow's fast path computes what Pyro's layers and torch's clip + Adam compute, number for number."""

import copy

import pytest
import torch

from pp_vae.inference.flow_layers import FlatWeights, flow_layers, push_layer


@pytest.fixture(autouse=True)
def float64():
    """The flow runs in float64 (``_torch_session``); so do these checks."""
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(previous)


def _random_iaf(seed: int = 0, d: int = 3) -> torch.nn.Module:
    """Two IAF layers with every weight random (the last layer too, unlike the identity start)."""
    torch.manual_seed(seed)
    transform = flow_layers("iaf", d, 2, [12, 12])
    with torch.no_grad():
        for weight in transform.parameters():
            weight.normal_(0, 0.5)
    return transform


def _pyro_push(transform: torch.nn.Module, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    log_det = torch.zeros(x.shape[:-1])
    for part in transform:
        y = part(x)
        log_det, x = log_det + part.log_abs_det_jacobian(x, y), y
    return x, log_det


@pytest.mark.parametrize("flow", ["iaf", "spline"])
def test_push_layer_gives_pyros_draws_and_log_jacobians(flow):
    torch.manual_seed(1)
    transform = _random_iaf() if flow == "iaf" else flow_layers("spline", 3, 2, [12, 12])
    FlatWeights(transform, 1e-3)  # zeroes the masked entries, which Pyro's masked layers ignore anyway
    x = torch.randn(64, 3)
    expected_y, expected_log_det = _pyro_push(transform, x)
    y, log_det = x, torch.zeros(64)
    for part in transform:
        y, part_log_det = push_layer(part, y)
        log_det = log_det + part_log_det
    torch.testing.assert_close(y, expected_y, rtol=0, atol=1e-12)
    torch.testing.assert_close(log_det, expected_log_det, rtol=0, atol=1e-12)


def _loss(transform: torch.nn.Module, x: torch.Tensor, fast: bool) -> torch.Tensor:
    if not fast:
        y, log_det = _pyro_push(transform, x)
    else:
        y, log_det = x, torch.zeros(x.shape[0])
        for part in transform:
            y, part_log_det = push_layer(part, y)
            log_det = log_det + part_log_det
    return ((y**2).sum(-1) - log_det).mean() * 50  # scaled so that the clip at norm 10 acts


def test_flat_weights_step_like_clip_grad_norm_and_adam_and_keep_masked_weights_zero():
    reference = _random_iaf()
    for layer in reference.modules():  # the reference's masked entries zero too, so both start from the same map
        if hasattr(layer, "mask"):
            layer.weight.data.mul_(layer.mask)
    fast = copy.deepcopy(reference)
    weights = list(reference.parameters())
    adam = torch.optim.Adam(weights, lr=1e-2, fused=True)
    flat = FlatWeights(fast, 1e-2)
    clipped = 0
    for step in range(20):
        x = torch.randn(32, 3, generator=torch.Generator().manual_seed(step))
        adam.zero_grad()
        _loss(reference, x, fast=False).backward()
        clipped += float(torch.nn.utils.clip_grad_norm_(weights, 10.0)) > 10.0
        adam.step()
        flat.zero_grad()
        _loss(fast, x, fast=True).backward()
        flat.step(1.0, max_norm=10.0)
    assert clipped >= 5  # the clip was exercised
    for expected, got in zip(reference.parameters(), fast.parameters(), strict=True):
        torch.testing.assert_close(got, expected, rtol=1e-9, atol=1e-12)
    masked = [(layer.weight, layer.mask) for layer in fast.modules() if hasattr(layer, "mask")]
    assert masked and all(bool((w[m == 0] == 0).all()) for w, m in masked)
