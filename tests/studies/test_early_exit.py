"""Class exclusion, the confidence baseline, the hybrid rule, exit heads, the joint loss and cost accounting on
hand-made cases."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from dse.costmodel import LayerStats, energy_per_inference, macs
from studies.early_exit.confidence import run_confidence
from studies.early_exit.cost import CostTable, backbone_costs, confidence_table, exclusion_table
from studies.early_exit.exclusion import exclude, run_exclusion
from studies.early_exit.heads import (
    ExclusionHeads,
    ExclusionLoss,
    ExitNetwork,
    JointExitLoss,
    confidence_classifier,
    exit_positions,
    pool_features,
    tap,
)
from studies.early_exit.hybrid import candidate_confidence, run_hybrid
from studies.errors import StudiesError
from studies.models import mlp, small_cnn
from studies.training import Progress, train
from tests.studies.luts import tiny_lut

ALL = np.ones((1, 4), dtype=bool)


def rows(*values: float) -> np.ndarray:
    return np.array([values], dtype=float)


def test_beta_zero_excludes_nothing_even_at_zero_probability():
    assert exclude(rows(0.9, 0.0, 0.3, 0.0), ALL, 0.0).tolist() == [[True, True, True, True]]


def test_beta_one_keeps_only_the_largest_and_its_ties():
    assert exclude(rows(0.2, 0.7, 0.1, 0.69), ALL, 1.0).tolist() == [[False, True, False, False]]
    assert exclude(rows(0.2, 0.7, 0.7, 0.1), ALL, 1.0).tolist() == [[False, True, True, False]]


def test_a_class_exactly_at_beta_times_max_stays():
    # 0.5 * 0.75 = 0.375 exactly in binary floating point
    assert exclude(rows(0.75, 0.375, 0.25, 0.5), ALL, 0.5).tolist() == [[True, True, False, True]]


def test_the_reference_is_the_largest_still_possible_class():
    possible = np.array([[False, True, True, True]])
    # class 0 (already excluded) is the most probable; relative to 0.4, only class 3 falls under 0.5 * 0.4
    assert exclude(rows(0.99, 0.4, 0.3, 0.1), possible, 0.5, "possible").tolist() == [[False, True, True, False]]


def test_the_authors_reference_is_the_largest_of_all_classes_and_readmits_it():
    possible = np.array([[False, True, True, True]])
    # relative to 0.99 (class 0, excluded before but the largest now): 0.4 and 0.3 fall under 0.495; class 0 is back
    assert exclude(rows(0.99, 0.4, 0.3, 0.1), possible, 0.5).tolist() == [[True, False, False, False]]
    # an excluded class that is not the largest stays out even above β · max
    assert exclude(rows(0.5, 0.99, 0.6, 0.1), possible, 0.5).tolist() == [[False, True, True, False]]


def test_excluded_classes_stay_excluded_and_one_left_exits():
    first = rows(0.9, 0.8, 0.1, 0.05)  # β 0.5 leaves classes 0 and 1
    second = rows(0.1, 0.6, 0.95, 0.9)  # alone, classes 2 and 3 would win; among 0 and 1, class 1 remains
    final = rows(5.0, 0.0, 9.0, 9.0)
    outcome = run_exclusion([first, second], [0.5, 0.5], final, reference="possible")
    assert outcome.exit_index.tolist() == [1]
    assert outcome.prediction.tolist() == [1]
    assert outcome.excluded.tolist() == [[2, 1]]
    assert outcome.candidates[0].tolist() == [[True] * 4, [True, True, False, False]]


def test_all_excluded_but_one_exits_at_once_whatever_the_final_classifier_says():
    probabilities = np.array([[0.9, 0.1, 0.1, 0.1], [0.3, 0.3, 0.3, 0.3]])
    later = np.full((2, 4), 0.5)
    final = np.array([[0.0, 0.0, 0.0, 7.0], [0.0, 0.0, 7.0, 0.0]])
    outcome = run_exclusion([probabilities, later], [0.5, 0.5], final)
    assert outcome.exit_index.tolist() == [0, 2]
    assert outcome.prediction.tolist() == [0, 2]
    assert outcome.reached.tolist() == [[True, False], [True, True]]
    assert outcome.excluded.tolist() == [[3, 0], [0, 0]]
    assert outcome.exit_fractions().tolist() == [0.5, 0.0, 0.5]
    assert outcome.excluded_means().tolist() == [1.5, 0.0]


def test_the_final_decision_is_unmasked_by_default_and_masked_on_request():
    final = rows(9.0, 1.0, 2.0, 8.0)
    unmasked = run_exclusion([rows(0.2, 0.9, 0.8, 0.1)], [0.5], final)
    assert unmasked.exit_index.tolist() == [1] and unmasked.prediction.tolist() == [0]  # class 0 was excluded
    masked = run_exclusion([rows(0.2, 0.9, 0.8, 0.1)], [0.5], final, final="masked")
    assert masked.exit_index.tolist() == [1] and masked.prediction.tolist() == [2]


def test_no_exit_reached_gives_nan_means():
    outcome = run_exclusion([rows(0.9, 0.1, 0.1, 0.1), rows(0.5, 0.5, 0.5, 0.5)], [1.0, 0.5], rows(0, 0, 0, 1.0))
    assert np.isnan(outcome.excluded_means()[1]) and outcome.excluded_means()[0] == 3.0
    assert outcome.excluded_total_means()[0] == 3.0


def test_confidence_exits_only_strictly_above_the_threshold():
    probabilities = np.array([[0.6, 0.4], [0.8, 0.2], [1.0, 0.0]])
    final = np.array([[0.0, 1.0]] * 3)
    outcome = run_confidence([probabilities], [0.6], final)
    assert outcome.exit_index.tolist() == [1, 0, 0]
    assert outcome.prediction.tolist() == [1, 0, 0]
    never = run_confidence([probabilities], [1.0], final)
    assert never.exit_index.tolist() == [1, 1, 1] and never.prediction.tolist() == [1, 1, 1]


def test_cost_of_a_constructed_two_exit_case():
    # backbone: 100 MACs to exit 0, 300 to exit 1, 1000 in all; class networks cost 10 + c at exit 0, 20 + c at exit 1
    table = CostTable(np.array([100.0, 300.0, 1000.0]), np.array([[10.0, 11.0, 12.0], [20.0, 21.0, 22.0]]),
                      np.zeros(2))
    first = np.array([[0.9, 0.1, 0.1], [0.9, 0.8, 0.1], [0.5, 0.5, 0.5]])
    second = np.array([[0.5, 0.5, 0.5], [0.1, 0.9, 0.5], [0.5, 0.5, 0.5]])
    outcome = run_exclusion([first, second], [0.5, 0.5], np.zeros((3, 3)), reference="possible")
    assert outcome.exit_index.tolist() == [0, 1, 2]
    expected = [100 + 33,  # left at exit 0 after every class network ran there
                300 + 33 + 20 + 21,  # class 2 excluded at exit 0, so only networks 0 and 1 ran at exit 1
                1000 + 33 + 63]  # ran everything
    assert table.per_image(outcome).tolist() == expected
    only_second = table.select([1])
    assert only_second.backbone.tolist() == [300.0, 1000.0]
    ties_stay = run_exclusion([second], [1.0], np.zeros((3, 3)))  # rows of equal probabilities keep every class
    assert only_second.per_image(ties_stay).tolist() == [1000 + 63, 300 + 63, 1000 + 63]
    # relative to all classes every class network runs at every exit reached
    whole = table.whole_heads()
    assert whole.per_image(outcome).tolist() == [100 + 33, 300 + 33 + 63, 1000 + 33 + 63]


def test_hybrid_excludes_then_decides_by_confidence_among_the_rest():
    # exit 0: β 0.5 on the probabilities leaves classes 0 and 1; softmax of logits (2, 2 - ln 3) over them is
    # (0.75, 0.25), over all four classes it would be below 0.6
    probabilities = np.array([[0.9, 0.5, 0.1, 0.2], [0.9, 0.8, 0.7, 0.6]])
    logits = np.array([[2.0, 2.0 - np.log(3.0), 1.5, 1.5], [1.0, 1.0, 1.0, 1.0]])
    assert candidate_confidence(logits[:1], probabilities[:1] >= 0.45) == pytest.approx([0.75])
    final = np.array([[0.0, 0.0, 0.0, 5.0], [0.0, 0.0, 5.0, 0.0]])
    outcome = run_hybrid([probabilities], [logits], [0.5], [0.7], final)
    assert outcome.exit_index.tolist() == [0, 1]
    assert outcome.prediction.tolist() == [0, 2]  # the second image keeps four equal classes: the final net decides
    assert outcome.excluded.tolist() == [[2], [0]]
    stricter = run_hybrid([probabilities], [logits], [0.5], [0.8], final)
    assert stricter.exit_index.tolist() == [1, 1] and stricter.prediction.tolist() == [3, 2]


def test_hybrid_reduces_to_exclusion_at_threshold_one_and_to_confidence_at_beta_zero():
    rng = np.random.default_rng(3)
    logits = [rng.normal(size=(50, 5)) * 3 for _ in range(2)]
    sigmoid = [1 / (1 + np.exp(-z)) for z in logits]
    softmax = [np.exp(z) / np.exp(z).sum(axis=1, keepdims=True) for z in logits]
    final = rng.normal(size=(50, 5))
    hybrid = run_hybrid(sigmoid, logits, [0.6, 0.4], [1.0, 1.0], final)
    exclusion = run_exclusion(sigmoid, [0.6, 0.4], final)
    assert np.array_equal(hybrid.prediction, exclusion.prediction)
    assert np.array_equal(hybrid.exit_index, exclusion.exit_index)
    hybrid = run_hybrid(softmax, logits, [0.0, 0.0], [0.7, 0.8], final)
    confidence = run_confidence(softmax, [0.7, 0.8], final)
    assert np.array_equal(hybrid.prediction, confidence.prediction)
    assert np.array_equal(hybrid.exit_index, confidence.exit_index)
    assert 0 < (confidence.exit_index < 2).sum() < 50


def test_joint_loss_weights_heads_by_their_distance_from_the_end():
    torch.manual_seed(0)
    labels = torch.tensor([0, 2, 1])
    final, heads = torch.randn(3, 3), [torch.randn(3, 3) for _ in range(3)]
    bce = [torch.nn.functional.binary_cross_entropy_with_logits(
        h, torch.nn.functional.one_hot(labels, 3).float(), pos_weight=torch.full((3,), 4.0 * 2)) for h in heads]
    expected = torch.nn.functional.cross_entropy(final, labels) + bce[0] / 4 + bce[1] / 3 + bce[2] / 2
    assert JointExitLoss(ExclusionLoss(4.0))((final, heads), labels) == pytest.approx(float(expected), rel=1e-6)


def test_exclusion_loss_weights_positives_by_pos_weight_times_classes_minus_one():
    # one image of class 0, logits 0: BCE per class is ln 2, the positive one weighted 3 · (4 − 1) = 9
    loss = ExclusionLoss(3.0)(torch.zeros(1, 4), torch.tensor([0]))
    assert float(loss) == pytest.approx(np.log(2.0) * (9 + 3) / 4)


def test_a_network_with_exits_trains_under_a_progress_bar(capsys):
    torch.manual_seed(0)
    network = ExitNetwork(mlp(6, [5], 3), [2], [ExclusionHeads(5, 3, 0)], 1)
    x, y = torch.randn(20, 6), torch.arange(20) % 3
    train(network, (x, y), 1, 1e-2, 8, 0, loss_fn=JointExitLoss(ExclusionLoss()), progress=Progress(show=True),
          label="with exits")
    assert "with exits" in capsys.readouterr().err


def test_exit_network_returns_the_backbone_output_and_linear_heads_on_pooled_features():
    torch.manual_seed(0)
    backbone = small_cnn((1, 8, 8), [4, 8], 10).eval()
    heads = [ExclusionHeads(4, 10, 0), confidence_classifier(8 * 2 * 2, 10, 0)]  # the second sees flat features
    network = ExitNetwork(backbone, [3, 7], heads, 1).eval()
    x = torch.randn(5, 1, 8, 8)
    final, exits = network(x)
    features, logits = tap(backbone, x, [3, 7])
    assert torch.equal(final, logits)
    assert torch.allclose(exits[0], heads[0](features[0].mean(dim=(2, 3))))
    assert torch.allclose(exits[1], heads[1](pool_features(features[1], 1)))
    assert [type(m) for m in heads[0].modules()] == [ExclusionHeads, nn.Linear]
    rows = heads[0].class_stats([LayerStats("out", np.arange(40).reshape(10, 4), 1)])
    assert rows[2][0].weights.tolist() == [8, 9, 10, 11] and len(rows) == 10


def test_confidence_cost_is_fixed_per_exit_reached():
    table = confidence_table(np.array([100.0, 300.0, 1000.0]), [[LayerStats("a", np.ones(7), 1)],
                                                              [LayerStats("b", np.ones(9), 2)]], 2, macs)
    probabilities = np.array([[0.9, 0.1], [0.5, 0.5]])
    outcome = run_confidence([probabilities, probabilities], [0.8, 0.8], np.zeros((2, 2)))
    assert table.per_image(outcome).tolist() == [100 + 7, 1000 + 7 + 18]


def test_backbone_prefix_costs_follow_the_top_level_children():
    stats = [LayerStats("0", np.ones((4, 3)), 1), LayerStats("2", np.ones(5), 10), LayerStats("4.conv1", np.ones(2), 3),
             LayerStats("4.conv2", np.ones(2), 1), LayerStats("6", np.ones(1), 1)]
    children = [str(k) for k in range(7)]
    assert backbone_costs(stats, [2, 4, 6], macs, children).tolist() == [12, 62, 70, 71]


def test_exclusion_energy_per_class_from_the_lut():
    levels = range(-8, 8)
    lut = tiny_lut({w: float(w + 8) for w in levels}, {w: 1.0 for w in levels}, {w: 1.0 for w in levels})
    heads = [[[LayerStats("h0", np.array([1, 2]), 1)], [LayerStats("h1", np.array([-8, -8, 3]), 1)]]]
    table = exclusion_table(np.array([0.0, 1.0]), heads, lambda layers: energy_per_inference(lut, layers))
    assert table.per_class * 1e15 == pytest.approx(np.array([[9 + 10, 0 + 0 + 11]]))
    assert table.fixed.tolist() == [0.0]


def test_exclusion_heads_are_independent_class_networks():
    torch.manual_seed(0)
    heads = ExclusionHeads(5, 3, 2)
    x = torch.randn(4, 5)
    w1, b1 = heads.hidden.weight, heads.hidden.bias
    w2, b2 = heads.out.weight[:, :, 0, 0], heads.out.bias
    for c in range(3):
        hidden = torch.relu(x @ w1[2 * c:2 * c + 2].T + b1[2 * c:2 * c + 2])
        assert torch.allclose(heads(x)[:, c], hidden @ w2[c] + b2[c], atol=1e-6)
    stats = [LayerStats("hidden", np.arange(30).reshape(6, 5), 1),
             LayerStats("out", np.arange(6).reshape(3, 2, 1, 1), 1)]
    per_class = heads.class_stats(stats)
    assert per_class[1][0].weights.tolist() == np.arange(10, 20).reshape(2, 5).tolist()
    assert per_class[2][1].weights.ravel().tolist() == [4, 5]
    assert [macs(layers) for layers in per_class] == [12, 12, 12]


def test_exit_positions_follow_mac_layers():
    assert exit_positions(mlp(64, [32, 16], 10)) == [3, 5]
    assert exit_positions(mlp(64, [], 10)) == []
    assert exit_positions(small_cnn((1, 8, 8), [4, 8], 10)) == [3, 7]
    with pytest.raises(StudiesError, match="nn.Sequential"):
        exit_positions(nn.Linear(2, 2))


def test_tap_and_pool_read_the_features_entering_each_position():
    net = small_cnn((1, 8, 8), [4, 8], 10).eval()
    x = torch.randn(3, 1, 8, 8)
    features, logits = tap(net, x, [3, 7])
    assert torch.equal(logits, net(x))
    assert torch.equal(features[0], net[:3](x)) and features[1].shape == (3, 8 * 2 * 2)
    assert pool_features(features[0], 2).shape == (3, 4 * 2 * 2)
    assert torch.allclose(pool_features(features[0], 1), features[0].mean(dim=(2, 3)))
