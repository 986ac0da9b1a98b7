"""The training loss of class-aware pruning: L = L_CE + λ1·Σ‖W‖₁ + λ2·Σ‖K·Kᵀ − I‖.

The L1 term sparsifies the weights of every MAC layer; the orthogonality term
(Wang et al., CVPR 2020, kernel form) pushes the filters of each prunable
layer apart, K being the layer's weights with one row per filter and the norm
the Frobenius norm. Together they polarize the class scores: a filter tends to
be clearly important for a class or clearly not, which makes the count of
classes a sharp pruning criterion.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from studies.pruning.surgery import MAC_LAYERS, PrunableUnit


def l1_penalty(model: nn.Module) -> torch.Tensor:
    """Σ over the MAC layers of ‖W‖₁ (biases and batch norms excluded)."""
    terms = [m.weight.abs().sum() for m in model.modules() if isinstance(m, MAC_LAYERS)]
    return torch.stack(terms).sum() if terms else torch.zeros(())


def orthogonality_penalty(layers: Sequence[nn.Module]) -> torch.Tensor:
    """Σ over `layers` of ‖K·Kᵀ − I‖_F, K the weights flattened to one row per filter (or neuron)."""
    terms = []
    for layer in layers:
        kernel = layer.weight.flatten(1)
        gram = kernel @ kernel.T
        terms.append(torch.linalg.matrix_norm(gram - torch.eye(len(gram), device=gram.device, dtype=gram.dtype)))
    return torch.stack(terms).sum() if terms else torch.zeros(())


class RegularizedLoss(nn.Module):
    """Cross-entropy of the logits plus λ1·L1 of `model`'s weights plus λ2·orthogonality of its prunable layers.

    It holds the network it regularizes, so it goes to `studies.training.train` as `loss_fn` for that network.
    """

    def __init__(self, model: nn.Module, units: Sequence[PrunableUnit], lambda1: float, lambda2: float):
        super().__init__()
        self.model = model
        self.unit_names = [unit.name for unit in units]
        self.lambda1 = lambda1
        self.lambda2 = lambda2

    def forward(self, logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        loss = F.cross_entropy(logits, labels)
        if self.lambda1:
            loss = loss + self.lambda1 * l1_penalty(self.model)
        if self.lambda2:
            layers = [self.model.get_submodule(name) for name in self.unit_names]
            loss = loss + self.lambda2 * orthogonality_penalty(layers)
        return loss
