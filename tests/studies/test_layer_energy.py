"""Energy priced per layer: each layer's recorded activation stream characterizes the multiplier for that layer."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pandas as pd
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from characterize.lut.activations import read_histogram
from dse.cli import main
from dse.config import load_study_config
from dse.costmodel import energy_per_inference
from dse.frames import trials_frame
from dse.runner import run_study, study_context
from studies.quant import QuantConv2d, QuantLinear
from studies.session import QuantSession
from studies.streams import SEGMENT, LayerStream, characterization_sequence, layer_streams

STUDY = """
[study]
name = "per-layer"
kind = "weight-subset"
trials = 2
storage = "sqlite:///studies.db"

[sampler]
name = "random"

[lut]
bits = 4
vectors = 60
activations = "per-layer"

[data]
source = "digits"

[model]
arch = "mlp"
hidden = [8]
epochs = 2
finetune_epochs = 0

[space]
n_values = [4, 16]
"""


def calibrated(layer: nn.Module, x: torch.Tensor) -> nn.Module:
    layer.train()
    layer(x)
    return layer.eval()


def test_a_linear_layers_stream_row_is_one_input_feature_image_after_image():
    torch.manual_seed(0)
    x = torch.randn(5, 3)
    layer = calibrated(QuantLinear(3, 2, True, bits=4), x)
    stream = layer_streams(nn.Sequential(layer), x)["0"]
    assert (stream.rows, stream.steps) == (3, 5)
    for k in range(3):
        assert stream.row(k).tolist() == layer.integer_inputs(x)[:, k].tolist()


def test_a_convolutions_stream_row_is_one_channel_and_kernel_offset_position_after_position():
    torch.manual_seed(0)
    x = torch.relu(torch.randn(2, 2, 4, 4))
    layer = calibrated(QuantConv2d(nn.Conv2d(2, 3, 3, padding=1), bits=4), x)
    stream = layer_streams(nn.Sequential(layer), x)["0"]
    levels = layer.integer_inputs(x)
    assert (stream.rows, stream.steps) == (2 * 3 * 3, 2 * 16)
    # Every row is the matching row of the unfolded input (zero padding included), image after image.
    unfolded = F.unfold(levels.to(torch.float64), 3, padding=1).permute(1, 0, 2).reshape(18, -1)
    for k in range(18):
        assert stream.row(k).tolist() == unfolded[k].to(torch.int64).tolist()
    # row (channel 1, kernel offset (0, 2)): the input at (h - 1, w + 1) for each output (h, w), row-major, per image
    padded = np.pad(levels.numpy(), ((0, 0), (0, 0), (1, 1), (1, 1)))
    expected = [padded[n, 1, h, w + 2] for n in range(2) for h in range(4) for w in range(4)]
    assert stream.row(1 * 9 + 0 * 3 + 2).tolist() == expected


def test_a_strided_convolutions_rows_follow_its_output_positions():
    torch.manual_seed(1)
    x = torch.relu(torch.randn(3, 2, 7, 6))
    layer = calibrated(QuantConv2d(nn.Conv2d(2, 4, (3, 2), stride=2, padding=(1, 0), dilation=(1, 2)), bits=4), x)
    stream = layer_streams(nn.Sequential(layer), x)["0"]
    unfolded = F.unfold(layer.integer_inputs(x).to(torch.float64), (3, 2), dilation=(1, 2), padding=(1, 0),
                        stride=2).permute(1, 0, 2).reshape(12, -1)
    assert (stream.rows, stream.steps) == (12, unfolded.shape[1])
    for k in range(12):
        assert stream.row(k).tolist() == unfolded[k].to(torch.int64).tolist()


def test_a_characterization_sequence_strings_together_consecutive_pieces_of_rows():
    stream = LayerStream(torch.arange(3 * 500).reshape(3, 500).T)  # row k: 500k, 500k + 1, ...
    sequence = characterization_sequence(stream, 350, seed=1)
    assert len(sequence) == 350
    for start in range(0, 350, SEGMENT):
        piece = sequence[start:start + SEGMENT]
        assert (np.diff(piece) == 1).all()  # consecutive values of one row
    assert (characterization_sequence(stream, 350, seed=1) == sequence).all()


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    folder = tmp_path_factory.mktemp("per-layer")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("GATEDSE_CACHE_DIR", str(folder / "cache"))
        yield _study(folder)


def _study(folder):
    path = folder / "study.toml"
    path.write_text(STUDY)
    return load_study_config(path)


@pytest.fixture(scope="module")
def session(study):
    url = "sqlite:///" + str(study.path.parent / "studies.db")
    return QuantSession(study_context(study, url))


def test_each_layer_is_priced_with_its_own_recorded_sequence(session):
    model = session.cost_model()
    sequences = session.layer_sequences()
    assert set(model.layer_luts) == set(sequences) == {"fc1", "classifier"}
    for name, lut in model.layer_luts.items():
        digest = hashlib.sha256(json.dumps(sequences[name].tolist()).encode()).hexdigest()
        assert lut.meta["activation_sequence_sha256"] == digest
        assert set(lut.activations["activation"]) == set(sequences[name][1:].tolist())
    # The hidden layer sees ReLU outputs (never negative), the first layer standardized pixels: other statistics.
    assert (sequences["classifier"] >= 0).all()
    assert np.bincount(sequences["fc1"] + 8, minlength=16).tolist() != np.bincount(sequences["classifier"] + 8, minlength=16).tolist()
    first, hidden = (model.layer_luts[name].weights["energy_per_op_fJ"] for name in ("fc1", "classifier"))
    assert (first - hidden).abs().max() > 0.05 * first.abs().max()
    # Energy per inference sums the layers, each at its own LUT.
    stats = session.reference().stats
    per_layer = energy_per_inference(model, stats)
    expected = sum(energy_per_inference(model.layer_luts[layer.name], [layer]) for layer in stats)
    assert per_layer == pytest.approx(expected)
    assert per_layer != pytest.approx(energy_per_inference(session.lut, stats), rel=1e-3)


def test_a_per_layer_study_records_the_breakdown_of_every_trial(study, session):
    run = run_study(study, progress=False)
    frame = trials_frame(run)
    complete = frame[frame["state"] == "COMPLETE"]
    assert len(complete) == 2
    energy_columns = ["layer:fc1:energy_nJ", "layer:classifier:energy_nJ"]
    assert complete[energy_columns].sum(axis=1).to_numpy() == pytest.approx(
        complete["energy_per_inference_nJ"].to_numpy())
    assert (complete["layer:fc1:macs"] == 64 * 8).all() and (complete["layer:classifier:macs"] == 8 * 10).all()
    assert (complete["layer:classifier:distinct_weights"] <= 16).all()
    assert "baseline:layer:fc1:energy_nJ" in frame.columns


def test_zero_skipping_from_the_cost_table_lowers_the_energy(study, session):
    path = study.path.parent / "skip.toml"
    path.write_text(STUDY.replace('name = "per-layer"', 'name = "skip"') + "\n[cost]\nzero_skip = true\n")
    skipping = QuantSession(study_context(load_study_config(path), "sqlite:///" + str(path.parent / "studies.db")))
    model = skipping.cost_model()
    assert model.zero_skip and model.gated_energy_fJ == 0.0 and set(model.layer_luts) == {"fc1", "classifier"}
    stats = skipping.reference().stats
    assert energy_per_inference(model, stats) < energy_per_inference(session.cost_model(), stats)


def test_histograms_command_writes_each_layers_histograms_and_sequence(study, session, tmp_path, capsys):
    out = tmp_path / "hist"
    assert main(["histograms", str(study.path), "-o", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "zero inputs" in printed and f"wrote {out / 'layer_classifier_sequence.csv'}" in printed
    sequences = session.layer_sequences()
    stats = {layer.name: layer for layer in session.reference().stats}
    images = len(session.dataset.train[1])
    for name, fan_in in (("fc1", 64), ("classifier", 8)):
        assert pd.read_csv(out / f"layer_{name}_sequence.csv")["activation"].tolist() == sequences[name].tolist()
        activations = pd.read_csv(out / f"layer_{name}_activations.csv")
        assert activations["count"].sum() == images * fan_in
        weights = pd.read_csv(out / f"layer_{name}_weights.csv")
        assert weights["count"].sum() == stats[name].weights.size
        assert read_histogram(out / f"layer_{name}_activations.csv", -8, 7)
    network = pd.read_csv(out / "activations.csv")
    assert network["count"].sum() == images * (64 + 8)


def test_histograms_command_refuses_other_kinds(tmp_path, capsys):
    path = tmp_path / "v.toml"
    path.write_text('[study]\nname = "v"\nkind = "variation"\n[lut]\nbits = 4\n')
    assert main(["histograms", str(path), "-o", str(tmp_path / "out")]) == 2
    assert "dse histograms reads the quantized baseline of weight-subset" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_a_characterization_sequence_visits_every_row_before_repeating_one():
    stream = LayerStream(torch.arange(4 * 300).reshape(4, 300).T)
    sequence = characterization_sequence(stream, 6 * SEGMENT, seed=2)
    rows = [int(sequence[start]) // 300 for start in range(0, 6 * SEGMENT, SEGMENT)]
    assert sorted(rows[:4]) == [0, 1, 2, 3] and len(set(rows[4:])) == 2
