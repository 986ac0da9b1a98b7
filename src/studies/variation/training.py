"""The three ways a network is prepared for a varying crossbar, all fine-tuning a trained quantized network.

- `suppress`: error suppression, the Lipschitz-regularized loss (nominal weights, as CorrectNet
  trains, or optionally a fresh chip per batch);
- `train_compensation`: error compensation, only the digital generator and compensator
  trained, under a fresh chip per batch, the crossbar network frozen, for the network's
  cross-entropy (`task`) or for the compensated layers' nominal maps (`maps`);
- `inject_noise`: the noise-injection (variation-aware training) baseline, the whole
  network trained under a fresh chip per batch.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from studies.data import Split
from studies.quant import quant_layers
from studies.training import QUIET, Progress, batches, train
from studies.variation.compensation import Compensated
from studies.variation.lipschitz import LipschitzLoss, lipschitz_lambda
from studies.variation.model import Crossbar, Variation

CALIBRATION_BATCH = 512
COMPENSATION_LOSSES = ("task", "maps")


@dataclass(frozen=True)
class Schedule:
    """How to fine-tune: epochs, Adam learning rate, batch size, seed (batch order and chips), device, and how
    training reports and stops."""

    epochs: int
    lr: float
    batch_size: int
    seed: int
    device: str = "cpu"
    weight_decay: float = 0.0
    progress: Progress = QUIET

    def run(self, model: nn.Module, split: Split, label: str, loss_fn: nn.Module | None = None) -> nn.Module:
        if self.epochs:
            train(model, split, self.epochs, self.lr, self.batch_size, self.seed, self.weight_decay, self.device,
                  loss_fn=loss_fn, progress=self.progress, label=label)
        return model.eval()


def suppress(network: nn.Module, split: Split, k: float, beta: float, sigma: float, schedule: Schedule,
             form: str = "orthogonal", variation: Variation | None = None) -> nn.Module:
    """A copy of `network` fine-tuned under L_CE + β·Σ‖WᵀW − λ²I‖² (or the `spectral` form), λ from k and σ;
    with `variation`, its weights varied by a fresh chip in every batch, as in noise injection."""
    model = copy.deepcopy(network)
    layers = [layer for _, layer in quant_layers(model)]
    loss = LipschitzLoss(layers, lipschitz_lambda(k, sigma), beta, form)
    if variation is None:
        return schedule.run(model, split, "suppression", loss)
    crossbar = Crossbar(layers, variation, torch.Generator().manual_seed(schedule.seed), per_batch=True)
    with crossbar.active(model):
        schedule.run(model, split, "suppression under variation", loss)
    return model.eval()


def inject_noise(network: nn.Module, split: Split, variation: Variation, schedule: Schedule) -> nn.Module:
    """A copy of `network` fine-tuned with its weights varied by a fresh chip in every batch."""
    model = copy.deepcopy(network)
    crossbar = Crossbar([layer for _, layer in quant_layers(model)], variation,
                        torch.Generator().manual_seed(schedule.seed), per_batch=True)
    with crossbar.active(model):
        schedule.run(model, split, "noise injection")
    return model.eval()


def train_compensation(network: nn.Module, widths: dict[str, int], bits: int, split: Split, variation: Variation,
                       schedule: Schedule, loss: str = "task") -> Compensated:
    """`network` (copied, frozen) with compensation of the given widths beside the named layers, trained under
    variation (a fresh chip per batch).

    `task`: the loss is the network's cross-entropy under the chip, so the
    compensations of all chosen layers learn together what the classification
    needs. `maps`: the loss is, summed over the compensated layers, the mean
    squared difference between the corrected map under the chip and the map
    the layer gives without variation, relative to the latter's mean square;
    it keeps each corrected map on the scale the frozen layers after it were
    calibrated for, but spends the compensation on errors the classification
    may not care about (on digits it recovers less than `task`).
    """
    if loss not in COMPENSATION_LOSSES:
        raise ValueError(f"compensation loss must be one of {COMPENSATION_LOSSES}, got {loss!r}")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(schedule.seed)
        model = Compensated(copy.deepcopy(network), widths, bits)
    if not len(model.compensations):
        return model.eval()
    x, _ = split
    with torch.no_grad():  # calibrate the compensation's input ranges on nominal maps; it starts as the identity
        model.to(schedule.device).train()(x[:CALIBRATION_BATCH].to(schedule.device))
    optimizer = torch.optim.Adam(model.compensations.parameters(), lr=schedule.lr,
                                 weight_decay=schedule.weight_decay)
    order = torch.Generator().manual_seed(schedule.seed)
    crossbar = Crossbar(model.crossbar_layers(), variation, torch.Generator().manual_seed(schedule.seed + 1))
    progress = schedule.progress
    with progress.bar("compensation", schedule.epochs * math.ceil(len(x) / schedule.batch_size)) as bar:
        for epoch in range(1, schedule.epochs + 1):
            for xb, yb in batches(split, schedule.batch_size, order):
                progress.check()
                value = _compensation_step(model, xb.to(schedule.device), yb.to(schedule.device), crossbar,
                                           optimizer, loss)
                if progress.show:
                    bar.set_postfix_str(f"epoch {epoch}/{schedule.epochs}, loss {float(value):.4f}", refresh=False)
                bar.update()
    return model.eval()


def _compensation_step(model: Compensated, xb: torch.Tensor, yb: torch.Tensor, crossbar: Crossbar,
                       optimizer: torch.optim.Optimizer, form: str) -> torch.Tensor:
    """One batch under a fresh chip: the cross-entropy (`task`) or the relative squared error of the corrected
    maps against the nominal maps (`maps`), minimized by one optimizer step; returns the loss."""
    if form == "maps":
        with torch.no_grad(), model.bypassed():
            model(xb)
            targets = dict(model.maps)
    crossbar.resample()
    with crossbar.active(model):
        logits = model(xb)
    if form == "task":
        loss = F.cross_entropy(logits, yb)
    else:
        loss = sum(((model.maps[key] - target) ** 2).mean() / (target ** 2).mean().clamp_min(1e-12)
                   for key, target in targets.items())
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    return loss.detach()
