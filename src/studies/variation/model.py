"""Log-normal device variation of an RRAM crossbar, applied to a quantized network at inference.

Each weight is a programmed conductance; process variation makes the device's
conductance G·e^θ with θ ~ N(0, σ²) drawn once per device and chip (one Monte
Carlo sample is one chip). Signed weights need one of two mappings:

- `differential`: a pair of devices per weight, w = G⁺ − G⁻, one of them at
  zero conductance (an ideal off state), so the weight becomes w·e^θ;
- `offset`: one device per weight holding G = w + w_max (w_max the layer's
  largest magnitude), the constant w_max·Σx subtracted digitally and exactly,
  so the weight becomes w·e^θ + w_max·(e^θ − 1): small weights suffer the
  error of a half-scale device.

The conductance levels are the network's quantized weight levels (the LUT's
bit-width: 2^(B-1) magnitudes per device of a differential pair). Inputs reach
the crossbar at the same bit-width (the quantized layer inputs). With
`adc_bits` the column outputs are read by an ADC of that resolution, a uniform
quantizer over ±the largest nominal output seen on calibration data (when
accuracy is measured; training sees an ideal readout). Biases
are added digitally, without variation. Compensation layers run in digital
logic and never vary.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from studies.data import Split
from studies.quant import QuantLayer
from studies.training import batches

MAPPINGS = ("differential", "offset")
EVAL_BATCH = 1024


@dataclass(frozen=True)
class Variation:
    """The variation of one crossbar technology: σ of θ, the signed-weight mapping, optional ADC bits."""

    sigma: float
    mapping: str = "differential"
    adc_bits: int | None = None

    def __post_init__(self) -> None:
        if not self.sigma >= 0:
            raise ValueError(f"sigma must be >= 0, got {self.sigma}")
        if self.mapping not in MAPPINGS:
            raise ValueError(f"mapping must be one of {MAPPINGS}, got {self.mapping!r}")

    @property
    def mean_factor(self) -> float:
        """E[e^θ] = e^{σ²/2}."""
        return math.exp(self.sigma ** 2 / 2)

    @property
    def std_factor(self) -> float:
        """Standard deviation of e^θ: √((e^{σ²} − 1)·e^{σ²})."""
        return math.sqrt(math.expm1(self.sigma ** 2) * math.exp(self.sigma ** 2))

    def apply(self, weight: torch.Tensor, theta: torch.Tensor) -> torch.Tensor:
        """The weight a chip with device deviations `theta` (same shape) really computes with."""
        factor = torch.exp(theta)
        if self.mapping == "differential":
            return weight * factor
        offset = weight.detach().abs().max()
        return weight * factor + offset * torch.expm1(theta)


class Crossbar:
    """The MAC layers of a network mapped onto crossbars: draws device deviations and applies them in forward.

    Inside `active()`, every layer computes with its varied weight. `resample()`
    draws a fresh chip; with `per_batch` (noise-injection training) every
    forward pass in training mode draws one itself.
    """

    def __init__(self, layers: Sequence[QuantLayer], variation: Variation, generator: torch.Generator,
                 per_batch: bool = False):
        self.layers = list(layers)
        self.variation = variation
        self.generator = generator
        self.per_batch = per_batch
        self.theta: list[torch.Tensor] = []
        self.adc_range: list[torch.Tensor | None] = [None] * len(self.layers)

    def resample(self) -> None:
        """Draw θ ~ N(0, σ²) for every device of every layer (a new chip)."""
        self.theta = [torch.randn(layer.weight.shape, generator=self.generator).to(layer.weight.device)
                      * self.variation.sigma for layer in self.layers]

    @torch.no_grad()
    def calibrate_adc(self, model: nn.Module, x: torch.Tensor) -> None:
        """Set each ADC's full scale to the largest nominal output magnitude of its layer on `x`."""
        outputs: dict[int, torch.Tensor] = {}
        handles = [layer.register_forward_hook(lambda m, i, o, k=k: outputs.__setitem__(k, o.abs().max()))
                   for k, layer in enumerate(self.layers)]
        try:
            model.eval()(x)
        finally:
            for handle in handles:
                handle.remove()
        self.adc_range = [outputs[k].clamp_min(1e-12) for k in range(len(self.layers))]

    @contextmanager
    def active(self, model: nn.Module) -> Iterator[Crossbar]:
        """Make every layer compute with its varied weight (and ADC) until the block ends."""
        if not self.theta:
            self.resample()
        originals = []
        handles = []
        for k, layer in enumerate(self.layers):
            original = layer.quantized_weight
            originals.append(original)
            layer.quantized_weight = (lambda k=k, original=original: self.variation.apply(original(), self.theta[k]))
            if self.variation.adc_bits is not None and self.adc_range[k] is not None:
                handles.append(layer.register_forward_hook(self._adc(k)))
        if self.per_batch:
            handles.append(model.register_forward_pre_hook(lambda m, i: self.resample() if m.training else None))
        try:
            yield self
        finally:
            for layer in self.layers:
                del layer.quantized_weight
            for handle in handles:
                handle.remove()

    def _adc(self, k: int):
        steps = (1 << (self.variation.adc_bits - 1)) - 1

        def hook(module: nn.Module, inputs: tuple[torch.Tensor, ...], output: torch.Tensor) -> torch.Tensor:
            full_scale = self.adc_range[k]
            code = torch.clamp(output / full_scale * steps, -steps, steps)
            return (code + (code.round() - code).detach()) * full_scale / steps
        return hook


@dataclass(frozen=True)
class McAccuracy:
    """Accuracy (%) of one network over Monte Carlo chips: per chip, mean, its standard error, 5th percentile."""

    per_sample: np.ndarray

    @property
    def mean(self) -> float:
        return float(self.per_sample.mean())

    @property
    def standard_error(self) -> float:
        n = len(self.per_sample)
        return float(self.per_sample.std(ddof=1) / math.sqrt(n)) if n > 1 else 0.0

    @property
    def p5(self) -> float:
        return float(np.percentile(self.per_sample, 5))


@torch.no_grad()
def mc_accuracy(model: nn.Module, layers: Sequence[QuantLayer], split: Split, variation: Variation,
                samples: int, seed: int, device: str = "cpu", calibration: torch.Tensor | None = None) -> McAccuracy:
    """Accuracy of `model` on `split` over `samples` chips whose `layers` vary as `variation` says.

    The chips follow `seed` alone, so two networks of the same shape evaluated
    with the same seed meet the same devices (common random numbers). σ = 0
    with no ADC is the variation-free network exactly.
    """
    model.eval()
    x, y = split
    if variation.sigma == 0 and variation.adc_bits is None:
        samples = 1
    crossbar = Crossbar(layers, variation, torch.Generator().manual_seed(seed))
    if variation.adc_bits is not None:
        crossbar.calibrate_adc(model, (calibration if calibration is not None else x).to(device))
    scores = np.empty(samples)
    for s in range(samples):
        crossbar.resample()
        correct = 0
        with crossbar.active(model):
            for xb, yb in batches((x, y), EVAL_BATCH):
                correct += int((model(xb.to(device)).argmax(dim=1).cpu() == yb).sum())
        scores[s] = 100.0 * correct / max(len(y), 1)
    return McAccuracy(scores)
