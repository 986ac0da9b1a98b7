"""Error compensation (CorrectNet): a digital generator and compensator beside selected crossbar layers.

For a compensated layer, the generator computes `width` channels of
compensation data from the layer's input with the layer's own shape of
operation (the same kernel, stride and padding for a convolution; a Linear
layer otherwise), followed by a ReLU. The compensator corrects the layer's
erroneous output feature map y with them: y' = g ⊙ y + C·data, a per-channel
gain g (a depthwise 1×1 convolution, starting at 1) on the erroneous map plus a
1×1 convolution (or Linear layer) C of the compensation data (starting at 0),
so an untrained compensation changes nothing. The gain lets it shrink the
noisy map towards the clean low-rank estimate. All three have weights at the
network's bit-width (the gain reads the crossbar output at full precision)
and run in digital logic, so they never vary. They are trained under
variation (a fresh chip per batch) with the crossbar network frozen, for the
network's cross-entropy, or to bring each compensated layer's corrected map
back to the map the layer gives without variation
(`studies.variation.training.train_compensation`). Their cost is overhead:
parameters, MACs (`costmodel.macs`) and LUT energy (`costmodel.energy_per_inference`).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import torch
from torch import nn

from cells.units import NJ_PER_J
from characterize.lut.table import Lut
from dse.costmodel import LayerStats, energy_per_inference, macs
from studies.quant import QuantConv2d, QuantLayer, quant_layers, quantize_model

PREFIX = "compensations."


class ReadoutGain(QuantConv2d):
    """The per-channel gain g (a depthwise 1×1 convolution starting at 1): B-bit weights, but its input, the
    crossbar's readout, is taken at full precision, as the bias path is; re-quantizing it to B bits would
    cost more accuracy than the compensation wins back."""

    def __init__(self, channels: int, bits: int):
        super().__init__(nn.Conv2d(channels, channels, 1, groups=channels, bias=False), bits)
        nn.init.ones_(self.weight)

    def quantized_input(self, x: torch.Tensor) -> torch.Tensor:
        return x


class Compensation(nn.Module):
    """Generator (layer-shaped, `width` outputs, ReLU) and compensator (per-channel gain on the erroneous
    output plus a 1×1 / Linear map of the compensation data)."""

    def __init__(self, layer: nn.Module, width: int, bits: int):
        super().__init__()
        if isinstance(layer, nn.Conv2d):
            generator: nn.Module = nn.Conv2d(layer.in_channels, width, layer.kernel_size, layer.stride,
                                             layer.padding, layer.dilation)
            compensator: nn.Module = nn.Conv2d(width, layer.out_channels, 1)
        else:
            generator = nn.Linear(layer.in_features, width)
            compensator = nn.Linear(width, layer.out_features)
        nn.init.zeros_(compensator.weight)
        nn.init.zeros_(compensator.bias)
        channels = compensator.out_channels if isinstance(compensator, nn.Conv2d) else compensator.out_features
        self.data = quantize_model(nn.Sequential(generator, nn.ReLU(), compensator), bits)
        self.gain = ReadoutGain(channels, bits)

    def forward(self, x: torch.Tensor, erroneous: torch.Tensor) -> torch.Tensor:
        """The corrected output of the layer whose input is `x` and whose crossbar output is `erroneous`."""
        shape = erroneous.shape
        as_map = erroneous if erroneous.dim() == 4 else erroneous.reshape(shape[0], shape[1], 1, 1)
        return self.gain(as_map).reshape(shape) + self.data(x)


def _key(name: str) -> str:
    return name.replace(".", "/")


class Compensated(nn.Module):
    """A frozen crossbar network with compensation beside the layers named in `widths` (name → width)."""

    def __init__(self, network: nn.Module, widths: dict[str, int], bits: int):
        super().__init__()
        self.network = network
        for parameter in network.parameters():
            parameter.requires_grad_(False)
        layers = dict(network.named_modules())
        self.compensations = nn.ModuleDict({_key(name): Compensation(layers[name], width, bits).to(
            next(network.parameters()).device) for name, width in widths.items() if width > 0})
        self.bypass = False
        self.maps: dict[str, torch.Tensor] = {}
        self._handles = [layers[name].register_forward_hook(self._hook(_key(name)))
                         for name, width in widths.items() if width > 0]

    def _hook(self, key: str):
        def hook(module: nn.Module, inputs: tuple, output: torch.Tensor) -> torch.Tensor:
            if self.bypass:
                self.maps[key] = output
                return output
            corrected = self.compensations[key](inputs[0], output)
            self.maps[key] = corrected
            return corrected
        return hook

    @contextmanager
    def bypassed(self) -> Iterator[Compensated]:
        """Run without compensation (`maps` then holds the layers' own outputs) until the block ends."""
        self.bypass = True
        try:
            yield self
        finally:
            self.bypass = False

    def forward(self, x):
        return self.network(x)

    def train(self, mode: bool = True) -> Compensated:
        """Only the compensation trains; the crossbar network keeps its calibration (always in eval mode)."""
        super().train(mode)
        self.network.eval()
        return self

    def crossbar_layers(self) -> list[QuantLayer]:
        """The layers that sit on crossbars and vary."""
        return [layer for _, layer in quant_layers(self.network)]


@dataclass(frozen=True)
class Overhead:
    """What compensation adds: parameters, MACs per inference (also in % of the network's) and LUT energy."""

    params: int
    macs: int
    macs_pct: float
    energy_per_inference_nJ: float


def overhead(model: Compensated, stats: Sequence[LayerStats], lut: Lut) -> Overhead:
    """Overhead of `model`'s compensation, from `stats` = `studies.quant.layer_stats(model, ...)`."""
    extra = [s for s in stats if s.name.startswith(PREFIX)]
    network = [s for s in stats if not s.name.startswith(PREFIX)]
    params = sum(p.numel() for p in model.compensations.parameters())
    extra_macs, network_macs = macs(extra), macs(network)
    return Overhead(params, extra_macs, 100.0 * extra_macs / network_macs if network_macs else 0.0,
                    energy_per_inference(lut, extra) * NJ_PER_J)
