"""Network definitions: an MLP and a small CNN for digits-sized inputs, VGG- and ResNet-style nets for larger data.

Every net uses only nn.Linear and nn.Conv2d for its multiply-accumulates, so
`studies.quant` can swap them for quantized layers. Layers are named by their
role: `conv1`, `conv1_relu`, `pool1` … (VGG `conv2_1` for stage 2's first
convolution, with `conv2_1_bn`), `flatten`, `fc1`, `fc1_relu` … for the fully
connected layers before the classifier, `classifier` for the last Linear,
ResNet blocks `block1_1` …. Batch normalization stays
a float per-channel affine step after the MACs, as the requantization stage of
an accelerator applies it.

[model] keys: `arch` (mlp, cnn, vgg, resnet); `hidden` (MLP widths, [64]);
`channels` (conv widths per stage); for the CNN per stage (one value or a
list) `kernel` (3), `padding` ("same" or "valid") and `pool` (max-pool size, 2;
1 for none), `batch_norm` (false; true puts a batch norm, `conv1_bn` …, between each
convolution and its ReLU, VGG-style), and `fc` (widths of fully connected
layers before the classifier, also for VGG); `convs_per_stage` (VGG, 2); `blocks_per_stage` (ResNet, 2); and
training: `epochs` (baseline, 20), `finetune_epochs` (per trial, 3),
`batch_size` (64), `lr` (Adam, 0.003), `weight_decay` (0). LeNet-5 on 28×28
images: channels = [6, 16], kernel = 5, padding = ["same", "valid"], fc = [120, 84].
"""

from __future__ import annotations

from collections import OrderedDict

import numpy as np
import torch
from torch import nn

from dse.schema import Field, Invalid, Section, When, boolean, either, integer, list_of, number, one_of
from studies.errors import ModelError

ARCHITECTURES = ("mlp", "cnn", "vgg", "resnet")
CONVOLUTIONAL = ("cnn", "vgg", "resnet")
DEFAULT_CHANNELS = {"cnn": [16, 32], "vgg": [32, 64, 128], "resnet": [16, 32, 64]}
PADDINGS = ("same", "valid")
STAGE_KEYS = ("kernel", "padding", "pool")


def _channels_and_stages(values: dict) -> None:
    """Channels default per architecture; a per-stage list of the CNN has one entry per stage; "same" padding
    needs odd kernels (it pads kernel // 2 on each side)."""
    arch = values["arch"]
    if arch == "mlp":
        return
    if values["channels"] is None:
        values["channels"] = list(DEFAULT_CHANNELS[arch])
    stages = len(values["channels"])
    for key in STAGE_KEYS:
        value = values.get(key)
        if isinstance(value, list) and len(value) != stages:
            raise Invalid(f"expected one entry per stage of channels ({stages}), got {len(value)}", key)
    if arch == "cnn":
        for kernel, padding in zip(stage_values(values, "kernel"), stage_values(values, "padding"), strict=True):
            if padding == "same" and kernel % 2 == 0:
                raise Invalid(f"'same' padding needs odd kernels, got {kernel}", "kernel")


def stage_values(settings: dict, key: str) -> list:
    """A CNN setting given once or per stage, as one value per stage."""
    value = settings[key]
    return list(value) if isinstance(value, list) else [value] * len(settings["channels"])


