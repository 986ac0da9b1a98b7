"""Class-aware pruning internals: Taylor scores, class counts, regularizers, selection, physical removal."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from studies.data import Dataset
from studies.errors import StudiesError
from studies.models import build_model
from studies.pruning.loop import PruningPlan, Training, choose_removals, cumulative_target, prune_iteratively
from studies.pruning.regularizers import RegularizedLoss, l1_penalty, orthogonality_penalty
from studies.pruning.report import load_pruned, save_pruned
from studies.pruning.scores import class_counts, class_importance, class_scores, class_taylor, taylor_values
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


@pytest.mark.parametrize("method, score, kept", [("class-aware", "sum-max", [1]), ("class-aware", "class-taylor", [1]),
                                                ("magnitude", "sum-max", [0])])
def test_the_filter_one_class_uses_goes_before_the_one_all_classes_use(method, score, kept):
    model, data = one_class_example()
    plan = PruningPlan(method=method, ratio=0.5, scope="layer", iterations=1, score=score, tau=1e-3,
                       regularize_epochs=0, finetune_epochs=0)
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
                 ({"arch": "cnn", "channels": [6, 8], "batch_norm": True}, (1, 8, 8)),
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
    names = {config["arch"] + ("-bn" if config.get("batch_norm") else ""):
             [(u.name, u.norm, u.consumer) for u in prunable_units(build_model(config, shape, 5))]
             for config, shape in ARCHITECTURES}
    assert names["mlp"] == [("fc1", None, "fc2"), ("fc2", None, "classifier")]
    assert names["cnn"] == [("conv1", None, "conv2"), ("conv2", None, "classifier")]
    assert names["cnn-bn"] == [("conv1", "conv1_bn", "conv2"), ("conv2", "conv2_bn", "classifier")]
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


def positional_example(images_per_class: int = 4) -> tuple[nn.Sequential, Dataset]:
    """Three classes of 1×3 images with three channels; a 1×1 convolution with four filters, batch norm, ReLU.

    Channel 0 is lit at position 0 for class 0 and at position 1 for class 1, channel 1 at position 2 for class 2,
    channel 2 at position 0 for every image. Filter 0 reads channel 0 (for classes 0 and 1, at different
    positions), filter 1 channel 2 (every class), filter 2 channel 1 (class 2 only), filter 3 channel 2 but its
    batch-norm scale γ is 0 and its shift positive, so its output is a constant that carries no information.
    """
    n = 3 * images_per_class
    y = torch.arange(n) % 3
    x = torch.zeros(n, 3, 1, 3, dtype=torch.float64)
    x[y == 0, 0, 0, 0] = 1.0
    x[y == 1, 0, 0, 1] = 1.0
    x[y == 2, 1, 0, 2] = 1.0
    x[:, 2, 0, 0] = 1.0
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(3, 4, 1, bias=False), nn.BatchNorm2d(4), nn.ReLU(), nn.Flatten(),
                          nn.Linear(12, 3)).double().eval()
    with torch.no_grad():
        model[0].weight.zero_()
        for filter_, channel in enumerate([0, 2, 1, 2]):
            model[0].weight[filter_, channel] = 1.0
        model[1].weight[3] = 0.0
        model[1].bias[3] = 0.5
    return model, Dataset((x, y), (x, y), (x, y), n_classes=3, input_shape=(3, 1, 3), classes=("a", "b", "c"))


def test_authors_score_sums_over_classes_before_the_max_over_positions():
    model, data = positional_example()
    units = prunable_units(model)
    authors = class_scores(model, units, data.train, 3, "sum-max", tau=1e-50, images_per_class=10)["0"]
    # filter 0 is hit for class 0 at position 0 and for class 1 at position 1: at no position for two classes
    assert authors.tolist() == [1.0, 3.0, 1.0, 0.0]
    ours = class_scores(model, units, data.train, 3, "max-sum", tau=1e-50, images_per_class=0)["0"]
    assert ours.tolist() == [2.0, 3.0, 1.0, 3.0]


def test_authors_score_averages_over_the_first_images_of_each_class():
    model, data = positional_example(images_per_class=4)
    x, y = data.train
    x[11, 1, 0, 2] = 0.0  # the last image of class 2 goes dark: it is not among the first three
    units = prunable_units(model)
    rates = class_scores(model, units, (x, y), 3, "sum-max", tau=1e-50, images_per_class=3)["0"]
    assert rates.tolist() == [1.0, 3.0, 1.0, 0.0]
    rates = class_scores(model, units, (x, y), 3, "sum-max", tau=1e-50, images_per_class=0)["0"]
    assert rates.tolist() == [1.0, 3.0, 0.75, 0.0]


def test_class_taylor_is_the_loss_change_of_a_gate_on_each_filter():
    """|Σ_positions a·∂L/∂a| is |∂L/∂s| for a gate s = 1 multiplying the filter's map after batch norm."""
    model, data = positional_example(images_per_class=4)
    x, y = data.train
    with torch.no_grad():
        model[1].weight.copy_(torch.tensor([1.5, 0.7, -1.2, 0.3], dtype=torch.float64))
        model[1].bias.copy_(torch.tensor([0.2, -0.1, 0.4, 0.5], dtype=torch.float64))
    units = prunable_units(model)
    changes = class_taylor(model, units, (x, y), 3)["0"]
    gate = torch.ones(1, 4, 1, 1, dtype=torch.float64, requires_grad=True)
    handle = model[1].register_forward_hook(lambda module, inputs, output: output * gate)
    per_image = []
    for j in range(len(y)):
        loss = nn.functional.cross_entropy(model(x[j:j + 1]), y[j:j + 1])
        per_image.append(torch.autograd.grad(loss, gate)[0].flatten().abs())
    handle.remove()
    per_image = torch.stack(per_image)
    expected = torch.stack([per_image[y == c].mean(dim=0) for c in range(3)]).numpy()
    assert changes.shape == (3, 4) and np.allclose(changes, expected, rtol=1e-10, atol=1e-14)
    scores = class_scores(model, units, (x, y), 3, "class-taylor", tau=0.0, images_per_class=0)["0"]
    assert np.allclose(scores, (expected / expected.mean(axis=1, keepdims=True)).sum(axis=0))
    assert scores.sum() == pytest.approx(4 * 3)  # each class spreads the layer's width over its filters


