"""Physical removal of filters (convolution output channels) and neurons (linear outputs) from a network.

A prunable unit is a MAC layer whose outputs reach exactly one following MAC
layer through channel-wise steps only (batch norm, ReLU, pooling, flatten).
Removing output k of a unit removes filter k (its weights and bias), channel k
of the batch norm after it and the inputs of the following layer that read
channel k (after a flatten, that channel's block of H×W features). An output
that is zero for every input contributes nothing downstream, so removing it
leaves the network's outputs unchanged (in a quantized network, as long as
the removed inputs of the following layer did not hold its largest weight,
which sets its weight scale). The classifier is not prunable, nor
in residual nets a layer feeding a skip connection; the first convolution
inside a residual block is.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from studies.errors import StudiesError
from studies.models import BasicBlock

MAC_LAYERS = (nn.Linear, nn.Conv2d)
NORMS = (nn.BatchNorm1d, nn.BatchNorm2d)
CHANNEL_WISE = (nn.ReLU, nn.MaxPool2d, nn.AvgPool2d, nn.AdaptiveAvgPool2d, nn.Flatten, nn.Dropout, nn.Identity)


@dataclass(frozen=True)
class PrunableUnit:
    """A MAC layer whose outputs may be removed, the batch norm after it (if any) and the layer reading them.

    Names are module names as `model.get_submodule` takes them; they stay valid after surgery.
    """

    name: str
    norm: str | None
    consumer: str

    @property
    def activation_module(self) -> str:
        """The module whose output holds the unit's activations before the nonlinearity."""
        return self.norm or self.name


def prunable_units(model: nn.Module) -> list[PrunableUnit]:
    """The prunable units of an nn.Sequential network (as `studies.models` builds them), in forward order."""
    if not isinstance(model, nn.Sequential):
        raise StudiesError(f"pruning needs an nn.Sequential network, got {type(model).__name__}")
    units: list[PrunableUnit] = []
    pending: tuple[str, str | None] | None = None
    for name, child in model.named_children():
        if isinstance(child, MAC_LAYERS):
            if pending is not None:
                units.append(PrunableUnit(pending[0], pending[1], name))
            pending = (name, None)
        elif isinstance(child, NORMS):
            pending = (pending[0], name) if pending is not None and pending[1] is None else None
        elif isinstance(child, BasicBlock):
            units.append(PrunableUnit(f"{name}.conv1", f"{name}.bn1", f"{name}.conv2"))
            pending = None
        elif not isinstance(child, CHANNEL_WISE):
            pending = None
    return units


def output_count(layer: nn.Module) -> int:
    """Number of filters of a convolution or neurons of a linear layer."""
    return layer.out_channels if isinstance(layer, nn.Conv2d) else layer.out_features


def widths(model: nn.Module, units: Sequence[PrunableUnit]) -> dict[str, int]:
    """Current number of outputs of every unit."""
    return {unit.name: output_count(model.get_submodule(unit.name)) for unit in units}


def parameter_count(model: nn.Module) -> int:
    """Number of trainable values: weights, biases and batch-norm affine parameters."""
    return sum(p.numel() for p in model.parameters())


def remove_outputs(model: nn.Module, units: Sequence[PrunableUnit], keep: Mapping[str, Sequence[int]]) -> nn.Module:
    """A copy of `model` in which each unit named in `keep` has only the listed outputs (indices into its current ones)."""
    pruned = copy.deepcopy(model)
    by_name = {unit.name: unit for unit in units}
    for name, chosen in keep.items():
        unit = by_name[name]
        producer = pruned.get_submodule(unit.name)
        width = output_count(producer)
        index = torch.as_tensor(np.unique(np.asarray(chosen, dtype=np.int64)), device=producer.weight.device)
        if len(index) == 0 or int(index[0]) < 0 or int(index[-1]) >= width:
            raise StudiesError(f"layer {name}: keep between 1 and {width} of its outputs, with indices below {width}")
        _keep_outputs(producer, index)
        if unit.norm is not None:
            _keep_norm_channels(pruned.get_submodule(unit.norm), index)
        _keep_inputs(pruned.get_submodule(unit.consumer), index, width, name)
    return pruned


def _parameter(values: torch.Tensor, like: nn.Parameter) -> nn.Parameter:
    return nn.Parameter(values.detach().clone(), requires_grad=like.requires_grad)


def _keep_outputs(layer: nn.Module, index: torch.Tensor) -> None:
    if isinstance(layer, nn.Conv2d) and layer.groups != 1:
        raise StudiesError("pruning grouped convolutions is not supported")
    layer.weight = _parameter(layer.weight[index], layer.weight)
    if layer.bias is not None:
        layer.bias = _parameter(layer.bias[index], layer.bias)
    if isinstance(layer, nn.Conv2d):
        layer.out_channels = len(index)
    else:
        layer.out_features = len(index)


def _keep_norm_channels(norm: nn.Module, index: torch.Tensor) -> None:
    if norm.affine:
        norm.weight = _parameter(norm.weight[index], norm.weight)
        norm.bias = _parameter(norm.bias[index], norm.bias)
    if norm.track_running_stats:
        norm.running_mean = norm.running_mean[index].clone()
        norm.running_var = norm.running_var[index].clone()
    norm.num_features = len(index)


def _keep_inputs(layer: nn.Module, index: torch.Tensor, width: int, producer: str) -> None:
    if isinstance(layer, nn.Conv2d):
        if layer.groups != 1:
            raise StudiesError("pruning grouped convolutions is not supported")
        layer.weight = _parameter(layer.weight[:, index], layer.weight)
        layer.in_channels = len(index)
        return
    block, remainder = divmod(layer.in_features, width)
    if remainder:
        raise StudiesError(f"layer {producer}: its {width} outputs do not evenly fill the "
                           f"{layer.in_features} inputs of the layer after it")
    columns = (index[:, None] * block + torch.arange(block, device=index.device)).ravel()
    layer.weight = _parameter(layer.weight[:, columns], layer.weight)
    layer.in_features = len(columns)
