"""Weight and activation histograms: counts from layer statistics, CSV that `dse characterize` reads back."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from characterize.lut.activations import read_histogram
from dse.costmodel import LayerStats
from studies.data import load_dataset
from studies.histograms import activation_histogram, export_histograms, weight_histogram, write_histogram_csv
from studies.models import build_model
from studies.quant import quantize_model
from studies.training import batches, train

STATS = [
    LayerStats("a", np.array([[3, -1], [0, 3]]), 1, np.array([0, 2, 5]), activation_min=-1),
    LayerStats("b", np.array([-1, -1, 7]), 4, np.array([1, 0, 0, 4]), activation_min=0),
]


def test_weight_histogram_counts_every_weight_once():
    table = weight_histogram(STATS)
    assert table["value"].tolist() == [-1, 0, 3, 7]
    assert table["count"].tolist() == [3, 1, 2, 1]


def test_activation_histogram_sums_layers_by_value():
    table = activation_histogram(STATS)
    assert table["value"].tolist() == [0, 1, 3]
    assert table["count"].tolist() == [3, 5, 4]


def test_csv_round_trips_through_pandas_and_the_characterize_reader(tmp_path):
    path = write_histogram_csv(activation_histogram(STATS), tmp_path / "h" / "act.csv")
    assert path.read_text().splitlines()[0] == "value,count"
    back = pd.read_csv(path)
    assert back["value"].tolist() == [0, 1, 3] and back["count"].tolist() == [3, 5, 4]
    assert read_histogram(path, -8, 7) == ((0, 0.25), (1, 5 / 12), (3, 4 / 12))


def test_export_of_a_trained_network(tmp_path):
    digits = load_dataset({}, seed=0)
    torch.manual_seed(0)
    model = quantize_model(build_model({"hidden": [8]}, digits.input_shape, digits.n_classes), bits=4)
    train(model, digits.train, epochs=1, lr=3e-3, batch_size=128, seed=0)
    weights_csv, activations_csv = export_histograms(model, batches(digits.val, 256), tmp_path)
    weights = pd.read_csv(weights_csv)
    assert weights["count"].sum() == 64 * 8 + 8 * 10
    assert weights["value"].between(-8, 7).all()
    activations = pd.read_csv(activations_csv)
    assert activations["count"].sum() == len(digits.val[1]) * (64 + 8)
    assert read_histogram(activations_csv, -8, 7)[0][1] == pytest.approx(
        activations["count"].iloc[0] / activations["count"].sum())
