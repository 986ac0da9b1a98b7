"""Quantization-aware training: fake-quantized Linear/Conv2d layers, allowed value sets, per-layer statistics.

Weights are signed integer levels in [-2^(B-1), 2^(B-1)-1] times a per-layer
scale; a layer's inputs are integer levels times a per-layer scale, unsigned
(0 to 2^(B-1)-1, the non-negative inputs of a signed B-bit multiplier) after a
ReLU and signed for the first layer that sees standardized data. Both are
projected onto an allowed set of integer levels (by default every level) with
a straight-through estimator, so restricting a trained network to a subset of
weight or activation values and fine-tuning it is the same code as QAT.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from characterize.generators import operand_range
from dse.costmodel import LayerStats
from studies.errors import StudiesError

EMA_MOMENTUM = 0.9


def signed_levels(bits: int) -> np.ndarray:
    """Every integer level of a signed B-bit operand: -2^(B-1) to 2^(B-1)-1."""
    values = operand_range(bits, signed=True)
    return np.arange(values.start, values.stop)


def nearest_level(x: torch.Tensor, levels: torch.Tensor) -> torch.Tensor:
    """Each element of `x` replaced by the nearest value of the sorted 1-D `levels` (ties go to the lower one)."""
    if len(levels) == 1:
        return levels.expand_as(x).clone()
    midpoints = (levels[1:] + levels[:-1]) / 2
    return levels[torch.bucketize(x, midpoints)]


def project_to_set(x: torch.Tensor, levels: torch.Tensor) -> torch.Tensor:
    """Nearest allowed level in the forward pass, identity gradient in the backward pass (straight-through)."""
    return x + (nearest_level(x.detach(), levels) - x).detach()


class QuantLayer(nn.Module):
    """Fake quantization of a MAC layer's weights and inputs onto allowed integer levels with per-layer scales.

    The input scale follows an exponential moving average of the largest input
    magnitude seen in training and is frozen in eval mode; the weight scale maps
    the largest weight magnitude onto the largest allowed weight magnitude.
    """

    weight: torch.Tensor

    def _setup_quant(self, bits: int) -> None:
        self.bits = bits
        self.register_buffer("act_max", torch.zeros(()))
        self.register_buffer("act_signed", torch.tensor(False))
        self.register_buffer("calibrated", torch.tensor(False))
        self.register_buffer("weight_set", torch.tensor(signed_levels(bits), dtype=torch.float32), persistent=False)
        self.register_buffer("act_set", torch.tensor(signed_levels(bits), dtype=torch.float32), persistent=False)

    @property
    def act_limit(self) -> int:
        """Largest activation level magnitude: 2^(B-1) - 1."""
        return operand_range(self.bits, signed=True)[-1]

    def input_levels(self) -> torch.Tensor:
        """The allowed input levels of this layer: the activation set, non-negative part unless inputs are signed."""
        levels = self.act_set if bool(self.act_signed) else self.act_set[self.act_set >= 0]
        if len(levels) == 0:
            raise StudiesError("the allowed activation set has no non-negative value for a layer after a ReLU")
        return levels

    def weight_scale(self) -> torch.Tensor:
        return self.weight.detach().abs().max().clamp_min(1e-12) / self.weight_set.abs().max().clamp_min(1)

    def input_scale(self) -> torch.Tensor:
        return self.act_max.clamp_min(1e-8) / self.act_limit

    def quantized_weight(self) -> torch.Tensor:
        scale = self.weight_scale()
        return project_to_set(self.weight / scale, self.weight_set) * scale

    def quantized_input(self, x: torch.Tensor) -> torch.Tensor:
        if self.training:
            self._observe(x.detach())
        scale = self.input_scale()
        return project_to_set(x / scale, self.input_levels()) * scale

    def _observe(self, x: torch.Tensor) -> None:
        if not bool(self.calibrated):
            self.act_signed.fill_(bool(x.min() < 0))
            self.act_max.copy_(x.abs().max())
            self.calibrated.fill_(True)
        else:
            self.act_max.mul_(EMA_MOMENTUM).add_((1 - EMA_MOMENTUM) * x.abs().max())

    @torch.no_grad()
    def integer_weights(self) -> np.ndarray:
        """The weights as the integer levels the hardware multiplies with."""
        levels = nearest_level(self.weight / self.weight_scale(), self.weight_set)
        return levels.round().to(torch.int64).cpu().numpy()

    @torch.no_grad()
    def integer_inputs(self, x: torch.Tensor) -> torch.Tensor:
        """The layer's inputs as integer levels."""
        return nearest_level(x / self.input_scale(), self.input_levels()).round().to(torch.int64)

    @property
    def input_min_level(self) -> int:
        return operand_range(self.bits, signed=True)[0] if bool(self.act_signed) else 0