def test_l1_over_all_parameters_reaches_the_batch_norm_scale():
    model = nn.Sequential(nn.Conv2d(1, 2, 1, bias=False), nn.BatchNorm2d(2), nn.ReLU(), nn.Flatten(), nn.Linear(2, 1))
    with torch.no_grad():
        model[0].weight.copy_(torch.tensor([1.0, -2.0]).view(2, 1, 1, 1))
        model[1].weight.copy_(torch.tensor([0.5, -0.25]))
        model[1].bias.copy_(torch.tensor([0.1, 0.0]))
        model[4].weight.copy_(torch.tensor([[3.0, 0.0]]))
        model[4].bias.fill_(-1.0)
    assert float(l1_penalty(model, "weights").detach()) == pytest.approx(3.0 + 3.0)
    everything = l1_penalty(model, "parameters")
    assert float(everything.detach()) == pytest.approx(3.0 + 0.75 + 0.1 + 3.0 + 1.0)
    everything.backward()
    assert model[1].weight.grad.tolist() == [1.0, -1.0]
    loss = RegularizedLoss(model, prunable_units(model), lambda1=0.5, lambda2=0.0, l1_scope="parameters")
    logits = torch.zeros(1, 2)
    assert float(loss(logits, torch.tensor([0])).detach()) == pytest.approx(np.log(2) + 0.5 * 7.85)


def test_conv_orthogonality_is_zero_only_for_filters_orthogonal_at_every_shift():
    layer = nn.Conv2d(2, 2, 3, bias=False)
    with torch.no_grad():
        layer.weight.zero_()
        layer.weight[0, 0, 1, 1] = 1.0  # centred deltas on different input channels
        layer.weight[1, 1, 1, 1] = 1.0
    assert float(orthogonality_penalty([layer], "conv").detach()) == pytest.approx(0.0)
    with torch.no_grad():
        layer.weight.zero_()
        layer.weight[0, 0, 1, 1] = 1.0  # the same channel, one pixel apart: orthogonal as vectors only
        layer.weight[1, 0, 1, 2] = 1.0
    assert float(orthogonality_penalty([layer], "kernel").detach()) == pytest.approx(0.0)
    # filter 0 against filter 1 matches at shift (0, -1), filter 1 against filter 0 at (0, +1)
    assert float(orthogonality_penalty([layer], "conv").detach()) == pytest.approx(np.sqrt(2.0))
    dense = nn.Linear(3, 2, bias=False)
    with torch.no_grad():
        dense.weight.copy_(torch.tensor([[1.0, 1.0, 0.0], [0.0, -2.0, 0.0]]))
    assert float(orthogonality_penalty([dense], "conv").detach()) == pytest.approx(np.sqrt(18.0))


def two_layer_mlp() -> tuple[nn.Sequential, Dataset]:
    torch.manual_seed(3)
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 6), nn.ReLU(), nn.Linear(6, 3))
    x = torch.randn(12, 4)
    y = torch.arange(12) % 3
    return model, Dataset((x, y), (x, y), (x, y), n_classes=3, input_shape=(4,), classes=("a", "b", "c"))


def test_prune_until_floor_stops_at_the_floor():
    model, data = two_layer_mlp()
    plan = PruningPlan(method="magnitude", schedule="floor", step=0.5, iterations=10, regularize_epochs=0,
                       finetune_epochs=0, min_accuracy=60.0)

    def outputs_left(m: nn.Module) -> float:  # "accuracy" 10 points per hidden neuron left
        return 10.0 * (m[0].out_features + m[2].out_features)

    result = prune_iteratively(model, data, plan, Training(lr=1e-3, batch_size=4, seed=0), outputs_left)
    # 14 neurons; round 1 removes 7 (70 points), round 2 would remove 4 more (30 points, below the floor)
    assert result.stopped_by == "accuracy floor"
    assert [sum(step.widths.values()) for step in result.steps] == [7]
    assert result.accuracy == 70.0 and sum(len(k) for k in result.kept.values()) == 7


def test_replayed_layer_widths_are_reached_round_by_round():
    model, data = two_layer_mlp()
    plan = PruningPlan(method="random", layer_widths=((6, 5), (3, 2)), regularize_epochs=0, finetune_epochs=0)
    result = prune_iteratively(model, data, plan, Training(lr=1e-3, batch_size=4, seed=0), lambda m: 50.0)
    assert [step.widths for step in result.steps] == [{"0": 6, "2": 5}, {"0": 3, "2": 2}]
    assert result.stopped_by == "rounds"


def test_floor_schedule_targets_a_step_of_what_is_left():
    original, current = {"a": 8, "b": 4}, {"a": 6, "b": 4}
    per_layer = PruningPlan(schedule="floor", step=0.5, scope="layer")
    assert cumulative_target(per_layer, original, current, 2) == {"a": 2 + 3, "b": 0 + 2}
    assert cumulative_target(PruningPlan(schedule="floor", step=0.5), original, current, 2) == 2 + 5
    replay = PruningPlan(layer_widths=((7, 4), (5, 3)))
    assert cumulative_target(replay, original, current, 2) == {"a": 3, "b": 1}
