"""Model definitions: every architecture builds for its input shape; bad settings name the key."""

from __future__ import annotations

import pytest
import torch

from studies.errors import ModelError
from studies.models import build_model


@pytest.mark.parametrize("config, shape", [
    ({"arch": "mlp", "hidden": [16, 8]}, (1, 8, 8)),
    ({"arch": "mlp"}, (13,)),
    ({"arch": "cnn"}, (1, 8, 8)),
    ({"arch": "cnn", "channels": [4, 4, 4, 4]}, (1, 8, 8)),
    ({"arch": "vgg", "channels": [4, 8], "convs_per_stage": 1}, (3, 12, 12)),
    ({"arch": "resnet", "channels": [4, 8, 8], "blocks_per_stage": 1}, (3, 9, 9)),
])
def test_every_architecture_gives_one_score_per_class(config, shape):
    model = build_model(config, shape, n_classes=7)
    assert model(torch.randn(3, *shape)).shape == (3, 7)


def test_mlp_layer_sizes_follow_the_settings():
    model = build_model({"hidden": [16, 8]}, (1, 8, 8), n_classes=10)
    shapes = [tuple(p.shape) for name, p in model.named_parameters() if name.endswith("weight")]
    assert shapes == [(16, 64), (8, 16), (10, 8)]


@pytest.mark.parametrize("config, shape, key", [
    ({"arch": "transformer"}, (4,), "model.arch"),
    ({"arch": "cnn"}, (64,), "model.arch"),
    ({"hidden": [16, 0]}, (4,), "model.hidden"),
    ({"epochs": 0}, (4,), "model.epochs"),
    ({"lr": -1.0}, (4,), "model.lr"),
    ({"layers": 3}, (4,), "model.layers"),
])
def test_bad_settings_name_the_key(config, shape, key):
    with pytest.raises(ModelError, match=key):
        build_model(config, shape, n_classes=2)


def test_lenet5_from_kernel_padding_pool_and_fc():
    settings = {"arch": "cnn", "channels": [6, 16], "kernel": 5, "padding": ["same", "valid"], "fc": [120, 84]}
    model = build_model(settings, (1, 28, 28), n_classes=10)
    shapes = [tuple(p.shape) for name, p in model.named_parameters() if name.endswith("weight")]
    assert shapes == [(6, 1, 5, 5), (16, 6, 5, 5), (120, 16 * 5 * 5), (84, 120), (10, 84)]
    assert model(torch.randn(2, 1, 28, 28)).shape == (2, 10)


def test_cnn_with_batch_norm_is_vgg_style():
    model = build_model({"arch": "cnn", "channels": [4, 6], "pool": [1, 2], "batch_norm": True}, (1, 8, 8), 3)
    assert [type(m).__name__ for m in model][:7] == ["Conv2d", "BatchNorm2d", "ReLU", "Conv2d", "BatchNorm2d",
                                                     "ReLU", "MaxPool2d"]
    assert model[0].bias is None and model[1].num_features == 4
    assert model(torch.randn(2, 1, 8, 8)).shape == (2, 3)


def test_pool_per_stage_and_no_pool():
    model = build_model({"arch": "cnn", "channels": [4, 4], "pool": [1, 3]}, (1, 9, 9), n_classes=2)
    assert [type(m).__name__ for m in model].count("MaxPool2d") == 1
    assert model[-1].in_features == 4 * 3 * 3


@pytest.mark.parametrize("config, message", [
    ({"arch": "cnn", "hidden": [8]}, "model.hidden: only for the mlp arch, not cnn"),
    ({"arch": "mlp", "kernel": 5}, "model.kernel: only for the cnn arch, not mlp"),
    ({"arch": "vgg", "batch_norm": True}, "model.batch_norm: only for the cnn arch, not vgg"),
    ({"arch": "resnet", "fc": [8]}, "model.fc: only for the cnn and vgg arch, not resnet"),
    ({"arch": "cnn", "kernel": 4}, "model.kernel: 'same' padding needs odd kernels, got 4"),
    ({"arch": "cnn", "channels": [4], "kernel": 9, "padding": "valid"},
     "model.kernel: the 9×9 kernel of stage 1 does not fit its 8×8 input map"),
])
def test_keys_that_do_not_apply_or_fit_are_named(config, message):
    with pytest.raises(ModelError) as info:
        build_model(config, (1, 8, 8), n_classes=2)
    assert str(info.value) == message
