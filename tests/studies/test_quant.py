"""Quantization: projection onto allowed levels, straight-through gradients, QAT accuracy, per-layer statistics."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from studies.data import load_dataset
from studies.errors import StudiesError
from studies.models import build_model
from studies.quant import QuantConv2d, QuantLinear, layer_stats, project_to_set, quant_layers, quantize_model, restrict
from studies.training import accuracy, batches, train


@pytest.fixture(scope="module")
def digits():
    return load_dataset({}, seed=0)


@pytest.fixture(scope="module")
def qat_mlp(digits):
    torch.manual_seed(0)
    model = quantize_model(build_model({"hidden": [32]}, digits.input_shape, digits.n_classes), bits=8)
    return train(model, digits.train, epochs=8, lr=3e-3, batch_size=64, seed=0)


def test_projection_maps_to_the_nearest_allowed_level():
    rng = np.random.default_rng(1)
    allowed = np.array([-7, -3, -2, 0, 1, 5, 6, 11], dtype=np.float32)
    x = rng.uniform(-15, 15, 2000).astype(np.float32)
    nearest = allowed[np.abs(x[:, None] - allowed[None, :]).argmin(axis=1)]
    got = project_to_set(torch.from_numpy(x), torch.from_numpy(allowed)).numpy()
    assert np.allclose(got, nearest, atol=1e-5)


def test_projection_onto_one_level():
    assert project_to_set(torch.tensor([-4.0, 0.3, 9.0]), torch.tensor([2.0])).tolist() == [2.0, 2.0, 2.0]


def test_gradients_pass_straight_through():
    x = torch.tensor([-9.0, -0.4, 0.2, 3.7, 40.0], requires_grad=True)
    upstream = torch.tensor([1.0, -2.0, 3.0, 0.5, 7.0])
    (project_to_set(x, torch.tensor([-1.0, 0.0, 2.0])) * upstream).sum().backward()
    assert torch.equal(x.grad, upstream)


def test_qat_mlp_on_digits_is_accurate(digits, qat_mlp):
    assert accuracy(qat_mlp, digits.test) > 85.0


def test_trained_weights_are_integer_levels_of_the_bit_width(digits, qat_mlp):
    for stats in layer_stats(qat_mlp, batches(digits.val, 256)):
        assert stats.weights.dtype == np.int64
        assert stats.weights.min() >= -128 and stats.weights.max() <= 127
        assert len(np.unique(stats.weights)) > 20


def test_restricted_network_uses_only_allowed_values(digits, qat_mlp):
    model = quantize_model(build_model({"hidden": [32]}, digits.input_shape, digits.n_classes), bits=8)
    model.load_state_dict(qat_mlp.state_dict())
    weights, activations = [-16, -4, -1, 0, 1, 4, 16], [-50, -5, 0, 3, 9, 27, 81]
    restrict(model, weights=weights, activations=activations)
    train(model, digits.train, epochs=1, lr=1e-3, batch_size=64, seed=1)
    for stats in layer_stats(model, batches(digits.val, 256)):
        assert set(np.unique(stats.weights)) <= set(weights)
        used = np.flatnonzero(stats.activations) + stats.activation_min
        assert set(used) <= set(activations)
    first, second = layer_stats(model, batches(digits.val, 256))
    assert first.activation_min == -128 and second.activation_min == 0


def test_restrict_rejects_levels_outside_the_bit_width():
    model = quantize_model(nn.Sequential(nn.Linear(3, 2)), bits=4)
    with pytest.raises(StudiesError, match="outside -8..7"):
        restrict(model, weights=[0, 9])
    with pytest.raises(StudiesError, match="empty"):
        restrict(model, activations=[])


def test_quantize_model_swaps_every_mac_layer_and_keeps_weights():
    model = build_model({"arch": "resnet", "channels": [4, 8], "blocks_per_stage": 1}, (3, 8, 8), 5)
    before = {name: m.weight.detach().clone() for name, m in model.named_modules()
              if isinstance(m, (nn.Linear, nn.Conv2d))}
    quantize_model(model, bits=6)
    layers = dict(quant_layers(model))
    assert set(layers) == set(before)
    for name, weight in before.items():
        assert torch.equal(layers[name].weight, weight)
    assert model(torch.randn(2, 3, 8, 8)).shape == (2, 5)


def fixed_layer(layer: nn.Module, weight_levels: torch.Tensor, act_max: float) -> nn.Module:
    """A quantized layer whose weight scale is 0.1 and input scale 1 (4 bits: 7 levels above zero)."""
    with torch.no_grad():
        layer.weight.copy_(weight_levels * 0.1)
        layer.act_max.fill_(act_max)
        layer.calibrated.fill_(True)
    return layer.eval()


def test_layer_stats_of_a_linear_layer():
    levels = torch.tensor([[-8, 0, 1, 2, 3, 4, 5, 6, 7, 1]] * 4, dtype=torch.float32)
    layer = fixed_layer(QuantLinear(10, 4, bias=True, bits=4), levels, act_max=7.0)
    x = torch.tensor([[0, 0, 0, 1, 1, 2, 3, 7, 7, 7]], dtype=torch.float32)
    (stats,) = layer_stats(nn.Sequential(layer), [(x, None)])
    assert stats.macs_per_weight == 1
    assert stats.weights.size * stats.macs_per_weight == 40
    assert np.array_equal(stats.weights, levels.numpy().astype(int))
    assert stats.activation_min == 0
    assert stats.activations.tolist() == [3, 2, 1, 1, 0, 0, 0, 3]


def test_layer_stats_of_a_convolution_counts_output_positions():
    levels = torch.arange(-8, 10, dtype=torch.float32).clamp(max=7).reshape(2, 1, 3, 3)
    layer = fixed_layer(QuantConv2d(nn.Conv2d(1, 2, 3), bits=4), levels, act_max=7.0)
    x = torch.full((3, 1, 6, 5), 2.0)
    (stats,) = layer_stats(nn.Sequential(layer), [(x, None)])
    assert stats.macs_per_weight == 4 * 3
    assert stats.weights.size * stats.macs_per_weight == 2 * 9 * 12
    assert stats.activations.tolist() == [0, 0, 90, 0, 0, 0, 0, 0]


def test_signed_inputs_are_detected_and_counted_from_the_lowest_level():
    layer = QuantLinear(2, 1, bias=False, bits=3)
    layer.train()
    layer(torch.tensor([[-3.0, 3.0]]))
    layer.eval()
    (stats,) = layer_stats(nn.Sequential(layer), [(torch.tensor([[-3.0, 1.0]]), None)])
    assert stats.activation_min == -4
    assert stats.activations.tolist() == [0, 1, 0, 0, 0, 1, 0, 0]
