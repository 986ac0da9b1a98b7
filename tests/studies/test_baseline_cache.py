"""The QAT baseline cache: keyed on the data's content and every training setting, shared between studies."""

from __future__ import annotations

import numpy as np
import pytest

from dse.kinds import StudyContext
from studies.session import QuantSession
from tests.studies.luts import tiny_lut

WEIGHTS = range(-8, 8)
LUT = tiny_lut({w: 1.0 for w in WEIGHTS}, {w: 1.0 for w in WEIGHTS}, {w: 1.0 for w in WEIGHTS})
MODEL = {"hidden": [4], "epochs": 1, "finetune_epochs": 1}


def write_data(path, seed: int) -> str:
    rng = np.random.default_rng(seed)
    np.savez(path, x=rng.random((60, 5), dtype=np.float32), y=np.repeat([0, 1, 2], 20))
    return str(path)


def session(tmp_path, study: str, data: dict, model: dict = MODEL) -> QuantSession:
    return QuantSession(StudyContext(LUT, data, dict(model), seed=0, device="cpu", workdir=tmp_path / study,
                                     cache=tmp_path / "shared"))


def test_studies_with_the_same_data_and_training_share_one_baseline(tmp_path, monkeypatch):
    first = session(tmp_path, "a", {"source": write_data(tmp_path / "one.npz", 0)})
    first.baseline_model()
    assert first.cache_path.parent == tmp_path / "shared" and first.cache_path.exists()
    monkeypatch.setattr("studies.session.train", lambda *a, **k: pytest.fail("trained the baseline again"))
    copy = session(tmp_path, "b", {"source": write_data(tmp_path / "copy.npz", 0)},  # same content, other file
                   {**MODEL, "finetune_epochs": 5})  # fine-tuning does not change the baseline
    assert copy.cache_path == first.cache_path
    copy.baseline_model()


def test_changed_data_or_training_needs_another_baseline(tmp_path):
    path = tmp_path / "d.npz"
    before = session(tmp_path, "a", {"source": write_data(path, 0)}).cache_path
    after = session(tmp_path, "a", {"source": write_data(path, 1)}).cache_path  # same name, new content
    other_lr = session(tmp_path, "a", {"source": str(path)}, {**MODEL, "lr": 1e-2}).cache_path
    other_split = session(tmp_path, "a", {"source": str(path), "val_fraction": 0.3}).cache_path
    assert len({before, after, other_lr, other_split}) == 4
