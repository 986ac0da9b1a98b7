"""The variation model, Lipschitz suppression, compensation and the `variation` kind on digits with a tiny LUT."""

from __future__ import annotations

import math

import numpy as np
import optuna
import pandas as pd
import pytest
import torch
from torch import nn

from dse.cli import main
from dse.config import load_study_config
from dse.errors import ConfigError
from dse.kinds import StudyContext, kind
from studies.kinds.variation import VariationKind
from studies.quant import quantize_model
from studies.variation import (
    Crossbar,
    Variation,
    lipschitz_lambda,
    lipschitz_penalty,
    mc_accuracy,
    spectral_norm,
)
from studies.variation.compensation import Compensated
from tests.studies.luts import tiny_lut

LEVELS = range(-8, 8)
LUT = tiny_lut({w: 1.0 + abs(w) for w in LEVELS}, {w: 1.0 for w in LEVELS}, {w: 100.0 for w in LEVELS})
MODEL = {"hidden": [16], "epochs": 8, "finetune_epochs": 2}
SPACE = {"sigma": 0.5, "samples": 20, "compensation_epochs": 2, "curve_sigmas": [0.0, 0.5]}
MACS = 64 * 16 + 16 * 10  # digits MLP: 64 inputs, 16 hidden, 10 classes


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    return tmp_path_factory.mktemp("variation")


@pytest.fixture(scope="module")
def study_kind(workdir) -> VariationKind:
    return VariationKind(VariationKind.validate(dict(SPACE), "space"),
                         StudyContext(LUT, {}, dict(MODEL), 0, "cpu", workdir))


def varied_weights(layer: nn.Module, variation: Variation, seed: int = 0) -> torch.Tensor:
    crossbar = Crossbar([layer], variation, torch.Generator().manual_seed(seed))
    crossbar.resample()
    with crossbar.active(layer):
        return layer.quantized_weight().detach()


def test_found_under_its_name():
    assert kind("variation") is VariationKind


