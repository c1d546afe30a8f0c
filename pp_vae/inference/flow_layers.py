"""The flow's layers (Pyro's autoregressive transforms) and a fast way through them and their optimiser.

A flow step on a small posterior is tens of tiny torch operations, so its cost is per operation, not per
number: the backward pass, the gradient clip and Adam each cost about as much as the target's gradients.
Two changes cut that by a fifth without changing a single number the step computes:

* :class:`FlatWeights` keeps every weight and gradient of the layers as views into one contiguous tensor, so
  zeroing, clipping and Adam are one kernel each instead of one per layer tensor (the "flat parameter" that
  FSDP and apex use for the same reason);
* :func:`push_layer` runs an affine autoregressive layer without the mask multiply of each masked linear
  layer: the masked weights start at zero and :meth:`FlatWeights.mask_gradients` keeps their gradients at
  zero, so they stay zero and ``W x`` equals Pyro's ``(mask * W) x`` exactly.

Spline layers go through Pyro's own call (their bins are not worth a second implementation).
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import torch


def flow_layers(flow: str, d: int, layers: int, hidden: list[int]) -> Any:
    """Pyro's autoregressive transforms, the affine ones starting at the identity."""
    import pyro.distributions.transforms as T
    import torch

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # AutoRegressiveNN on d = 1: "consider an affine transformation"
        if flow == "iaf":
            transform = T.iterated(layers, T.affine_autoregressive, d, hidden_dims=hidden)
            for part in transform:  # zero the last layer: loc 0, log-scale 0, the identity map
                last = part.arn.layers[-1]
                torch.nn.init.zeros_(last.weight)
                torch.nn.init.zeros_(last.bias)
        else:
            transform = T.iterated(layers, T.spline_autoregressive, d, hidden_dims=hidden, count_bins=8, bound=5.0)
    return transform


def push_layer(part: Any, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``(y, log |dy/dx|)`` of one layer: the affine one computed directly (see the module docstring), a spline by Pyro."""
    import pyro.distributions.transforms as T
    import torch
    from pyro.distributions.transforms.utils import clamp_preserve_gradients

    if not isinstance(part, T.AffineAutoregressive) or part.stable:
        y = part(x)
        return y, part.log_abs_det_jacobian(x, y)
    arn = part.arn
    *hidden, last = arn.layers._modules.values()  # not arn.layers[:-1], which builds a ModuleList every call
    activation = torch.relu if isinstance(arn.f, torch.nn.ReLU) else arn.f
    h = x
    for layer in hidden:
        h = activation(torch.nn.functional.linear(h, layer.weight, layer.bias))
    h = torch.nn.functional.linear(h, last.weight, last.bias).reshape(x.shape[:-1] + (arn.output_multiplier, arn.input_dim))
    mean, log_scale = h.unbind(-2)
    log_scale = clamp_preserve_gradients(log_scale, part.log_scale_min_clip, part.log_scale_max_clip)
    return torch.exp(log_scale) * x + mean, log_scale.sum(-1)


class FlatWeights:
    """Every weight of ``module`` (and its gradient) as a view into one tensor, and torch's fused Adam over it."""

    def __init__(self, module: torch.nn.Module, learning_rate: float) -> None:
        import torch

        weights = list(module.parameters())
        masks: dict[int, torch.Tensor] = {
            id(layer.weight): mask for layer in module.modules() if isinstance(mask := getattr(layer, "mask", None), torch.Tensor)
        }
        self.grad = torch.zeros(sum(w.numel() for w in weights))
        with torch.no_grad():
            for weight in weights:
                if id(weight) in masks:
                    weight.mul_(masks[id(weight)])  # masked entries zero from the start (see push_layer)
            self.flat = torch.nn.Parameter(torch.cat([w.detach().reshape(-1) for w in weights]))
            self.flat.grad = self.grad
            start = 0
            for weight in weights:
                end = start + weight.numel()
                weight.data = self.flat.data[start:end].view_as(weight)
                weight.grad = self.grad[start:end].view_as(weight)
                start = end
        parts = [masks[id(w)].reshape(-1).to(self.grad.dtype) if id(w) in masks else torch.ones(w.numel()) for w in weights]
        self.mask = torch.cat(parts)
        self.learning_rate = learning_rate
        self.moments = torch.zeros_like(self.flat), torch.zeros_like(self.flat)  # Adam's state, as torch.optim.Adam keeps it
        self.steps = torch.zeros(())

    def zero_grad(self) -> None:
        """Zero the gradients in place (the views stay the layers' ``.grad``)."""
        self.grad.zero_()

    def step(self, lr_scale: float, max_norm: float) -> None:
        """Mask, clip to ``max_norm`` (as ``clip_grad_norm_``) and take one Adam step at ``lr_scale`` times the rate.

        Adam is torch's fused kernel called through its functional form: ``Optimizer.step``'s hooks and checks cost
        more than the kernel on one small tensor.
        """
        import torch
        from torch.optim.adam import adam

        grad = self.grad.mul_(self.mask)
        grad.mul_(torch.clamp(max_norm / (torch.linalg.vector_norm(grad) + 1e-6), max=1.0))
        with torch.no_grad():
            adam(
                [self.flat], [grad], [self.moments[0]], [self.moments[1]], [], [self.steps], fused=True,
                amsgrad=False, beta1=0.9, beta2=0.999, lr=self.learning_rate * lr_scale, weight_decay=0.0, eps=1e-8, maximize=False,
            )  # fmt: skip
