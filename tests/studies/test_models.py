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