def test_mean_of_the_device_factor_is_exp_half_sigma_squared():
    sigma = 0.5
    theta = sigma * torch.randn(400_000, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    factor = torch.exp(theta)
    variation = Variation(sigma)
    assert float(factor.mean()) == pytest.approx(math.exp(sigma ** 2 / 2), rel=3e-3)
    assert variation.mean_factor == pytest.approx(math.exp(sigma ** 2 / 2))
    assert float(factor.std()) == pytest.approx(variation.std_factor, rel=1e-2)


def test_a_sampled_layer_has_the_relative_error_of_the_model():
    torch.manual_seed(0)
    layer = quantize_model(nn.Sequential(nn.Linear(200, 300)), 8)[0]
    nominal = layer.quantized_weight().detach()
    sigma = 0.3
    # ΔW = W·(e^θ − 1), so E‖ΔW‖² / ‖W‖² = E(e^θ − 1)² = e^{2σ²} − 2e^{σ²/2} + 1
    expected = math.exp(2 * sigma ** 2) - 2 * math.exp(sigma ** 2 / 2) + 1
    squared = [float((varied_weights(layer, Variation(sigma), seed) - nominal).norm() ** 2 / nominal.norm() ** 2)
               for seed in range(20)]
    assert np.mean(squared) == pytest.approx(expected, rel=0.02)
    varied = varied_weights(layer, Variation(sigma))
    # offset mapping: a small weight gets the absolute error of a half-scale device
    offset = varied_weights(layer, Variation(sigma, "offset"))
    assert float((offset - nominal).norm()) > 1.5 * float((varied - nominal).norm())
    assert torch.equal(varied_weights(layer, Variation(0.0, "offset")), nominal)


def test_lambda_formula():
    assert lipschitz_lambda(1.0, 0.0) == pytest.approx(1.0)
    sigma = 0.5
    mu, sd = math.exp(sigma ** 2 / 2), math.sqrt((math.exp(sigma ** 2) - 1) * math.exp(sigma ** 2))
    assert lipschitz_lambda(0.8, sigma) == pytest.approx(0.8 / (mu + 3 * sd))
    assert lipschitz_lambda(0.8, sigma) == pytest.approx(0.8 / 2.9451, rel=1e-4)


def test_regularizer_drives_the_spectral_norm_to_lambda_so_the_varied_layer_stays_below_k():
    torch.manual_seed(0)
    k, sigma = 0.8, 0.5
    lam = lipschitz_lambda(k, sigma)
    for layer in (nn.Linear(40, 24), nn.Conv2d(3, 8, 3)):
        before = spectral_norm(layer)
        optimizer = torch.optim.Adam(layer.parameters(), lr=1e-2)
        for _ in range(600):
            optimizer.zero_grad()
            lipschitz_penalty([layer], lam).backward()
            optimizer.step()
        assert abs(before - lam) > 0.2
        assert spectral_norm(layer) == pytest.approx(lam, rel=0.02)
        matrix = layer.weight.detach().flatten(1)
        varied = [float(torch.linalg.matrix_norm(matrix * torch.exp(sigma * torch.randn(matrix.shape)), ord=2))
                  for _ in range(50)]
        assert max(varied) < k


def test_spectral_form_bounds_the_largest_singular_values_and_leaves_the_small_ones():
    lam = lipschitz_lambda(0.8, 0.5)
    u, _ = torch.linalg.qr(torch.randn(12, 12, generator=torch.Generator().manual_seed(0)))
    v, _ = torch.linalg.qr(torch.randn(8, 8, generator=torch.Generator().manual_seed(1)))
    values = torch.tensor([0.6, 0.5, 0.4, 0.2, 0.1, 0.05, 0.02, 0.01])
    layer = nn.Linear(8, 12, bias=False)
    with torch.no_grad():
        layer.weight.copy_(u[:, :8] @ torch.diag(values) @ v.T)
    optimizer = torch.optim.SGD(layer.parameters(), lr=0.3)  # plain gradient steps stay in the singular directions
    for _ in range(300):
        optimizer.zero_grad()
        lipschitz_penalty([layer], lam, "spectral").backward()
        optimizer.step()
    after = torch.linalg.svdvals(layer.weight.detach())
    assert lam < 0.3 and torch.allclose(after[:3], torch.full((3,), lam), rtol=0.02)
    assert torch.allclose(after[3:], values[3:], atol=1e-5)  # below λ: untouched (the orthogonal form lifts them)
    with pytest.raises(ValueError, match="regularizer"):
        lipschitz_penalty([layer], lam, "frobenius")


def test_sigma_zero_is_the_variation_free_accuracy_exactly(study_kind):
    plain = study_kind.session.quant.baseline_model()
    reference = study_kind.session.quant.reference().accuracy
    assert study_kind.session.accuracy(plain, 0.0).mean == reference
    assert study_kind.baseline()["accuracy_nominal"] == reference
    at_half = study_kind.session.accuracy(plain, 0.5)
    assert len(at_half.per_sample) == SPACE["samples"] and at_half.standard_error > 0
    assert at_half.p5 <= at_half.mean < reference


def test_mc_samples_are_reproducible_and_vary(study_kind):
    plain = study_kind.session.quant.baseline_model()
    layers = [m for m in plain.modules() if hasattr(m, "weight_set")]
    split = study_kind.session.quant.dataset.val
    first = mc_accuracy(plain, layers, split, Variation(0.6), 10, seed=5)
    again = mc_accuracy(plain, layers, split, Variation(0.6), 10, seed=5)
    assert np.array_equal(first.per_sample, again.per_sample) and np.ptp(first.per_sample) > 0


def test_compensation_overhead_is_counted(study_kind):
    outcome_widths = (("fc1", 3), ("classifier", 0))
    from studies.variation.session import Plan

    outcome = study_kind.session.run(Plan("correctnet", (0.5,), 0.8, 0.1, outcome_widths), seed=1)
    assert isinstance(outcome.compensated, Compensated)
    # generator 64→3, compensator 3→16, gain 16 (one per channel)
    extra_macs = 64 * 3 + 3 * 16 + 16
    assert outcome.overhead.macs == extra_macs
    assert outcome.overhead.macs_pct == pytest.approx(100.0 * extra_macs / MACS)
    assert outcome.overhead.params == (64 * 3 + 3) + (3 * 16 + 16) + 16
    assert outcome.overhead.energy_per_inference_nJ > 0
    # compensation is digital: the varied layers are the network's own
    assert len(outcome.compensated.crossbar_layers()) == 2


def test_trial_records_objectives_and_curves(study_kind):
    trial = optuna.trial.FixedTrial({"k": 0.8, "beta": 0.1, "width_fc1": 2, "width_classifier": 0})
    metrics = study_kind.evaluate(trial)
    attrs = trial.user_attrs
    assert set(metrics) >= {"accuracy_variation", "overhead_macs_pct", "accuracy_nominal", "accuracy_variation_p5",
                            "accuracy_variation_se"}
    assert 0 < metrics["overhead_macs_pct"] < 30
    assert 0 < metrics["accuracy_variation_se"] < 5
    assert attrs["curve_sigma"] == [0.0, 0.5] and len(attrs["curve_compensated"]) == 2
    assert attrs["curve_baseline"][0] == study_kind.baseline()["accuracy_nominal"]
    noise = optuna.trial.FixedTrial({})
    settings = VariationKind.validate({**SPACE, "method": "noise-injection"}, "space")
    kind = VariationKind(settings, StudyContext(LUT, {}, dict(MODEL), 0, "cpu", study_kind.session.quant.cache_path.parent))
    assert kind.evaluate(noise)["overhead_macs_pct"] == 0.0 and noise.user_attrs["curve_compensated"] is None


@pytest.mark.parametrize("space, message", [
    ({"sigma": -0.1}, "space.sigma: σ must be >= 0"),
    ({"sigma": [0.3, -1]}, "space.sigma"),
    ({"k": 0.0}, "space.k"),
    ({"mapping": "pair"}, "space.mapping"),
    ({"width": [3, 1]}, "space.width"),
    ({"layers": "1"}, "space.layers"),
    ({"noise": 1}, "space.noise: unknown key"),
    ({"regularizer": "frobenius"}, "space.regularizer"),
    ({"compensation_loss": "ce"}, "space.compensation_loss"),
    ({"suppression_variation": "yes"}, "space.suppression_variation"),
])
def test_bad_space_is_rejected(space, message):
    with pytest.raises(ConfigError, match=message):
        VariationKind.validate(space, "space")


def test_regularizer_and_suppression_variation_reach_the_trial_plan(workdir):
    settings = VariationKind.validate({**SPACE, "k": 0.8, "beta": 0.01, "width": 1, "regularizer": "spectral",
                                       "suppression_variation": True}, "space")
    plan = VariationKind(settings, StudyContext(LUT, {}, dict(MODEL), 0, "cpu", workdir)).plan(
        optuna.trial.FixedTrial({}))
    assert (plan.k, plan.beta, plan.regularizer, plan.suppression_variation) == (0.8, 0.01, "spectral", True)
    assert plan.widths == (("fc1", 1), ("classifier", 1))
    defaults = VariationKind.validate({}, "space")
    assert (defaults["regularizer"], defaults["suppression_variation"], defaults["compensation_loss"]) == (
        "orthogonal", False, "task")


def test_k_of_one_or_more_warns():
    with pytest.warns(UserWarning, match="k >= 1"):
        VariationKind.validate({"k": [0.5, 1.2]}, "space")


def test_unknown_layer_names_are_rejected(workdir):
    with pytest.raises(ConfigError, match=r"space.layers: the network has no layer 'conv9' \(its MAC layers: fc1, classifier\)"):
        VariationKind(VariationKind.validate({**SPACE, "layers": ["fc1", "conv9"]}, "space"),
                      StudyContext(LUT, {}, dict(MODEL), 0, "cpu", workdir))


def test_bad_sigma_in_a_study_file_exits_with_one_line(tmp_path, capsys):
    (tmp_path / "study.toml").write_text('[study]\nname = "v"\nkind = "variation"\n[lut]\nbits = 4\n'
                                         '[space]\nsigma = -0.5\n')
    with pytest.raises(ConfigError, match=r"study.toml: space.sigma"):
        load_study_config(tmp_path / "study.toml")
    assert main(["study", "run", str(tmp_path / "study.toml"), "--storage", f"sqlite:///{tmp_path}/s.db"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("dse: error:") and "space.sigma" in err and "Traceback" not in err
    assert not (tmp_path / "s.db").exists()


def test_short_study_end_to_end(tmp_path, capsys):
    LUT.save(tmp_path / "lut.csv")
    (tmp_path / "study.toml").write_text(f"""
[study]
name = "var"
kind = "variation"
trials = 3
[sampler]
name = "random"
[lut]
path = "lut.csv"
[model]
hidden = {MODEL["hidden"]}
epochs = 4
finetune_epochs = 1
[space]
sigma = 0.5
k = [0.5, 0.9]
beta = [0.01, 0.1]
width = [0, 2]
samples = 8
compensation_epochs = 1
curve_sigmas = [0.0, 0.25, 0.5]
""")
    url = f"sqlite:///{tmp_path}/s.db"
    assert main(["study", "run", str(tmp_path / "study.toml"), "--storage", url]) == 0
    study = optuna.load_study(study_name="var", storage=url)
    assert {"baseline:accuracy_variation", "baseline:accuracy_nominal"} <= set(study.user_attrs)
    assert all("accuracy_nominal" in t.user_attrs and "accuracy_variation_p5" in t.user_attrs for t in study.trials)
    table_path, figure = tmp_path / "sigma.csv", tmp_path / "sigma.png"
    assert main(["variation", "report", "var", "--storage", url, "--trial", "1", "-o", str(table_path),
                 "--plot", str(figure)]) == 0
    assert "trial 1; wrote" in capsys.readouterr().out
    table = pd.read_csv(table_path)
    assert table["sigma"].tolist() == [0.0, 0.25, 0.5]
    assert {"plain_pct", "plain_se", "suppression_pct"} <= set(table.columns)
    assert table["plain_pct"].iloc[0] == pytest.approx(study.user_attrs["baseline:accuracy_nominal"])
    assert figure.read_bytes().startswith(b"\x89PNG")
    assert main(["variation", "report", "var", "--storage", url, "-o", str(table_path)]) == 0  # the knee
    assert main(["variation", "report", "var", "--storage", url, "--trial", "99", "-o", str(table_path)]) == 2
    assert "no completed trial 99" in capsys.readouterr().err


def test_compensation_trained_on_maps_brings_the_varied_map_closer_to_the_nominal_one(study_kind):
    from studies.variation.training import Schedule, train_compensation

    session = study_kind.session
    plain = session.quant.baseline_model()
    x = session.quant.dataset.val[0]
    variation = Variation(0.5)

    def map_error(model: Compensated) -> float:
        """Mean relative squared error of the classifier's map over 10 fixed chips."""
        with torch.no_grad(), model.bypassed():
            model(x)
            target = model.maps["classifier"]
        crossbar = Crossbar(model.crossbar_layers(), variation, torch.Generator().manual_seed(7))
        errors = []
        for _ in range(10):
            crossbar.resample()
            with torch.no_grad(), crossbar.active(model):
                model(x)
            errors.append(float(((model.maps["classifier"] - target) ** 2).mean() / (target ** 2).mean()))
        return float(np.mean(errors))

    untrained = train_compensation(plain, {"classifier": 4}, 4, session.quant.dataset.train, variation, Schedule(0, 3e-3, 64, 1))
    trained = train_compensation(plain, {"classifier": 4}, 4, session.quant.dataset.train, variation, Schedule(6, 3e-3, 64, 1),
                                 loss="maps")
    assert map_error(trained) < 0.9 * map_error(untrained)


def test_compensation_trained_for_the_task_lowers_the_loss_under_variation(study_kind):
    from studies.variation.training import Schedule, train_compensation

    session = study_kind.session
    plain = session.quant.baseline_model()
    x, y = session.quant.dataset.val
    variation = Variation(0.5)

    def loss_under_variation(model: Compensated) -> float:
        """Mean cross-entropy over 10 fixed chips."""
        crossbar = Crossbar(model.crossbar_layers(), variation, torch.Generator().manual_seed(7))
        losses = []
        for _ in range(10):
            crossbar.resample()
            with torch.no_grad(), crossbar.active(model):
                losses.append(float(nn.functional.cross_entropy(model(x), y)))
        return float(np.mean(losses))

    train = session.quant.dataset.train
    untrained = train_compensation(plain, {"fc1": 2, "classifier": 2}, 4, train, variation, Schedule(0, 3e-3, 64, 1))
    trained = train_compensation(plain, {"fc1": 2, "classifier": 2}, 4, train, variation, Schedule(6, 3e-3, 64, 1),
                                 loss="task")
    assert loss_under_variation(trained) < 0.9 * loss_under_variation(untrained)


def test_suppression_under_variation_with_beta_zero_is_noise_injection(study_kind):
    from studies.variation.training import Schedule, inject_noise, suppress

    session = study_kind.session
    plain = session.quant.baseline_model()
    train, variation, schedule = session.quant.dataset.train, Variation(0.5), Schedule(1, 3e-3, 64, 3)
    varied = suppress(plain, train, 0.8, 0.0, 0.5, schedule, variation=variation)
    noisy = inject_noise(plain, train, variation, schedule)
    nominal = suppress(plain, train, 0.8, 0.0, 0.5, schedule)
    for a, b, c in zip(varied.parameters(), noisy.parameters(), nominal.parameters(), strict=True):
        assert torch.equal(a, b)
    assert any(not torch.equal(a, c) for a, c in zip(varied.parameters(), nominal.parameters(), strict=True))


def test_adc_resolution_limits_the_variation_free_accuracy(study_kind):
    session = study_kind.session
    plain = session.quant.baseline_model()
    layers = [m for m in plain.modules() if hasattr(m, "weight_set")]
    val, train = session.quant.dataset.val, session.quant.dataset.train
    nominal = mc_accuracy(plain, layers, val, Variation(0.0), 1, seed=0).mean
    fine = mc_accuracy(plain, layers, val, Variation(0.0, adc_bits=12), 2, seed=0, calibration=train[0])
    coarse = mc_accuracy(plain, layers, val, Variation(0.0, adc_bits=2), 2, seed=0, calibration=train[0])
    assert abs(fine.mean - nominal) <= 1.0
    assert coarse.mean < nominal - 10
