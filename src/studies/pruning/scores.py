"""Class-aware importance (Jiang et al., DATE 2024): how many classes each filter or neuron matters for.

For one image x_j the importance of an activation a is the first-order Taylor
estimate of the loss change when a is set to zero, Θ' = |a · ∂L(x_j)/∂a|, and
it counts as important when Θ' > τ. Per class, the share of the class's
images for which an activation is important is its hit rate, one per
position of the filter's feature map. Two ways turn hit rates into a score
per filter, in classes:

- "sum-max", the authors' (their released scoring code): hit rates summed
  over the classes, then the largest sum over the positions; τ = 1e-50 (any
  non-zero Θ'), about ten images per class, activations at the MAC layer's
  output (before batch norm), as their hook on the convolution takes them.
- "max-sum": per class the largest hit rate over the positions, then summed
  over the classes (`class_importance`, `class_counts`); activations before
  the nonlinearity (after batch norm where there is one).

A third score weighs how much a filter matters for each class instead of
counting non-zero values, which saturate where every filter is active for
every class at some position (an MNIST background):

- "class-taylor": per image the first-order estimate of the loss change when
  the filter's whole map is removed, |Σ_positions a·∂L/∂a| (after batch norm,
  which removing the filter also removes), averaged over the class's images;
  each class's values divided by the layer's mean filter for that class and
  summed over the classes. A filter carrying an average share for every class
  scores n_classes; one that matters for few classes scores low unless it
  carries much of them. Every class weighs the same, whatever its loss.

The loss of each image is its own cross-entropy; the network runs in eval
mode, so images of a batch do not interact and one backward pass gives every
image's gradients (whether Θ' is non-zero does not depend on summing or
averaging the losses of a batch).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from studies.data import Split
from studies.pruning.baselines import relative_magnitude
from studies.pruning.surgery import PrunableUnit
from studies.training import QUIET, Progress, batches

SCORE_BATCH = 256
SCORES = ("sum-max", "max-sum", "class-taylor")
AUTHORS_TAU = 1e-50
AUTHORS_IMAGES_PER_CLASS = 10


def taylor_values(model: nn.Module, units: Sequence[PrunableUnit], x: torch.Tensor, y: torch.Tensor,
                  before_norm: bool = False) -> dict[str, torch.Tensor]:
    """Θ' = |a · ∂L(x_j)/∂a| for every image j and activation a of each unit, shaped like the unit's activations.

    `a` is the output of the unit's batch norm (if any), or with `before_norm` of its MAC layer."""
    return {name: value.abs() for name, value in taylor_products(model, units, x, y, before_norm).items()}


def taylor_products(model: nn.Module, units: Sequence[PrunableUnit], x: torch.Tensor, y: torch.Tensor,
                    before_norm: bool = False) -> dict[str, torch.Tensor]:
    """a · ∂L(x_j)/∂a with its sign, for every image j and activation a of each unit (see `taylor_values`)."""
    captured: dict[str, torch.Tensor] = {}

    def keep(name: str):
        def hook(module: nn.Module, inputs: tuple[torch.Tensor, ...], output: torch.Tensor) -> None:
            captured[name] = output
        return hook

    handles = [model.get_submodule(u.name if before_norm else u.activation_module).register_forward_hook(keep(u.name))
               for u in units]
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
    return {n: captured[n].detach() * g for n, g in zip(names, grads)}


def scoring_images(labels: torch.Tensor, n_classes: int, images_per_class: int) -> torch.Tensor:
    """Indices of the first `images_per_class` images of every class (all images when 0)."""
    if images_per_class == 0:
        return torch.arange(len(labels))
    chosen = [torch.nonzero(labels == c).flatten()[:images_per_class] for c in range(n_classes)]
    return torch.sort(torch.cat(chosen)).values


def _class_means(split: Split, n_classes: int, images_per_class: int, device: str, progress: Progress, label: str,
                 measure: Callable[[torch.Tensor, torch.Tensor], dict[str, torch.Tensor]]) -> dict[str, torch.Tensor]:
    """Per unit, the mean of `measure(images, labels)` (unit name -> float64, images × ...) over each class's scoring
    images, as a CPU tensor (classes × ...). `progress` shows a bar named `label` and stops the work (Stopped)
    before the next batch when asked."""
    x, y = split
    chosen = scoring_images(y, n_classes, images_per_class)
    x, y = x[chosen], y[chosen]
    totals: dict[str, torch.Tensor] = {}
    images = torch.bincount(y, minlength=n_classes).double().clamp_min(1)
    with progress.bar(label, math.ceil(len(y) / SCORE_BATCH)) as bar:
        for xb, yb in batches((x, y), SCORE_BATCH):
            progress.check()
            yb = yb.to(device)
            for name, value in measure(xb.to(device), yb).items():
                total = totals.setdefault(name, torch.zeros(n_classes, *value.shape[1:], dtype=torch.float64,
                                                            device=device))
                total.index_add_(0, yb, value)
            bar.update()
    return {name: (total / images.to(total.device).view(-1, *[1] * (total.dim() - 1))).cpu()
            for name, total in totals.items()}


