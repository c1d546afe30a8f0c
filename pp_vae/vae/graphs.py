"""One training step recorded as a CUDA graph and replayed: how a Pyro VAE trains at the GPU's speed.

A Pyro step costs a few milliseconds of Python (tracing the model and guide, building distributions)
whatever the batch, while the GPU needs a fraction of a millisecond for a 784-400-50 VAE: on a GPU the
step is bound by the host. A CUDA graph records the kernels of one whole step -- the loss, its backward
pass and Adam's update -- once, and replays them for every later batch without running the Python
again (``torch.cuda.graphs``). The random draws stay fresh: each replay advances the CUDA generator.

Recording needs a step that never reads the GPU back to the host (:class:`pp_vae.vae.objective.SyncFreeELBO`),
an optimiser built ``capturable``, and batches of one shape (a last, smaller batch runs as usual). The
steps that warm the graph up are undone, so recording changes nothing in the run.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn


class GraphedStep:
    """``step(batch)``: the training step on ``batch`` (copied into the graph's input) by replaying its CUDA graph.

    Parameters
    ----------
    loss
        The batch's loss: a differentiable scalar (minus the objective, summed over the batch).
    module
        The module whose parameters and buffers the step changes (restored after the warm-up steps).
    optimiser
        Built with ``capturable=True``; its state is restored after the warm-up steps too.
    example
        A batch of the shape every replayed batch must have.
    """

    WARMUP = 3

    def __init__(
        self, loss: Callable[[torch.Tensor], torch.Tensor], module: nn.Module, optimiser: torch.optim.Optimizer, example: torch.Tensor
    ) -> None:
        if not all(group.get("capturable", False) for group in optimiser.param_groups):
            raise ValueError("a recorded step needs an optimiser built with capturable=True")
        if example.device.type != "cuda":
            raise ValueError(f"a CUDA graph records GPU work: the batch is on {example.device}")
        self.shape = example.shape
        self._input = example.clone()
        saved_module = {name: value.detach().clone() for name, value in module.state_dict(keep_vars=True).items()}
        saved_optimiser = {id(p): {k: v.clone() if torch.is_tensor(v) else v for k, v in s.items()} for p, s in optimiser.state.items()}

        def step() -> torch.Tensor:
            optimiser.zero_grad(set_to_none=False)
            value = loss(self._input)
            value.backward()
            optimiser.step()
            return value.detach()

        side = torch.cuda.Stream()
        side.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(side):  # warm-up on a side stream, as torch.cuda.graphs asks
            for _ in range(self.WARMUP):
                step()
        torch.cuda.current_stream().wait_stream(side)
        self._graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(self._graph):
            self._loss = step()
        # the graph holds addresses, not references: keep every tensor it reads or writes alive
        self._grads = [p.grad for group in optimiser.param_groups for p in group["params"]]
        with torch.no_grad():  # undo the warm-up: the run goes on from where it was, in the same tensors
            for name, value in module.state_dict(keep_vars=True).items():
                value.detach().copy_(saved_module[name])
            for p, state in optimiser.state.items():
                before = saved_optimiser.get(id(p), {})
                for key, value in state.items():
                    if torch.is_tensor(value) and key in before:
                        value.copy_(before[key])
                    elif torch.is_tensor(value):  # made by the warm-up (a fresh optimiser): zero is its start
                        value.zero_()

    def __call__(self, batch: torch.Tensor) -> torch.Tensor:
        """Train on ``batch`` (of the recorded shape); return its loss (a tensor the next replay overwrites)."""
        if batch.shape != self.shape:
            raise ValueError(f"the recorded step takes batches of shape {tuple(self.shape)}, got {tuple(batch.shape)}")
        self._input.copy_(batch)
        self._graph.replay()
        return self._loss