MODEL_SETTINGS = Section({
    "arch": Field(one_of(ARCHITECTURES), "mlp"),
    "hidden": Field(list_of(integer(1), "positive integers"), [64], When("arch", ("mlp",), "arch")),
    "channels": Field(list_of(integer(1), "positive integers"), None, When("arch", CONVOLUTIONAL, "arch")),
    "kernel": Field(either(integer(1), list_of(integer(1), "positive integers"), "a positive integer or one per stage"),
                    3, When("arch", ("cnn",), "arch")),
    "padding": Field(either(one_of(PADDINGS), list_of(one_of(PADDINGS), "same or valid"),
                            "same, valid or one per stage"), "same", When("arch", ("cnn",), "arch")),
    "pool": Field(either(integer(1), list_of(integer(1), "positive integers"), "a positive integer or one per stage"),
                  2, When("arch", ("cnn",), "arch")),
    "batch_norm": Field(boolean, False, When("arch", ("cnn",), "arch")),
    "fc": Field(list_of(integer(1), "positive integers", allow_empty=True), [], When("arch", ("cnn", "vgg"), "arch")),
    "convs_per_stage": Field(integer(1), 2, When("arch", ("vgg",), "arch")),
    "blocks_per_stage": Field(integer(1), 2, When("arch", ("resnet",), "arch")),
    "epochs": Field(integer(1), 20),
    "finetune_epochs": Field(integer(0), 3),
    "batch_size": Field(integer(1), 64),
    "lr": Field(number(0, open_bounds=True), 3e-3),
    "weight_decay": Field(number(0), 0.0),
}, rules=(_channels_and_stages,), error=ModelError)
"""The [model] table: `arch` and the keys that apply to it (a key of another arch is an error), then training."""


def validate_model_settings(config: dict, where: str = "model") -> dict:
    """The [model] table with defaults filled in; ModelError names the first bad key."""
    return MODEL_SETTINGS.validate(config, where)


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
        return small_cnn(input_shape, channels, n_classes, stage_values(settings, "kernel"),
                         stage_values(settings, "padding"), stage_values(settings, "pool"), settings["fc"],
                         settings["batch_norm"])
    if arch == "vgg":
        return vgg(input_shape[0], channels, settings["convs_per_stage"], n_classes, settings["fc"])
    return resnet(input_shape[0], channels, settings["blocks_per_stage"], n_classes)


def _flat_size(input_shape: tuple[int, ...]) -> int:
    size = 1
    for dim in input_shape:
        size *= dim
    return size


def named(layers: list[tuple[str, nn.Module]]) -> nn.Sequential:
    """An nn.Sequential whose children carry the given names."""
    return nn.Sequential(OrderedDict(layers))


def mlp(n_inputs: int, hidden: list[int], n_classes: int) -> nn.Sequential:
    """Flatten, then Linear + ReLU per hidden width (fc1, fc2, …), then a Linear classifier."""
    return named([("flatten", nn.Flatten()), *_dense(n_inputs, hidden, n_classes)])


def small_cnn(input_shape: tuple[int, ...], channels: list[int], n_classes: int, kernels: list[int] | None = None,
              paddings: list[str] | None = None, pools: list[int] | None = None, fc: list[int] = (),
              batch_norm: bool = False) -> nn.Sequential:
    """Per stage a conv ("same" or "valid" padding, 3×3 by default; with `batch_norm` unbiased and followed by a
    batch norm) + ReLU + max-pool (2×2 by default; skipped while the map is smaller than the pool), then
    Linear + ReLU per `fc` width, then a Linear classifier."""
    c, h, w = input_shape
    stages = len(channels)
    kernels, paddings, pools = kernels or [3] * stages, paddings or ["same"] * stages, pools or [2] * stages
    layers: list[tuple[str, nn.Module]] = []
    for stage, (width, kernel, padding, pool) in enumerate(zip(channels, kernels, paddings, pools, strict=True), 1):
        pad = kernel // 2 if padding == "same" else 0
        h, w = h + 2 * pad - kernel + 1, w + 2 * pad - kernel + 1
        if h < 1 or w < 1:
            raise ModelError(f"model.kernel: the {kernel}×{kernel} kernel of stage {stage} does not fit its "
                             f"{h + kernel - 1 - 2 * pad}×{w + kernel - 1 - 2 * pad} input map")
        layers.append((f"conv{stage}", nn.Conv2d(c, width, kernel, padding=pad, bias=not batch_norm)))
        if batch_norm:
            layers.append((f"conv{stage}_bn", nn.BatchNorm2d(width)))
        layers.append((f"conv{stage}_relu", nn.ReLU()))
        if pool > 1 and h >= pool and w >= pool:
            layers.append((f"pool{stage}", nn.MaxPool2d(pool)))
            h, w = h // pool, w // pool
        c = width
    return named([*layers, ("flatten", nn.Flatten()), *_dense(c * h * w, fc, n_classes)])


