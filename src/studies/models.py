"""Network definitions: an MLP and a small CNN for digits-sized inputs, VGG- and ResNet-style nets for larger data.

Every net uses only nn.Linear and nn.Conv2d for its multiply-accumulates, so
`studies.quant` can swap them for quantized layers. Batch normalization stays
a float per-channel affine step after the MACs, as the requantization stage of
an accelerator applies it.

[model] keys: `arch` (mlp, cnn, vgg, resnet), `hidden` (MLP widths, [64]),
`channels` (conv widths per stage), `convs_per_stage` (VGG, 2),
`blocks_per_stage` (ResNet, 2), and training: `epochs` (baseline, 20),
`finetune_epochs` (per trial, 3), `batch_size` (64), `lr` (Adam, 0.003),
`weight_decay` (0).
"""

from __future__ import annotations

import torch
from torch import nn

from studies.errors import ModelError

ARCHITECTURES = ("mlp", "cnn", "vgg", "resnet")
DEFAULT_CHANNELS = {"cnn": [16, 32], "vgg": [32, 64, 128], "resnet": [16, 32, 64]}
DEFAULTS = {
    "arch": "mlp",
    "hidden": [64],
    "channels": None,
    "convs_per_stage": 2,
    "blocks_per_stage": 2,
    "epochs": 20,
    "finetune_epochs": 3,
    "batch_size": 64,
    "lr": 3e-3,
    "weight_decay": 0.0,
}


def validate_model_settings(config: dict) -> dict:
    """The [model] table with defaults filled in; ModelError names the first bad key."""
    unknown = sorted(set(config) - set(DEFAULTS))
    if unknown:
        raise ModelError(f"model.{unknown[0]}: unknown key (known: {', '.join(sorted(DEFAULTS))})")
    settings = {**DEFAULTS, **config}
    if settings["arch"] not in ARCHITECTURES:
        raise ModelError(f"model.arch: expected one of {', '.join(ARCHITECTURES)}, got {settings['arch']!r}")
    if settings["channels"] is None:
        settings["channels"] = DEFAULT_CHANNELS.get(settings["arch"], [])
    for key in ("hidden", "channels"):
        value = settings[key]
        if not isinstance(value, list) or not all(_positive_int(v) for v in value):
            raise ModelError(f"model.{key}: expected a list of positive integers, got {value!r}")
    if settings["arch"] != "mlp" and not settings["channels"]:
        raise ModelError(f"model.channels: '{settings['arch']}' needs at least one stage")
    for key in ("convs_per_stage", "blocks_per_stage", "epochs", "batch_size"):
        if not _positive_int(settings[key]):
            raise ModelError(f"model.{key}: expected a positive integer, got {settings[key]!r}")
    if not isinstance(settings["finetune_epochs"], int) or isinstance(settings["finetune_epochs"], bool) \
            or settings["finetune_epochs"] < 0:
        raise ModelError(f"model.finetune_epochs: expected a non-negative integer, got {settings['finetune_epochs']!r}")
    for key in ("lr", "weight_decay"):
        value = settings[key]
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0 or (key == "lr" and value == 0):
            raise ModelError(f"model.{key}: expected a {'positive' if key == 'lr' else 'non-negative'} number, "
                             f"got {value!r}")
    return settings


def _positive_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def build_model(config: dict, input_shape: tuple[int, ...], n_classes: int) -> nn.Module:
    """The float network the [model] table asks for, sized for `input_shape` (C×H×W or F) and `n_classes`."""
    settings = validate_model_settings(config)
    arch = settings["arch"]
    if arch == "mlp":
        return mlp(_flat_size(input_shape), settings["hidden"], n_classes)
    if len(input_shape) != 3:
        raise ModelError(f"model.arch: '{arch}' needs image-shaped inputs (channels × height × width), "
                         f"the data has shape {tuple(input_shape)}")
    channels = settings["channels"]
    if arch == "cnn":
        return small_cnn(input_shape, channels, n_classes)
    if arch == "vgg":
        return vgg(input_shape[0], channels, settings["convs_per_stage"], n_classes)
    return resnet(input_shape[0], channels, settings["blocks_per_stage"], n_classes)


def _flat_size(input_shape: tuple[int, ...]) -> int:
    size = 1
    for dim in input_shape:
        size *= dim
    return size


def mlp(n_inputs: int, hidden: list[int], n_classes: int) -> nn.Sequential:
    """Flatten, then Linear + ReLU per hidden width, then a Linear classifier."""
    layers: list[nn.Module] = [nn.Flatten()]
    width = n_inputs
    for size in hidden:
        layers += [nn.Linear(width, size), nn.ReLU()]
        width = size
    return nn.Sequential(*layers, nn.Linear(width, n_classes))


def small_cnn(input_shape: tuple[int, ...], channels: list[int], n_classes: int) -> nn.Sequential:
    """Per stage a 3×3 conv + ReLU + 2×2 max-pool (while the map is at least 2×2), then a Linear classifier."""
    c, h, w = input_shape
    layers: list[nn.Module] = []
    for width in channels:
        layers += [nn.Conv2d(c, width, 3, padding=1), nn.ReLU()]
        if h >= 2 and w >= 2:
            layers.append(nn.MaxPool2d(2))
            h, w = h // 2, w // 2
        c = width
    return nn.Sequential(*layers, nn.Flatten(), nn.Linear(c * h * w, n_classes))


def vgg(in_channels: int, channels: list[int], convs_per_stage: int, n_classes: int) -> nn.Sequential:
    """VGG-style: stages of 3×3 conv + BN + ReLU, max-pool between stages, global average pool, Linear."""
    layers: list[nn.Module] = []
    c = in_channels
    for stage, width in enumerate(channels):
        if stage:
            layers.append(nn.MaxPool2d(2, ceil_mode=True))
        for _ in range(convs_per_stage):
            layers += [nn.Conv2d(c, width, 3, padding=1, bias=False), nn.BatchNorm2d(width), nn.ReLU()]
            c = width
    return nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(c, n_classes))


class BasicBlock(nn.Module):
    """Two 3×3 conv + BN with a shortcut (1×1 conv + BN when the shape changes), ReLU after the sum."""

    def __init__(self, in_channels: int, out_channels: int, stride: int):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(out_channels)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_channels)
        self.relu = nn.ReLU()
        self.shortcut = nn.Sequential()
        if stride != 1 or in_channels != out_channels:
            self.shortcut = nn.Sequential(nn.Conv2d(in_channels, out_channels, 1, stride, bias=False),
                                          nn.BatchNorm2d(out_channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        return self.relu(self.bn2(self.conv2(out)) + self.shortcut(x))


def resnet(in_channels: int, channels: list[int], blocks_per_stage: int, n_classes: int) -> nn.Sequential:
    """ResNet-style: a 3×3 stem, stages of basic blocks (stride 2 from the second stage), average pool, Linear."""
    layers: list[nn.Module] = [nn.Conv2d(in_channels, channels[0], 3, padding=1, bias=False),
                               nn.BatchNorm2d(channels[0]), nn.ReLU()]
    c = channels[0]
    for stage, width in enumerate(channels):
        for block in range(blocks_per_stage):
            layers.append(BasicBlock(c, width, 2 if stage and not block else 1))
            c = width
    return nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(c, n_classes))
