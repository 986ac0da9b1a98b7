"""Error suppression (CorrectNet): Lipschitz-constant regularization of every MAC layer.

A layer whose weights vary as W∘e^θ amplifies an input difference by at most
‖W∘e^θ‖₂; bounding e^θ by its mean plus three standard deviations gives
‖W‖₂ ≤ k / (μ + 3σ) = λ as the condition for the varied layer to stay below
k < 1, so errors shrink from layer to layer instead of growing. Training adds

    L = L_CE + β · Σ_layers ‖Wᵀ W − λ² I‖²_F          (`orthogonal`, CorrectNet's form)

which pulls every singular value of W towards λ. The `spectral` form,
β · Σ_layers Σ_i max(s_i² − λ², 0)², penalizes only the singular values s_i
above λ: the bound ‖W‖₂ ≤ λ itself, leaving the smaller ones free. A
convolution's W is its kernel reshaped to one row per output channel
(out × in·kh·kw).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

REGULARIZERS = ("orthogonal", "spectral")


def lipschitz_lambda(k: float, sigma: float) -> float:
    """λ = k / (e^{σ²/2} + 3·√((e^{σ²} − 1)·e^{σ²})): the spectral norm that keeps W∘e^θ below k."""
    mean = math.exp(sigma ** 2 / 2)
    std = math.sqrt(math.expm1(sigma ** 2) * math.exp(sigma ** 2))
    return k / (mean + 3 * std)


def weight_matrix(layer: nn.Module) -> torch.Tensor:
    """A Linear layer's weight, or a convolution's kernel as out_channels × (in_channels·kh·kw)."""
    return layer.weight.flatten(1)


def lipschitz_penalty(layers: Sequence[nn.Module], lam: float, form: str = "orthogonal") -> torch.Tensor:
    """Σ over `layers` of ‖WᵀW − λ²I‖²_F (`orthogonal`), or of Σ_i max(s_i² − λ², 0)² (`spectral`).

    Computed on the smaller of the two Gram matrices WᵀW and WWᵀ: they share
    their non-zero eigenvalues, so the two orthogonal penalties differ by a
    constant ((larger − smaller dimension)·λ⁴) and have the same gradient,
    and the spectral penalties are equal.
    """
    if form not in REGULARIZERS:
        raise ValueError(f"regularizer must be one of {REGULARIZERS}, got {form!r}")
    terms = []
    for layer in layers:
        w = weight_matrix(layer)
        gram = w @ w.T if w.shape[0] <= w.shape[1] else w.T @ w
        if form == "spectral":
            terms.append((torch.relu(torch.linalg.eigvalsh(gram) - lam ** 2) ** 2).sum())
        else:
            eye = torch.eye(len(gram), device=gram.device, dtype=gram.dtype)
            terms.append(((gram - lam ** 2 * eye) ** 2).sum())
    return torch.stack(terms).sum() if terms else torch.zeros(())


def spectral_norm(layer: nn.Module) -> float:
    """Largest singular value of the layer's weight matrix."""
    return float(torch.linalg.matrix_norm(weight_matrix(layer).detach(), ord=2))


class LipschitzLoss(nn.Module):
    """Cross-entropy plus β times the penalty of the given form over the given layers; goes to
    `studies.training.train` as `loss_fn`."""

    def __init__(self, layers: Sequence[nn.Module], lam: float, beta: float, form: str = "orthogonal"):
        super().__init__()
        self.layers = list(layers)
        self.lam = lam
        self.beta = beta
        self.form = form

    def forward(self, logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        loss = F.cross_entropy(logits, labels)
        if self.beta:
            loss = loss + self.beta * lipschitz_penalty(self.layers, self.lam, self.form)
        return loss