def _dense(n_inputs: int, widths: list[int], n_classes: int) -> list[tuple[str, nn.Module]]:
    """Linear + ReLU per width (fc1, fc1_relu, …), then the Linear classifier."""
    layers: list[tuple[str, nn.Module]] = []
    for index, width in enumerate(widths, 1):
        layers += [(f"fc{index}", nn.Linear(n_inputs, width)), (f"fc{index}_relu", nn.ReLU())]
        n_inputs = width
    return [*layers, ("classifier", nn.Linear(n_inputs, n_classes))]


def vgg(in_channels: int, channels: list[int], convs_per_stage: int, n_classes: int,
        fc: list[int] = ()) -> nn.Sequential:
    """VGG-style: stages of 3×3 conv + BN + ReLU, max-pool between stages, global average pool, Linear + ReLU per
    `fc` width, Linear classifier."""
    layers: list[tuple[str, nn.Module]] = []
    c = in_channels
    for stage, width in enumerate(channels, 1):
        if stage > 1:
            layers.append((f"pool{stage - 1}", nn.MaxPool2d(2, ceil_mode=True)))
        for conv in range(1, convs_per_stage + 1):
            name = f"conv{stage}_{conv}"
            layers += [(name, nn.Conv2d(c, width, 3, padding=1, bias=False)), (f"{name}_bn", nn.BatchNorm2d(width)),
                       (f"{name}_relu", nn.ReLU())]
            c = width
    return named([*layers, ("avgpool", nn.AdaptiveAvgPool2d(1)), ("flatten", nn.Flatten()), *_dense(c, fc, n_classes)])


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
    layers: list[tuple[str, nn.Module]] = [("conv1", nn.Conv2d(in_channels, channels[0], 3, padding=1, bias=False)),
                                           ("conv1_bn", nn.BatchNorm2d(channels[0])), ("conv1_relu", nn.ReLU())]
    c = channels[0]
    for stage, width in enumerate(channels, 1):
        for block in range(1, blocks_per_stage + 1):
            layers.append((f"block{stage}_{block}", BasicBlock(c, width, 2 if stage > 1 and block == 1 else 1)))
            c = width
    return named([*layers, ("avgpool", nn.AdaptiveAvgPool2d(1)), ("flatten", nn.Flatten()),
                  ("classifier", nn.Linear(c, n_classes))])


class Classifier(nn.Module):
    """A trained network behind the input standardization of its data, with the class labels of its outputs.

    `forward` takes raw inputs (as the data source holds them) and returns the
    network's logits; `predict` returns the labels, `classes[argmax]`.
    """

    def __init__(self, network: nn.Module, classes: list, mean: torch.Tensor | None = None,
                 std: torch.Tensor | None = None):
        super().__init__()
        self.network = network
        self.classes = tuple(classes)
        identity = mean is None  # (x - 0) / 1 is x exactly
        self.register_buffer("mean", torch.zeros(1) if identity else mean.reshape(1, *mean.shape))
        self.register_buffer("std", torch.ones(1) if identity else std.reshape(1, *std.shape))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.network((x - self.mean) / self.std)

    @torch.no_grad()
    def predict(self, x: torch.Tensor) -> np.ndarray:
        """The class label of every raw input of the batch."""
        index = self(x.to(self.mean.device)).argmax(dim=1).cpu().numpy()
        return np.asarray(self.classes)[index]
