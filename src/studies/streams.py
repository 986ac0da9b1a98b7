"""Activation streams of a quantized network's layers, as a weight-stationary array feeds them to held weights.

In a weight-stationary array the weight at fan-in position k of a layer (an
input feature of a Linear layer; an input channel and kernel offset of a
convolution) stays in its multiplier while the activations of that position
stream past it: image after image, and within an image output position after
output position (row-major). A layer's stream is thus a (K, T) matrix: row k
is what the weights at position k see, in order. A characterization sequence
strings together segments of `SEGMENT` consecutive values of rows and starting
points drawn at random (seeded), so that it keeps the real transitions
between consecutive activations and mixes the layer's positions.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from studies.quant import QuantLayer, quant_layers

SEGMENT = 100  # consecutive activations per piece of a characterization sequence


@torch.no_grad()
def layer_streams(model: nn.Module, x: torch.Tensor, device: str = "cpu") -> dict[str, np.ndarray]:
    """Per quantized layer (by module name), its integer input activations for the images `x` as a (K, T) stream."""
    streams: dict[str, np.ndarray] = {}

    def observer(name: str, layer: QuantLayer):
        def hook(module: nn.Module, inputs: tuple[torch.Tensor, ...], output: torch.Tensor) -> None:
            levels = layer.integer_inputs(inputs[0])
            streams[name] = _stream(layer, levels).cpu().numpy()
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


def _stream(layer: QuantLayer, levels: torch.Tensor) -> torch.Tensor:
    """(K, T) integer stream of one layer's input levels: rows are fan-in positions, columns time."""
    if isinstance(layer, nn.Conv2d):
        # unfold pads with zeros, as the hardware streams zeros at the borders
        columns = F.unfold(levels.to(torch.float64), layer.kernel_size, layer.dilation, layer.padding, layer.stride)
        return columns.permute(1, 0, 2).reshape(columns.shape[1], -1).round().to(torch.int64)
    return levels.reshape(-1, levels.shape[-1]).T


def characterization_sequence(stream: np.ndarray, length: int, seed: int) -> np.ndarray:
    """`length` activations from a (K, T) stream: segments of SEGMENT consecutive values (fewer when T is shorter)
    from seeded random rows and starting points, joined in the order drawn."""
    rows, steps = stream.shape
    segment = min(SEGMENT, steps)
    rng = np.random.default_rng(seed)
    pieces, total = [], 0
    while total < length:
        row, start = rng.integers(rows), rng.integers(steps - segment + 1)
        pieces.append(stream[row, start:start + segment])
        total += segment
    return np.concatenate(pieces)[:length].astype(np.int64)
