"""The training loss of class-aware pruning: L = L_CE + λ1·Σ‖θ‖₁ + λ2·Σ orthogonality.

The L1 term runs over every parameter ("parameters", as the authors train:
weights, biases and batch-norm scales γ, whose shrinking switches whole
channels off as in network slimming) or over the MAC layers' weights only
("weights"). The orthogonality term (Wang et al., CVPR 2020) pushes the
filters of each prunable layer apart: in its convolutional form ("conv", the
authors') ‖conv(K, K) − δ·I‖, the filters correlated with each other at every
shift up to half a kernel, the identity at shift zero; in its kernel form
("kernel") ‖K·Kᵀ − I‖, K the weights with one row per filter (the shift-zero
part of the convolutional form). Norms are Frobenius norms; for a linear layer
both forms agree. Together the terms polarize the class scores: a filter tends
to be clearly important for a class or clearly not.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from studies.pruning.surgery import MAC_LAYERS, PrunableUnit

L1_SCOPES = ("parameters", "weights")
ORTHOGONALITY_FORMS = ("conv", "kernel")


def l1_penalty(model: nn.Module, scope: str = "weights") -> torch.Tensor:
    """Σ‖θ‖₁ over every parameter (`scope` "parameters") or over the MAC layers' weights ("weights")."""
    if scope == "parameters":
        terms = [p.abs().sum() for p in model.parameters()]
    else:
        terms = [m.weight.abs().sum() for m in model.modules() if isinstance(m, MAC_LAYERS)]
    return torch.stack(terms).sum() if terms else torch.zeros(())


def orthogonality_penalty(layers: Sequence[nn.Module], form: str = "kernel") -> torch.Tensor:
    """Σ over `layers` of ‖conv(K, K) − δ·I‖_F (`form` "conv", for convolutions) or ‖K·Kᵀ − I‖_F."""
    terms = []
    for layer in layers:
        if form == "conv" and isinstance(layer, nn.Conv2d):
            terms.append(_conv_orthogonality(layer.weight))
            continue
        kernel = layer.weight.flatten(1)
        gram = kernel @ kernel.T
        terms.append(torch.linalg.matrix_norm(gram - torch.eye(len(gram), device=gram.device, dtype=gram.dtype)))
    return torch.stack(terms).sum() if terms else torch.zeros(())


def _conv_orthogonality(kernel: torch.Tensor) -> torch.Tensor:
    """‖conv(K, K) − δ·I‖_F: output [i, j, s] is filter i correlated with filter j shifted by s."""
    half = (kernel.shape[2] // 2, kernel.shape[3] // 2)
    correlation = F.conv2d(kernel, kernel, padding=half)
    target = torch.zeros_like(correlation)
    target[:, :, half[0], half[1]] = torch.eye(len(kernel), device=kernel.device, dtype=kernel.dtype)
    return torch.linalg.vector_norm(correlation - target)


class RegularizedLoss(nn.Module):
    """Cross-entropy of the logits plus λ1·L1 of `model` plus λ2·orthogonality of its prunable layers.

    It holds the network it regularizes, so it goes to `studies.training.train` as `loss_fn` for that network.
    """

    def __init__(self, model: nn.Module, units: Sequence[PrunableUnit], lambda1: float, lambda2: float,
                 l1_scope: str = "weights", orthogonality: str = "kernel"):
        super().__init__()
        self.model = model
        self.unit_names = [unit.name for unit in units]
        self.lambda1 = lambda1
        self.lambda2 = lambda2
        self.l1_scope = l1_scope
        self.orthogonality = orthogonality

    def forward(self, logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        loss = F.cross_entropy(logits, labels)
        if self.lambda1:
            loss = loss + self.lambda1 * l1_penalty(self.model, self.l1_scope)
        if self.lambda2:
            layers = [self.model.get_submodule(name) for name in self.unit_names]
            loss = loss + self.lambda2 * orthogonality_penalty(layers, self.orthogonality)
        return loss
