"""Class-aware importance (Jiang et al., DATE 2024): how many classes each filter or neuron matters for.

For one image x_j the importance of an activation a is the first-order Taylor
estimate of the loss change when a is set to zero, Θ' = |a · ∂L(x_j)/∂a|, and
its score is 1 when Θ' > τ, else 0. The score for a class is the mean over the
class's images; the importance of a filter for a class is the largest score
over its activations (its positions in the feature map); its class count is
the sum of its importances over the classes, which is the number of classes
it is important for once the scores are polarized (see `regularizers`).

Activations are taken before the nonlinearity (after batch norm where there is
one): for a ReLU, |a·∂L/∂a| is the same before and after it, since the ReLU
passes both a and the gradient where a > 0 and zeroes the product elsewhere.
The loss of each image is its own cross-entropy; the network runs in eval mode,
so images of a batch do not interact and one backward pass gives every image's
gradients.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from studies.data import Split
from studies.pruning.baselines import relative_magnitude
from studies.pruning.surgery import PrunableUnit
from studies.training import QUIET, Progress, batches

SCORE_BATCH = 256


def taylor_values(model: nn.Module, units: Sequence[PrunableUnit], x: torch.Tensor,
                  y: torch.Tensor) -> dict[str, torch.Tensor]:
    """Θ' = |a · ∂L(x_j)/∂a| for every image j and activation a of each unit, shaped like the unit's activations."""
    captured: dict[str, torch.Tensor] = {}

    def keep(name: str):
        def hook(module: nn.Module, inputs: tuple[torch.Tensor, ...], output: torch.Tensor) -> None:
            captured[name] = output
        return hook

    handles = [model.get_submodule(u.activation_module).register_forward_hook(keep(u.name)) for u in units]
    was_training = model.training
    model.eval()
    try:
        with torch.enable_grad():
            loss = F.cross_entropy(model(x), y, reduction="sum")
            names = [u.name for u in units]
            grads = torch.autograd.grad(loss, [captured[n] for n in names])
    finally:
        for handle in handles:
            handle.remove()
        model.train(was_training)
    return {n: (captured[n].detach() * g).abs() for n, g in zip(names, grads)}


def class_importance(model: nn.Module, units: Sequence[PrunableUnit], split: Split, n_classes: int, tau: float,
                     device: str = "cpu", progress: Progress = QUIET,
                     label: str = "class scores") -> dict[str, np.ndarray]:
    """Per unit, an array (classes × outputs): the importance of each filter (or neuron) for each class, in [0, 1].

    `progress` shows a bar named `label` and stops the work (Stopped) before the next batch when asked."""
    hits: dict[str, torch.Tensor] = {}
    images = torch.zeros(n_classes, dtype=torch.float64)
    with progress.bar(label, math.ceil(len(split[1]) / SCORE_BATCH)) as bar:
        for x, y in batches(split, SCORE_BATCH):
            progress.check()
            y = y.to(device)
            _add_hits(hits, images, taylor_values(model, units, x.to(device), y), y, n_classes, tau)
            bar.update()
    importance = {}
    for name, total in hits.items():
        mean = total / images.clamp_min(1).to(total.device).view(-1, *[1] * (total.dim() - 1))
        importance[name] = mean.reshape(n_classes, mean.shape[1], -1).amax(dim=2).cpu().numpy()
    return importance


def _add_hits(hits: dict[str, torch.Tensor], images: torch.Tensor, values: dict[str, torch.Tensor], y: torch.Tensor,
              n_classes: int, tau: float) -> None:
    """Add one batch: the images per class, and per unit and class how many images had each Θ' above τ."""
    images += torch.bincount(y.cpu(), minlength=n_classes).double()
    for name, value in values.items():
        total = hits.setdefault(name, torch.zeros(n_classes, *value.shape[1:], dtype=torch.float64, device=y.device))
        total.index_add_(0, y, (value > tau).double())


def class_counts(importance: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Per unit, each output's class count: its importances summed over the classes."""
    return {name: values.sum(axis=0) for name, values in importance.items()}


def class_aware_keys(model: nn.Module, units: Sequence[PrunableUnit], split: Split, n_classes: int, tau: float,
                     device: str = "cpu", progress: Progress = QUIET,
                     label: str = "class scores") -> dict[str, np.ndarray]:
    """Pruning keys: fewest classes first, ties broken by the smaller relative filter magnitude."""
    counts = class_counts(class_importance(model, units, split, n_classes, tau, device, progress, label))
    magnitude = relative_magnitude(model, units)
    return {name: np.stack([counts[name], magnitude[name]], axis=1) for name in counts}
