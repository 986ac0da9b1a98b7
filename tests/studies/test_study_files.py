"""Study files of the network kinds: [data], [model] and [space] are checked when the file loads, before any
storage is touched; relative paths are taken from the study file's folder."""

from __future__ import annotations

import optuna
import pytest

from dse.cli import main
from dse.config import load_study_config
from dse.errors import ConfigError
from dse.storage import open_storage, study_names
from studies.errors import DataError, ModelError
from tests.studies.luts import tiny_lut

STUDY = """
[study]
name = "bad"
kind = "weight-subset"
storage = "sqlite:///studies.db"
trials = 2
[lut]
path = "lut.csv"
[data]
source = "digits"
[model]
arch = "mlp"
"""


def write(folder, text: str):
    (folder / "lut.csv").touch()
    path = folder / "study.toml"
    path.write_text(text)
    return path


@pytest.mark.parametrize("old, new, error, expected", [
    ('source = "digits"', 'sorce = "digits"', DataError,
     "data.sorce: unknown key; did you mean 'source'? (expected one of: source, format,"),
    ('arch = "mlp"', 'arch = "transformer"', ModelError,
     "model.arch: expected one of mlp, cnn, vgg, resnet, got 'transformer'"),
    ('arch = "mlp"', 'arch = "cnn"\nhidden = [32]', ModelError, "model.hidden: only for the mlp arch, not cnn"),
    ('arch = "mlp"', 'arch = "cnn"\nchannels = [6, 16]\nkernel = [5]', ModelError,
     "model.kernel: expected one entry per stage of channels (2), got 1"),
    ('source = "digits"', 'source = "absent.npz"', DataError, "data.source: no such file or folder: "),
    ('source = "digits"', 'val_fraction = 1.5', DataError,
     "data.val_fraction: expected a number between 0 and 1, got 1.5"),
    ('arch = "mlp"', 'arch = "mlp"\n[space]\nrankng = "delay"', ConfigError,
     "space.rankng: unknown key; did you mean 'ranking'?"),
])
def test_a_bad_table_fails_at_load(tmp_path, old, new, error, expected):
    path = write(tmp_path, STUDY.replace(old, new))
    with pytest.raises(error) as info:
        load_study_config(path)
    assert str(info.value).startswith(f"{path}: {expected}"), str(info.value)


@pytest.mark.parametrize("old, new, expected", [
    ('source = "digits"', 'sorce = "digits"', "data.sorce: unknown key; did you mean 'source'?"),
    ('arch = "mlp"', 'arch = "transformer"', "model.arch: expected one of mlp, cnn, vgg, resnet, got 'transformer'"),
])
def test_a_bad_table_creates_no_study(tmp_path, capsys, old, new, expected):
    weights = range(-8, 8)
    tiny_lut({w: 1.0 for w in weights}, {w: 1.0 for w in weights}, {w: 1.0 for w in weights}).save(tmp_path / "lut.csv")
    path = write(tmp_path, STUDY.replace(old, new))
    url = f"sqlite:///{tmp_path}/studies.db"
    optuna.create_study(study_name="other", storage=url)
    assert main(["study", "run", str(path)]) == 2
    assert f"dse: error: {path}: {expected}" in capsys.readouterr().err
    assert study_names(open_storage(url)) == ["other"]


def test_a_kind_without_data_rejects_a_data_table(tmp_path):
    import tests.dse.toykind  # noqa: F401  (registers the "toy" kind)

    path = write(tmp_path, STUDY.replace("weight-subset", "toy"))
    with pytest.raises(ConfigError, match=r"study.toml: data: kind 'toy' reads no \[data\] table$"):
        load_study_config(path)


def test_data_source_is_taken_from_the_study_file_folder(tmp_path, monkeypatch):
    (tmp_path / "sets").mkdir()
    (tmp_path / "sets" / "d.csv").write_text("f,label\n1,a\n2,b\n")
    path = write(tmp_path, STUDY.replace('"digits"', '"sets/d.csv"'))
    monkeypatch.chdir("/")
    config = load_study_config(path)
    assert config.data["source"] == tmp_path / "sets" / "d.csv" and config.data["format"] == "csv"
    assert config.model == {"arch": "mlp", "hidden": [64], "epochs": 20, "finetune_epochs": 3, "batch_size": 64,
                            "lr": 3e-3, "weight_decay": 0.0}


def test_device_auto_and_a_missing_cuda(tmp_path):
    import torch

    auto = load_study_config(write(tmp_path, STUDY.replace("trials = 2", 'trials = 2\ndevice = "auto"')))
    assert auto.device == ("cuda" if torch.cuda.is_available() else "mps" if torch.backends.mps.is_available()
                           else "cpu")
    cuda = write(tmp_path, STUDY.replace("trials = 2", 'trials = 2\ndevice = "cuda"'))
    if torch.cuda.is_available():
        assert load_study_config(cuda).device == "cuda"
        return
    with pytest.raises(ConfigError, match=r"study\.device: cuda: .*install a CUDA build \(pip install torch "
                                          r"--index-url https://download.pytorch.org/whl/cu"):
        load_study_config(cuda)


def test_the_baseline_cache_folder(tmp_path):
    from dse.runner import cache_folder

    default = load_study_config(write(tmp_path, STUDY))
    assert cache_folder(default, default.storage) == tmp_path / "qat-baselines"  # beside the storage
    chosen = load_study_config(write(tmp_path, STUDY.replace("trials = 2", 'trials = 2\ncache = "../cache"')))
    assert cache_folder(chosen, chosen.storage) == tmp_path / ".." / "cache"


def run_and_list(tmp_path, capsys, path) -> tuple[str, list[str]]:
    """`dse study run` that must fail with one line; its error and the studies left in the storage."""
    url = f"sqlite:///{tmp_path}/studies.db"
    optuna.create_study(study_name="other", storage=url)
    assert main(["study", "run", str(path), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("dse: error: ") and err.count("\n") == 1, err
    return err, study_names(open_storage(url))


def test_a_corrupt_data_file_creates_no_study(tmp_path, capsys):
    weights = range(-8, 8)
    tiny_lut({w: 1.0 for w in weights}, {w: 1.0 for w in weights}, {w: 1.0 for w in weights}).save(tmp_path / "lut.csv")
    (tmp_path / "d.npz").write_bytes(b"PK\x03\x04 not really a zip archive")
    path = write(tmp_path, STUDY.replace('"digits"', '"d.npz"'))
    err, names = run_and_list(tmp_path, capsys, path)
    assert "d.npz" in err
    assert names == ["other"]


def test_a_failed_characterization_creates_no_study(tmp_path, capsys):
    (tmp_path / "broken.lib").write_text("library (broken) {\n  cell (INV) {\n    area : 1.0;\n")
    inline = '[lut]\nbits = 4\nweights = [1, 2]\nvectors = 16\nlibrary = "broken.lib"'
    path = write(tmp_path, STUDY.replace('[lut]\npath = "lut.csv"', inline))
    err, names = run_and_list(tmp_path, capsys, path)
    assert "broken.lib" in err
    assert names == ["other"]
