"""Activation streams of a quantized network's layers, as a weight-stationary array feeds them to held weights.

In a weight-stationary array the weight at fan-in position k of a layer (an
input feature of a Linear layer; an input channel and kernel offset of a
convolution) stays in its multiplier while the activations of that position
stream past it: image after image, and within an image output position after
output position (row-major). A layer's stream thus has one row per fan-in
position k: what the weights held there see, in order. A characterization
sequence strings together segments of `SEGMENT` consecutive values from the
rows in a seeded random order, each from a random starting point, so that it
keeps the real transitions between consecutive activations and spreads over
the layer's positions.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from studies.quant import QuantLayer, quant_layers

SEGMENT = 25  # consecutive activations per piece of a characterization sequence (1 seam in 25 transitions)


@dataclass(frozen=True)
class LayerStream:
    """One layer's integer inputs as a weight-stationary array feeds them: `rows` fan-in positions, each a
    stream of `steps` activations in time order (`row(k)`), taken from the inputs without unfolding them all.

    `levels` holds a Linear layer's inputs as (N, K), or a convolution's as (N, C, H, W) with its zero padding.
    """

    levels: torch.Tensor
    kernel: tuple[int, int] = (1, 1)
    stride: tuple[int, int] = (1, 1)
    dilation: tuple[int, int] = (1, 1)
    convolution: bool = False

    @property
    def rows(self) -> int:
        if not self.convolution:
            return self.levels.shape[1]
        return self.levels.shape[1] * self.kernel[0] * self.kernel[1]

    @property
    def outputs(self) -> tuple[int, int]:
        """Output map size (H_out, W_out) of a convolution."""
        (kh, kw), (sh, sw), (dh, dw) = self.kernel, self.stride, self.dilation
        height, width = self.levels.shape[2:]
        return (height - dh * (kh - 1) - 1) // sh + 1, (width - dw * (kw - 1) - 1) // sw + 1

    @property
    def steps(self) -> int:
        if not self.convolution:
            return self.levels.shape[0]
        h_out, w_out = self.outputs
        return self.levels.shape[0] * h_out * w_out

    def row(self, k: int) -> np.ndarray:
        """What the weights at fan-in position k see, in order: image after image (and output position after
        output position, row-major, for a convolution: input channel c and kernel offset (i, j) of k)."""
        if not self.convolution:
            return self.levels[:, k].numpy().astype(np.int64)
        (kh, kw), (sh, sw), (dh, dw) = self.kernel, self.stride, self.dilation
        h_out, w_out = self.outputs
        channel, offset = divmod(k, kh * kw)
        i, j = divmod(offset, kw)
        window = self.levels[:, channel, i * dh:i * dh + sh * (h_out - 1) + 1:sh, j * dw:j * dw + sw * (w_out - 1) + 1:sw]
        return window.reshape(-1).numpy().astype(np.int64)


@torch.no_grad()
def layer_streams(model: nn.Module, x: torch.Tensor, device: str = "cpu") -> dict[str, LayerStream]:
    """Per quantized layer (by module name), its integer input activations for the images `x` as a stream."""
    streams: dict[str, LayerStream] = {}

    def observer(name: str, layer: QuantLayer):
        def hook(module: nn.Module, inputs: tuple[torch.Tensor, ...], output: torch.Tensor) -> None:
            streams[name] = _stream(layer, layer.integer_inputs(inputs[0]).to(torch.int16).cpu())
        return hook

    layers = quant_layers(model)
    handles = [layer.register_forward_hook(observer(name, layer)) for name, layer in layers]
    was_training = model.training
    model.eval()
    try:
        model(x.to(device))
    finally:
        for handle in handles:
            handle.remove()
        model.train(was_training)
    return {name: streams[name] for name, _ in layers if name in streams}


def _stream(layer: QuantLayer, levels: torch.Tensor) -> LayerStream:
    if isinstance(layer, nn.Conv2d):
        pad_h, pad_w = layer.padding  # the hardware streams zeros at the borders
        padded = F.pad(levels, (pad_w, pad_w, pad_h, pad_h))
        return LayerStream(padded, layer.kernel_size, layer.stride, layer.dilation, convolution=True)
    return LayerStream(levels.reshape(-1, levels.shape[-1]))


def characterization_sequence(stream: LayerStream, length: int, seed: int) -> np.ndarray:
    """`length` activations of a stream: segments of SEGMENT consecutive values (fewer when the rows are
    shorter), each from a random starting point of the next row of a seeded random order of all rows (every row
    once before any repeats, so the segments spread over the layer's positions), joined in that order."""
    segment = min(SEGMENT, stream.steps)
    count = -(-length // segment)
    rng = np.random.default_rng(seed)
    rows = np.concatenate([rng.permutation(stream.rows) for _ in range(-(-count // stream.rows))])[:count]
    starts = rng.integers(stream.steps - segment + 1, size=count)
    pieces = [stream.row(int(row))[start:start + segment] for row, start in zip(rows, starts)]
    return np.concatenate(pieces)[:length]
