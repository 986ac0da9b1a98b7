"""The trained networks of a variation study and their accuracy under variation, per trial.

The plain baseline is the study's quantization-aware network (cached by
`QuantSession`). A CorrectNet trial fine-tunes it under the Lipschitz loss
(suppression; with nominal weights, or optionally under a fresh chip per
batch), then trains compensation beside the chosen layers; a
noise-injection trial fine-tunes it under variation instead. Accuracies under
variation are Monte Carlo means over chips drawn from one seed, so every
network of the study meets the same chips.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from torch import nn

from studies.quant import QuantLayer, layer_stats, quant_layers
from studies.session import QuantSession
from studies.training import batches
from studies.variation.compensation import Compensated, Overhead, overhead
from studies.variation.model import McAccuracy, Variation, mc_accuracy
from studies.variation.training import Schedule, inject_noise, suppress, train_compensation

if TYPE_CHECKING:
    from dse.kinds import StudyContext

CHIP_SEED_OFFSET = 1_000_003
STATS_BATCH = 512


@dataclass(frozen=True)
class Plan:
    """One trial's setting: method, σ values measured, Lipschitz k, β and regularizer form, whether suppression
    fine-tunes under variation, compensation width per layer name."""

    method: str
    sigmas: tuple[float, ...]
    k: float = 0.0
    beta: float = 0.0
    widths: tuple[tuple[str, int], ...] = ()
    regularizer: str = "orthogonal"
    suppression_variation: bool = False


@dataclass(frozen=True)
class Outcome:
    """What one trial produced: the trained network (no compensation) and the compensated one (or None)."""

    trained: nn.Module
    compensated: Compensated | None
    overhead: Overhead | None


class VariationSession:
    """Data, the plain quantized network, the crossbar settings and Monte Carlo evaluation of a variation study."""

    def __init__(self, context: StudyContext, mapping: str, adc_bits: int | None, samples: int,
                 compensation_epochs: int, compensation_loss: str = "task"):
        self.quant = QuantSession(context)
        self.lut = context.lut
        self.mapping = mapping
        self.adc_bits = adc_bits
        self.samples = samples
        self.compensation_epochs = compensation_epochs
        self.compensation_loss = compensation_loss
        self.chip_seed = context.seed + CHIP_SEED_OFFSET

    def layer_names(self) -> list[str]:
        """Names of the network's crossbar (MAC) layers, in forward order."""
        return [name for name, _ in quant_layers(self.quant.baseline_model())]

    def variation(self, sigma: float) -> Variation:
        return Variation(sigma, self.mapping, self.adc_bits)

    def schedule(self, epochs: int, seed: int) -> Schedule:
        settings = self.quant.settings
        return Schedule(epochs, settings["lr"], settings["batch_size"], seed, self.quant.device,
                        settings["weight_decay"], self.quant.progress)

    def accuracy(self, model: nn.Module, sigma: float, split: str = "val") -> McAccuracy:
        """Monte Carlo accuracy of `model` (plain, trained or compensated) at σ on a data part."""
        layers: list[QuantLayer] = (model.crossbar_layers() if isinstance(model, Compensated)
                                    else [layer for _, layer in quant_layers(model)])
        dataset = self.quant.dataset
        return mc_accuracy(model, layers, getattr(dataset, split), self.variation(sigma), self.samples,
                           self.chip_seed, self.quant.device, calibration=dataset.train[0])

    def run(self, plan: Plan, seed: int) -> Outcome:
        """Train the networks of one trial's plan, starting from the plain network."""
        base = self.quant.baseline_model()
        train_split = self.quant.dataset.train
        sigma = max(plan.sigmas)
        finetune = self.schedule(self.quant.settings["finetune_epochs"], seed)
        if plan.method == "noise-injection":
            return Outcome(inject_noise(base, train_split, self.variation(sigma), finetune), None, None)
        trained = suppress(base, train_split, plan.k, plan.beta, sigma, finetune, plan.regularizer,
                           self.variation(sigma) if plan.suppression_variation else None)
        widths = {name: width for name, width in plan.widths if width > 0}
        if not widths:
            return Outcome(trained, None, None)
        return Outcome(trained, *self.compensate(trained, widths, sigma, seed + 1))

    def compensate(self, network: nn.Module, widths: dict[str, int], sigma: float,
                   seed: int) -> tuple[Compensated, Overhead]:
        """`network` with compensation of the given widths trained under variation at σ, and its overhead."""
        train_split = self.quant.dataset.train
        compensated = train_compensation(network, widths, self.quant.bits, train_split, self.variation(sigma),
                                         self.schedule(self.compensation_epochs, seed), self.compensation_loss)
        stats = layer_stats(compensated, batches(train_split, STATS_BATCH), self.quant.device)
        return compensated, overhead(compensated, stats, self.lut)
