"""Baseline criteria compared with class-aware pruning in the same loop: filter magnitude and chance.

A criterion gives every output of every unit a key (primary, secondary); the
outputs with the smallest keys are pruned first. Magnitude is the L1 norm of a
filter's weights per weight, relative to the layer's mean, so filters of
layers with different fan-in and scale compare in a global ranking (Li et al.,
ICLR 2017, rank by the plain L1 norm within a layer, which orders the same).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

from studies.pruning.surgery import PrunableUnit, widths

Keys = dict[str, np.ndarray]


@torch.no_grad()
def relative_magnitude(model: nn.Module, units: Sequence[PrunableUnit]) -> dict[str, np.ndarray]:
    """Per unit, each filter's mean |weight| divided by the layer's mean of that figure."""
    magnitudes = {}
    for unit in units:
        per_filter = model.get_submodule(unit.name).weight.abs().flatten(1).mean(dim=1).double().cpu().numpy()
        magnitudes[unit.name] = per_filter / max(per_filter.mean(), 1e-30)
    return magnitudes


def magnitude_keys(model: nn.Module, units: Sequence[PrunableUnit]) -> Keys:
    """Smallest relative L1 norm first."""
    return {name: np.stack([m, np.zeros_like(m)], axis=1) for name, m in relative_magnitude(model, units).items()}


def random_keys(model: nn.Module, units: Sequence[PrunableUnit], seed: int) -> Keys:
    """A seeded random order."""
    rng = np.random.default_rng(seed)
    return {name: np.stack([rng.random(n), np.zeros(n)], axis=1) for name, n in widths(model, units).items()}
