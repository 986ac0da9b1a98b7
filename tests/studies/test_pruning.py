"""Class-aware pruning internals: Taylor scores, class counts, regularizers, selection, physical removal."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from studies.data import Dataset
from studies.errors import StudiesError
from studies.models import build_model
from studies.pruning.loop import PruningPlan, Training, choose_removals, prune_iteratively
from studies.pruning.regularizers import l1_penalty, orthogonality_penalty
from studies.pruning.report import load_pruned, save_pruned
from studies.pruning.scores import class_counts, class_importance, taylor_values
from studies.pruning.surgery import prunable_units, remove_outputs
from studies.quant import quantize_model


def tiny_cnn() -> nn.Sequential:
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(1, 3, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(3, 4, 3, padding=1),
                         nn.ReLU(), nn.Flatten(), nn.Linear(4 * 4 * 4, 3)).double()


def test_taylor_values_equal_a_finite_difference_estimate():
    model = tiny_cnn().eval()
    x = torch.randn(5, 1, 8, 8, dtype=torch.float64)
    y = torch.tensor([0, 1, 2, 1, 0])
    units = prunable_units(model)
    assert [u.name for u in units] == ["0", "3"]
    values = taylor_values(model, units, x, y)
    rng = np.random.default_rng(1)
    h = 1e-6
    for unit in units:
        layer = model.get_submodule(unit.name)
        activations = _activations(model, layer, x)
        for flat in rng.choice(activations[0].numel(), size=12, replace=False):
            at = (slice(None), *np.unravel_index(flat, activations.shape[1:]))
            losses = [_shifted_losses(model, layer, at, step, x, y) for step in (h, -h)]
            expected = (activations[at] * (losses[0] - losses[1]) / (2 * h)).abs()
            assert torch.allclose(values[unit.name][at], expected, rtol=1e-5, atol=1e-12)
    assert all(float(v.max()) > 1e-3 for v in values.values())


def _activations(model: nn.Module, layer: nn.Module, x: torch.Tensor) -> torch.Tensor:
    seen = []
    handle = layer.register_forward_hook(lambda module, inputs, output: seen.append(output.detach()))
    model(x)
    handle.remove()
    return seen[0]


def _shifted_losses(model: nn.Module, layer: nn.Module, at: tuple, step: float, x: torch.Tensor,
                    y: torch.Tensor) -> torch.Tensor:
    """Per-image losses with the activation at `at` of `layer` raised by `step` in every image."""
    def shift(module, inputs, output):
        output = output.clone()
        output[at] += step
        return output

    handle = layer.register_forward_hook(shift)
    losses = nn.functional.cross_entropy(model(x), y, reduction="none")
    handle.remove()
    return losses


def one_class_example() -> tuple[nn.Sequential, Dataset]:
    """Three classes; hidden neuron 0 (large weights) fires for class 0 only, neuron 1 (small weights) for all."""
    x = torch.zeros(30, 4)
    y = torch.arange(30) % 3
    x[torch.arange(30), y] = 1.0
    x[:, 3] = 1.0
    model = nn.Sequential(nn.Linear(4, 2), nn.ReLU(), nn.Linear(2, 3))
    with torch.no_grad():
        model[0].weight.copy_(torch.tensor([[5.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 1.0]]))
        model[0].bias.zero_()
        model[2].weight.copy_(torch.tensor([[1.0, 0.5], [0.0, 1.0], [0.0, -1.0]]))
        model[2].bias.zero_()
    split = (x, y)
    return model, Dataset(split, split, split, n_classes=3, input_shape=(4,), classes=("a", "b", "c"))


def test_class_counts_on_a_constructed_example():
    model, data = one_class_example()
    units = prunable_units(model)
    importance = class_importance(model, units, data.train, data.n_classes, tau=1e-3)["0"]
    assert importance.tolist() == [[1.0, 1.0], [0.0, 1.0], [0.0, 1.0]]
    assert class_counts({"0": importance})["0"].tolist() == [1.0, 3.0]


@pytest.mark.parametrize("method, kept", [("class-aware", [1]), ("magnitude", [0])])
def test_the_filter_one_class_uses_goes_before_the_one_all_classes_use(method, kept):
    model, data = one_class_example()
    plan = PruningPlan(method=method, ratio=0.5, scope="layer", iterations=1, tau=1e-3, regularize_epochs=0,
                       finetune_epochs=0)
    result = prune_iteratively(model, data, plan, Training(lr=1e-3, batch_size=8, seed=0), lambda m: 100.0)
    assert result.kept["0"].tolist() == kept
    assert result.model[0].weight.shape == (1, 4) and result.model[2].weight.shape == (3, 1)


def test_accuracy_floor_undoes_the_round_that_breaks_it():
    model, data = one_class_example()
    plan = PruningPlan(ratio=0.5, scope="layer", iterations=1, regularize_epochs=0, finetune_epochs=0,
                       min_accuracy=50.0)
    accuracies = iter([90.0, 40.0])
    result = prune_iteratively(model, data, plan, Training(lr=1e-3, batch_size=8, seed=0),
                               lambda m: next(accuracies))
    assert result.stopped_by == "accuracy floor" and result.pruned_fraction == 0.0 and result.accuracy == 90.0
    assert result.model[0].weight.shape == (2, 4)


def test_global_selection_ranks_across_layers_and_keeps_one_output_per_layer():
    keys = {"a": np.array([[0.0, 1.0], [0.0, 0.5], [3.0, 0.0]]), "b": np.array([[1.0, 0.0], [2.0, 0.0]])}
    original = {"a": 3, "b": 2}
    assert {k: v.tolist() for k, v in choose_removals(keys, original, 2).items()} == {"a": [0, 1], "b": []}
    assert {k: v.tolist() for k, v in choose_removals(keys, original, 3).items()} == {"a": [0, 1], "b": [0]}
    assert {k: v.tolist() for k, v in choose_removals(keys, original, 5).items()} == {"a": [0, 1], "b": [0]}
    per_layer = choose_removals(keys, {"a": 4, "b": 2}, {"a": 2, "b": 1})
    assert {k: v.tolist() for k, v in per_layer.items()} == {"a": [1], "b": [0]}


def test_regularizers_against_hand_computed_values():
    layer = nn.Linear(3, 2, bias=False)
    with torch.no_grad():
        layer.weight.copy_(torch.tensor([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]))
    assert float(orthogonality_penalty([layer]).detach()) == pytest.approx(0.0)
    with torch.no_grad():
        layer.weight.copy_(torch.tensor([[1.0, 1.0, 0.0], [0.0, -2.0, 0.0]]))
    # K·Kᵀ − I = [[1, -2], [-2, 3]]; Frobenius norm sqrt(1 + 4 + 4 + 9)
    assert float(orthogonality_penalty([layer]).detach()) == pytest.approx(np.sqrt(18.0))
    model = nn.Sequential(layer, nn.ReLU(), nn.Linear(2, 1))
    with torch.no_grad():
        model[2].weight.fill_(-0.5)
        model[2].bias.fill_(7.0)
    assert float(l1_penalty(model).detach()) == pytest.approx(4.0 + 1.0)


ARCHITECTURES = [({"arch": "mlp", "hidden": [12, 8]}, (1, 8, 8)), ({"arch": "cnn", "channels": [6, 8]}, (1, 8, 8)),
                 ({"arch": "vgg", "channels": [4, 6], "convs_per_stage": 2}, (1, 8, 8)),
                 ({"arch": "resnet", "channels": [4, 6], "blocks_per_stage": 1}, (1, 8, 8))]


@pytest.mark.parametrize("quantized", [False, True])
@pytest.mark.parametrize("config, shape", ARCHITECTURES)
def test_removing_zero_outputs_keeps_the_network_outputs(config, shape, quantized):
    torch.manual_seed(1)
    model = build_model(config, shape, n_classes=5)
    x = torch.randn(16, *shape)
    if quantized:
        model = quantize_model(model, 8).train()
        model(x)
    model.eval()
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, nn.BatchNorm2d):
                module.running_mean.uniform_(-0.5, 0.5)
                module.running_var.uniform_(0.5, 2.0)
    units = prunable_units(model)
    assert units
    keep = {}
    with torch.no_grad():
        for unit in units:
            producer = model.get_submodule(unit.name)
            dead = [0, 2]
            producer.weight[dead] = 0.0
            if producer.bias is not None:
                producer.bias[dead] = 0.0
            if unit.norm is not None:
                norm = model.get_submodule(unit.norm)
                norm.weight[dead] = 0.0
                norm.bias[dead] = 0.0
            if quantized:  # a quantized layer's weight scale follows its largest weight, removed inputs included
                consumer = model.get_submodule(unit.consumer).weight
                block = consumer.shape[1] // producer.weight.shape[0]
                for channel in dead:
                    consumer[:, channel * block:(channel + 1) * block] = 0.0
            keep[unit.name] = [i for i in range(producer.weight.shape[0]) if i not in dead]
        expected = model(x)
        pruned = remove_outputs(model, units, keep).eval()
        assert torch.allclose(pruned(x), expected, atol=1e-5)
    for unit in units:
        assert pruned.get_submodule(unit.name).weight.shape[0] == len(keep[unit.name])
    assert sum(p.numel() for p in pruned.parameters()) < sum(p.numel() for p in model.parameters())
    with torch.no_grad():
        model.get_submodule(units[-1].name).weight[1] += 1.0
        assert not torch.allclose(remove_outputs(model, units, {units[-1].name: [0, 2]})(x), model(x), atol=1e-3)


def test_expected_units_per_architecture():
    names = {config["arch"]: [(u.name, u.norm, u.consumer) for u in prunable_units(build_model(config, shape, 5))]
             for config, shape in ARCHITECTURES}
    assert names["mlp"] == [("fc1", None, "fc2"), ("fc2", None, "classifier")]
    assert names["cnn"] == [("conv1", None, "conv2"), ("conv2", None, "classifier")]
    assert names["vgg"] == [("conv1_1", "conv1_1_bn", "conv1_2"), ("conv1_2", "conv1_2_bn", "conv2_1"),
                            ("conv2_1", "conv2_1_bn", "conv2_2"), ("conv2_2", "conv2_2_bn", "classifier")]
    assert names["resnet"] == [("block1_1.conv1", "block1_1.bn1", "block1_1.conv2"),
                               ("block2_1.conv1", "block2_1.bn1", "block2_1.conv2")]


def test_saved_pruned_network_loads_with_the_same_outputs(tmp_path):
    config = {"arch": "cnn", "channels": [6, 8]}
    torch.manual_seed(2)
    model = quantize_model(build_model(config, (1, 8, 8), 4), 6)
    x = torch.randn(10, 1, 8, 8)
    model.train()(x)
    y = torch.arange(10) % 4
    mean, std = np.full((1, 8, 8), 0.5, np.float32), np.full((1, 8, 8), 2.0, np.float32)
    data = Dataset((x, y), (x, y), (x, y), n_classes=4, input_shape=(1, 8, 8), classes=(3, 7, 9, 11), mean=mean,
                   std=std)
    plan = PruningPlan(method="random", ratio=0.5, iterations=2, regularize_epochs=1, finetune_epochs=1,
                       lambda1=1e-4, lambda2=1e-2)
    result = prune_iteratively(model, data, plan, Training(lr=1e-3, batch_size=4, seed=0), lambda m: 100.0)
    assert result.pruned_fraction == pytest.approx(7 / 14)
    path = save_pruned(tmp_path / "pruned.pt", result, config, data, bits=6)
    loaded = load_pruned(path)
    raw = x * 2.0 + 0.5
    with torch.no_grad():
        logits = result.model.eval()(x)
        assert torch.equal(loaded(raw), logits)
    assert loaded.predict(raw).tolist() == [(3, 7, 9, 11)[i] for i in logits.argmax(dim=1).tolist()]
    assert [name for name, _ in loaded.network.named_children()][:3] == ["conv1", "conv1_relu", "pool1"]


def test_a_pruned_network_of_the_first_format_is_refused(tmp_path):
    path = tmp_path / "old.pt"
    torch.save({"format": 1, "model": {}, "state_dict": {}}, path)
    with pytest.raises(StudiesError, match="old.pt: not a pruned network of format 2 .found format 1"):
        load_pruned(path)
