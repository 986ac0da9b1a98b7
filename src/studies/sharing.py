"""Deep Compression (Han, Mao and Dally, ICLR 2016) as a baseline beside LUT-ranked weight subsets.

Weight sharing: per layer, k-means clusters the weights into k groups (1-D,
centroids initialized linearly over the weights' range, which the paper finds
best), every weight takes its cluster's centroid, and the centroids are
fine-tuned: the weights of a cluster are tied, so a centroid's gradient is the
sum of its weights' gradients. The layer's fake quantization maps the
fine-tuned centroids onto the integer grid, so each layer holds at most k
distinct integer values.

The pipeline (pruning, then sharing) first sets the smallest-magnitude share
of each layer's weights to zero and fine-tunes the network with them held at
zero, then shares the surviving weights: each layer holds at most k values
plus zero.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import torch
from torch import nn
from torch.nn.utils import parametrize

from studies.quant import quant_layers

if TYPE_CHECKING:
    from studies.session import QuantSession

KMEANS_ITERATIONS = 50


def kmeans_1d(values: np.ndarray, k: int, iterations: int = KMEANS_ITERATIONS) -> tuple[np.ndarray, np.ndarray]:
    """Sorted centroids (k) and each value's cluster index, by Lloyd's algorithm from linearly spaced centroids.

    A cluster left empty keeps its centroid.
    """
    values = np.asarray(values, dtype=np.float64).ravel()
    centroids = np.linspace(values.min(), values.max(), k)
    for _ in range(iterations):
        labels = _nearest(values, centroids)
        sums = np.bincount(labels, weights=values, minlength=k)
        counts = np.bincount(labels, minlength=k)
        updated = np.sort(np.where(counts > 0, sums / np.maximum(counts, 1), centroids))
        if np.array_equal(updated, centroids):
            break
        centroids = updated
    return centroids, _nearest(values, centroids)


def _nearest(values: np.ndarray, centroids: np.ndarray) -> np.ndarray:
    """Index of the nearest of the sorted `centroids` for each value (the lower one on a tie)."""
    if len(centroids) == 1:
        return np.zeros(len(values), dtype=np.int64)
    return np.searchsorted((centroids[1:] + centroids[:-1]) / 2, values, side="left").astype(np.int64)


def magnitude_mask(weight: torch.Tensor, fraction: float) -> torch.Tensor:
    """True for the weights kept when the `fraction` of smallest magnitude (rounded to whole weights) is pruned."""
    pruned = round(fraction * weight.numel())
    keep = torch.ones(weight.numel(), dtype=torch.bool, device=weight.device)
    keep[torch.argsort(weight.detach().abs().flatten(), stable=True)[:pruned]] = False
    return keep.reshape(weight.shape)


class _Masked(nn.Module):
    """weight = weight × mask: pruned weights held at zero while the network is fine-tuned."""

    def __init__(self, mask: torch.Tensor):
        super().__init__()
        self.register_buffer("mask", mask)

    def forward(self, weight: torch.Tensor) -> torch.Tensor:
        return weight * self.mask


class _Tied(nn.Module):
    """weight = centroids[labels]; label k marks a pruned weight, fixed at zero."""

    def __init__(self, labels: torch.Tensor, k: int):
        super().__init__()
        self.register_buffer("labels", labels)
        self.k = k

    def forward(self, centroids: torch.Tensor) -> torch.Tensor:
        return torch.cat([centroids, centroids.new_zeros(1)])[self.labels]

    def right_inverse(self, weight: torch.Tensor) -> torch.Tensor:
        """The centroids: each cluster's mean weight (the pruned ones left out)."""
        sums = weight.new_zeros(self.k + 1).scatter_add(0, self.labels.flatten(), weight.flatten())
        counts = weight.new_zeros(self.k + 1).scatter_add(0, self.labels.flatten(), torch.ones_like(weight.flatten()))
        return (sums / counts.clamp_min(1))[:self.k]


def share_weights(model: nn.Module, k: int) -> None:
    """Tie every quantized layer's weights (in place) to k k-means centroids; zero weights stay zero, untied."""
    for _, layer in quant_layers(model):
        weight = layer.weight.detach()
        kept = weight != 0
        labels = torch.full(weight.shape, k, dtype=torch.int64, device=weight.device)
        if kept.any():
            centroids, assigned = kmeans_1d(weight[kept].cpu().numpy(), k)
            labels[kept] = torch.from_numpy(assigned).to(weight.device)
            with torch.no_grad():
                layer.weight[kept] = torch.from_numpy(centroids[assigned]).to(weight)
        parametrize.register_parametrization(layer, "weight", _Tied(labels, k), unsafe=True)


def prune_by_magnitude(model: nn.Module, fraction: float) -> None:
    """Zero the `fraction` of smallest-magnitude weights of every quantized layer (in place) and hold them there."""
    for _, layer in quant_layers(model):
        mask = magnitude_mask(layer.weight, fraction)
        with torch.no_grad():
            layer.weight.mul_(mask)
        parametrize.register_parametrization(layer, "weight", _Masked(mask))


def bake(model: nn.Module) -> nn.Module:
    """Replace the quantized layers' tied or masked weights by plain weights holding their present values."""
    for _, layer in quant_layers(model):
        if parametrize.is_parametrized(layer, "weight"):
            parametrize.remove_parametrizations(layer, "weight", leave_parametrized=True)
    return model


def deep_compression(session: QuantSession, k: int, prune_fraction: float, activations: Sequence[int] | None,
                     seed: int) -> nn.Module:
    """The session's baseline pruned by magnitude (when `prune_fraction` > 0) and fine-tuned, then shared into k
    values per layer with fine-tuned centroids; every fine-tuning under the allowed `activations`."""
    model = copy.deepcopy(session.baseline_model())
    if prune_fraction > 0:
        prune_by_magnitude(model, prune_fraction)
        model = bake(session.finetune(session.unrestricted, activations, seed, start=model))
    share_weights(model, k)
    return bake(session.finetune(session.unrestricted, activations, seed + 1, start=model)).eval()
