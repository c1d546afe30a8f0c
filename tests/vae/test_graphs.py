"""The recorded training step: what it refuses is named on any machine; what it does is checked on a GPU (test_training)."""

import pytest
import torch

from pp_vae.vae import GraphedStep


def test_a_recorded_step_refuses_a_cpu_batch_and_an_optimiser_that_cannot_be_captured():
    module = torch.nn.Linear(3, 1)

    def loss(x):
        return module(x).sum()

    with pytest.raises(ValueError, match="a recorded step needs an optimiser built with capturable=True"):
        GraphedStep(loss, module, torch.optim.Adam(module.parameters()), torch.zeros(4, 3))
    with pytest.raises(ValueError, match="a CUDA graph records GPU work: the batch is on cpu"):
        GraphedStep(loss, module, torch.optim.Adam(module.parameters(), capturable=True), torch.zeros(4, 3))
