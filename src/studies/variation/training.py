"""The three ways a network is prepared for a varying crossbar, all fine-tuning a trained quantized network.

- `suppress`: error suppression, the Lipschitz-regularized loss (no variation in training);
- `train_compensation`: error compensation, only the digital generator and compensator
  trained, under a fresh chip per batch, the crossbar network frozen;
- `inject_noise`: the noise-injection (variation-aware training) baseline, the whole
  network trained under a fresh chip per batch.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass

import torch
from torch import nn

from studies.data import Split
from studies.quant import quant_layers
from studies.training import QUIET, Progress, batches, train
from studies.variation.compensation import Compensated
from studies.variation.lipschitz import LipschitzLoss, lipschitz_lambda
from studies.variation.model import Crossbar, Variation

CALIBRATION_BATCH = 512


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


def suppress(network: nn.Module, split: Split, k: float, beta: float, sigma: float, schedule: Schedule) -> nn.Module:
    """A copy of `network` fine-tuned under L_CE + β·Σ‖WᵀW − λ²I‖², λ from k and σ."""
    model = copy.deepcopy(network)
    layers = [layer for _, layer in quant_layers(model)]
    return schedule.run(model, split, "suppression", LipschitzLoss(layers, lipschitz_lambda(k, sigma), beta))


def inject_noise(network: nn.Module, split: Split, variation: Variation, schedule: Schedule) -> nn.Module:
    """A copy of `network` fine-tuned with its weights varied by a fresh chip in every batch."""
    model = copy.deepcopy(network)
    crossbar = Crossbar([layer for _, layer in quant_layers(model)], variation,
                        torch.Generator().manual_seed(schedule.seed), per_batch=True)
    with crossbar.active(model):
        schedule.run(model, split, "noise injection")
    return model.eval()


def train_compensation(network: nn.Module, widths: dict[str, int], bits: int, split: Split, variation: Variation,
                       schedule: Schedule) -> Compensated:
    """`network` (copied, frozen) with compensation of the given widths beside the named layers, trained under
    variation.

    The loss is, summed over the compensated layers, the mean squared
    difference between the corrected map under a fresh chip and the map the
    layer gives without variation, relative to the latter's mean square. A
    map-matching loss keeps the corrected maps on the scale the frozen layers
    after them were calibrated for; the cross-entropy of the output would
    reward inflating them past the next layer's input range, where the
    straight-through quantizer hides the clipping from the gradient.
    """
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
            for xb, _ in batches(split, schedule.batch_size, order):
                progress.check()
                loss = _compensation_step(model, xb.to(schedule.device), crossbar, optimizer)
                if progress.show:
                    bar.set_postfix_str(f"epoch {epoch}/{schedule.epochs}, loss {float(loss):.4f}", refresh=False)
                bar.update()
    return model.eval()


def _compensation_step(model: Compensated, xb: torch.Tensor, crossbar: Crossbar,
                       optimizer: torch.optim.Optimizer) -> torch.Tensor:
    """One batch: the relative squared error of the corrected maps under a fresh chip against the nominal maps,
    minimized by one optimizer step; returns the loss."""
    with torch.no_grad(), model.bypassed():
        model(xb)
        targets = dict(model.maps)
    crossbar.resample()
    with crossbar.active(model):
        model(xb)
    loss = sum(((model.maps[key] - target) ** 2).mean() / (target ** 2).mean().clamp_min(1e-12)
               for key, target in targets.items())
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    return loss.detach()