def hit_rates(model: nn.Module, units: Sequence[PrunableUnit], split: Split, n_classes: int, tau: float,
              images_per_class: int = 0, before_norm: bool = False, device: str = "cpu", progress: Progress = QUIET,
              label: str = "class scores") -> dict[str, torch.Tensor]:
    """Per unit, a float64 tensor (classes × outputs × positions): the share of each class's images with Θ' > τ."""

    def hits(xb: torch.Tensor, yb: torch.Tensor) -> dict[str, torch.Tensor]:
        return {name: (value > tau).reshape(len(value), value.shape[1], -1).double()
                for name, value in taylor_values(model, units, xb, yb, before_norm).items()}

    return _class_means(split, n_classes, images_per_class, device, progress, label, hits)


def class_importance(model: nn.Module, units: Sequence[PrunableUnit], split: Split, n_classes: int, tau: float,
                     device: str = "cpu", progress: Progress = QUIET,
                     label: str = "class scores") -> dict[str, np.ndarray]:
    """Per unit, an array (classes × outputs): each filter's largest hit rate over its positions, in [0, 1]."""
    rates = hit_rates(model, units, split, n_classes, tau, device=device, progress=progress, label=label)
    return {name: rate.amax(dim=2).numpy() for name, rate in rates.items()}


def class_counts(importance: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Per unit, each output's class count: its importances summed over the classes."""
    return {name: values.sum(axis=0) for name, values in importance.items()}


def class_taylor(model: nn.Module, units: Sequence[PrunableUnit], split: Split, n_classes: int,
                 images_per_class: int = 0, device: str = "cpu", progress: Progress = QUIET,
                 label: str = "class scores") -> dict[str, np.ndarray]:
    """Per unit, an array (classes × outputs): |Σ_positions a·∂L/∂a| of each output averaged over the class's images,
    the first-order loss change of removing the output."""

    def changes(xb: torch.Tensor, yb: torch.Tensor) -> dict[str, torch.Tensor]:
        return {name: value.reshape(len(value), value.shape[1], -1).sum(dim=2).abs().double()
                for name, value in taylor_products(model, units, xb, yb).items()}

    means = _class_means(split, n_classes, images_per_class, device, progress, label, changes)
    return {name: mean.numpy() for name, mean in means.items()}


def class_scores(model: nn.Module, units: Sequence[PrunableUnit], split: Split, n_classes: int, score: str,
                 tau: float, images_per_class: int, device: str = "cpu", progress: Progress = QUIET,
                 label: str = "class scores") -> dict[str, np.ndarray]:
    """Per unit, each output's score in classes (0..n_classes for the counts) as `score` computes it (`tau` only
    for "sum-max" and "max-sum")."""
    if score == "class-taylor":
        changes = class_taylor(model, units, split, n_classes, images_per_class, device, progress, label)
        return {name: (c / np.maximum(c.mean(axis=1, keepdims=True), 1e-300)).sum(axis=0)
                for name, c in changes.items()}
    rates = hit_rates(model, units, split, n_classes, tau, images_per_class, before_norm=score == "sum-max",
                      device=device, progress=progress, label=label)
    if score == "max-sum":
        return {name: rate.amax(dim=2).sum(dim=0).numpy() for name, rate in rates.items()}
    return {name: rate.sum(dim=0).amax(dim=1).numpy() for name, rate in rates.items()}


def class_aware_keys(model: nn.Module, units: Sequence[PrunableUnit], split: Split, n_classes: int, score: str,
                     tau: float, images_per_class: int, device: str = "cpu", progress: Progress = QUIET,
                     label: str = "class scores") -> dict[str, np.ndarray]:
    """Pruning keys: lowest score first, ties broken by the smaller relative filter magnitude."""
    scores = class_scores(model, units, split, n_classes, score, tau, images_per_class, device, progress, label)
    magnitude = relative_magnitude(model, units)
    return {name: np.stack([scores[name], magnitude[name]], axis=1) for name in scores}