class QuantLinear(nn.Linear, QuantLayer):
    """nn.Linear with fake-quantized weights and inputs; the bias stays at accumulator precision."""

    def __init__(self, in_features: int, out_features: int, bias: bool, bits: int):
        super().__init__(in_features, out_features, bias)
        self._setup_quant(bits)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.linear(self.quantized_input(x), self.quantized_weight(), self.bias)


class QuantConv2d(nn.Conv2d, QuantLayer):
    """nn.Conv2d with fake-quantized weights and inputs; the bias stays at accumulator precision."""

    def __init__(self, conv: nn.Conv2d, bits: int):
        super().__init__(conv.in_channels, conv.out_channels, conv.kernel_size, conv.stride, conv.padding,
                         conv.dilation, conv.groups, conv.bias is not None, conv.padding_mode)
        self._setup_quant(bits)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self._conv_forward(self.quantized_input(x), self.quantized_weight(), self.bias)


def quantize_model(model: nn.Module, bits: int) -> nn.Module:
    """Replace every nn.Linear and nn.Conv2d of `model` (in place) by its B-bit quantized twin with the same weights."""
    if not isinstance(bits, int) or not 2 <= bits <= 16:
        raise StudiesError(f"quantization bits must be an integer from 2 to 16, got {bits!r}")
    for name, child in model.named_children():
        if isinstance(child, QuantLayer):
            continue
        if isinstance(child, nn.Linear):
            layer: nn.Module = QuantLinear(child.in_features, child.out_features, child.bias is not None, bits)
        elif isinstance(child, nn.Conv2d):
            layer = QuantConv2d(child, bits)
        else:
            quantize_model(child, bits)
            continue
        layer.load_state_dict(child.state_dict(), strict=False)
        setattr(model, name, layer.to(child.weight.device))
    return model


def quant_layers(model: nn.Module) -> list[tuple[str, QuantLayer]]:
    """The quantized MAC layers of `model` in definition order, with their module names."""
    return [(name, m) for name, m in model.named_modules() if isinstance(m, QuantLayer)]


def restrict(model: nn.Module, weights: Sequence[int] | None = None, activations: Sequence[int] | None = None) -> None:
    """Allow only the given integer weight and activation levels in every quantized layer (None: every level)."""
    layers = quant_layers(model)
    if not layers:
        raise StudiesError("the model has no quantized layers (call quantize_model first)")
    for _, layer in layers:
        full = signed_levels(layer.bits)
        for attr, values in (("weight_set", weights), ("act_set", activations)):
            chosen = full if values is None else np.unique(np.asarray(values, dtype=np.int64))
            outside = chosen[(chosen < full[0]) | (chosen > full[-1])]
            what = attr.split("_")[0]
            if len(chosen) == 0:
                raise StudiesError(f"allowed {what} set is empty")
            if len(outside):
                raise StudiesError(f"allowed {what} set has levels outside {full[0]}..{full[-1]}: "
                                   f"{outside[:5].tolist()}")
            current = getattr(layer, attr)
            setattr(layer, attr, torch.tensor(chosen, dtype=torch.float32, device=current.device))


@torch.no_grad()
def layer_stats(model: nn.Module, loader: Iterable, device: str = "cpu") -> list[LayerStats]:
    """Per quantized layer: integer weights, MACs per weight per inference, histogram of integer inputs.

    A Linear weight takes part in one MAC per inference, a convolution weight
    in one per output position (H_out × W_out). The input histogram counts the
    integer levels of the layer's input tensor over every batch of `loader`.
    """
    layers = quant_layers(model)
    counts = {name: np.zeros(1 << layer.bits if bool(layer.act_signed) else layer.act_limit + 1, dtype=np.int64)
              for name, layer in layers}
    positions: dict[str, int] = {}

    def observer(name: str, layer: QuantLayer):
        def hook(module: nn.Module, inputs: tuple[torch.Tensor, ...], output: torch.Tensor) -> None:
            values = layer.integer_inputs(inputs[0]).flatten() - layer.input_min_level
            counts[name] += torch.bincount(values, minlength=len(counts[name])).cpu().numpy()[:len(counts[name])]
            positions[name] = output.shape[-2] * output.shape[-1] if isinstance(layer, nn.Conv2d) else 1
        return hook

    handles = [layer.register_forward_hook(observer(name, layer)) for name, layer in layers]
    was_training = model.training
    model.eval()
    try:
        for batch in loader:
            model(batch[0].to(device))
    finally:
        for handle in handles:
            handle.remove()
        model.train(was_training)
    return [LayerStats(name, layer.integer_weights(), positions.get(name, 1), counts[name], layer.input_min_level)
            for name, layer in layers]
