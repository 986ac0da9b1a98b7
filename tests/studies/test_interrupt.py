"""Ctrl-C while a study trains: the first stops training at its next batch and fails the trial in flight (the
study resumes), or, while the baseline trains, stores nothing; progress bars show epoch, loss and accuracy."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import torch
from optuna.trial import TrialState

from dse.cli import main
from dse.errors import Stopped
from dse.storage import load_study, open_storage, study_names
from studies.data import load_dataset
from studies.models import build_model
from studies.training import Progress, train
from tests.studies.luts import tiny_lut

REPO = Path(__file__).resolve().parents[2]
LEVELS = range(-8, 8)
STUDY = """\
[study]
name = "cap"
kind = "class-aware-pruning"
trials = 1
seed = 0
[sampler]
name = "random"
[objectives]
accuracy = "maximize"
macs = "minimize"
[lut]
path = "lut.csv"
[model]
arch = "mlp"
hidden = [16, 12]
epochs = {epochs}
finetune_epochs = 1
[space]
tau = 1e-3
lambda1 = 1e-5
lambda2 = 1e-3
ratio = 0.5
iterations = 1
regularize_epochs = {regularize_epochs}
"""


def write(folder: Path, epochs: int, regularize_epochs: int) -> Path:
    tiny_lut({w: 1.0 for w in LEVELS}, {w: 1.0 for w in LEVELS}, {w: 1.0 for w in LEVELS}).save(folder / "lut.csv")
    path = folder / "cap.toml"
    path.write_text(STUDY.format(epochs=epochs, regularize_epochs=regularize_epochs))
    return path


class Worker:
    """A `dse` command (default `dse study run`) in another process, its stderr collected as it comes."""

    def __init__(self, path: Path, url: str, command: tuple[str, ...] = ("study", "run")):
        self.process = subprocess.Popen([sys.executable, "-m", "dse.cli", *command, str(path), "--storage", url],
                                        cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        self.err = b""
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        while chunk := self.process.stderr.read1(4096):
            self.err += chunk

    def wait_for(self, pattern: bytes, timeout_s: float = 120) -> None:
        """Wait until stderr matches the regular expression `pattern`."""
        deadline = time.monotonic() + timeout_s
        while re.search(pattern, self.err) is None:
            assert self.process.poll() is None, f"the worker ended early: {self.err.decode()[-800:]}"
            assert time.monotonic() < deadline, f"no {pattern!r} in time: {self.err.decode()[-800:]}"
            time.sleep(0.05)

    def interrupt(self, timeout_s: float = 60) -> int:
        self.process.send_signal(signal.SIGINT)
        try:
            returncode = self.process.wait(timeout=timeout_s)
        finally:
            self.process.kill()
        self._reader.join(timeout=5)
        return returncode


def test_first_ctrl_c_fails_the_trial_in_training_and_the_study_resumes(tmp_path, capsys):
    path = write(tmp_path, epochs=3, regularize_epochs=100_000)  # the first trial trains until interrupted
    url = f"sqlite:///{tmp_path}/s.db"
    worker = Worker(path, url)
    worker.wait_for(b"regularize")  # the trial's progress bar, then its epoch, running loss and accuracy
    # The bar redraws every 0.1 s: on a fast machine it shows a later epoch first.
    worker.wait_for(rb"epoch \d+/100000, loss [\d.]+, accuracy ")
    assert worker.interrupt() == 130
    assert b"stopped on request" in worker.err and b"Traceback" not in worker.err
    study = load_study("cap", url)
    assert [t.state for t in study.trials] == [TrialState.FAIL]
    assert study.user_attrs["kind"] == "class-aware-pruning"

    path.write_text(STUDY.format(epochs=3, regularize_epochs=1))  # same study, shorter trials
    assert main(["study", "run", str(path), "--storage", url, "--quiet"]) == 0
    assert "regularize" not in capsys.readouterr().err
    states = [t.state for t in load_study("cap", url).trials]
    assert states == [TrialState.FAIL, TrialState.COMPLETE]


def test_first_ctrl_c_stops_dse_prune_before_it_writes(tmp_path):
    path = write(tmp_path, epochs=1, regularize_epochs=100_000)
    out = tmp_path / "pruned"
    worker = Worker(path, f"sqlite:///{tmp_path}/s.db", ("prune", "-o", str(out)))
    worker.wait_for(rb"regularize[^\n]*epoch \d+/100000, loss [\d.]+, accuracy ")
    assert worker.interrupt() == 130
    assert b"stopped on request; nothing was written" in worker.err and b"Traceback" not in worker.err
    assert not out.exists()


def test_ctrl_c_while_the_baseline_trains_stores_no_study(tmp_path, capsys):
    path = write(tmp_path, epochs=100_000, regularize_epochs=1)
    url = f"sqlite:///{tmp_path}/s.db"

    def interrupt_once_started() -> None:  # the study's work folder appears just before the baseline trains
        deadline = time.monotonic() + 120
        while not (tmp_path / "cap").exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        os.kill(os.getpid(), signal.SIGINT)

    sender = threading.Thread(target=interrupt_once_started)
    sender.start()
    try:
        assert main(["study", "run", str(path), "--storage", url, "--quiet"]) == 130
    finally:
        sender.join()
    assert "stopped on request before any trial ran" in capsys.readouterr().err
    assert study_names(open_storage(url)) == []
    assert not list((tmp_path / "qat-baselines").glob("*.pt"))  # no half-trained baseline cached


def test_a_set_stop_event_ends_training_before_the_next_batch():
    data = load_dataset({}, seed=0)
    model = build_model({"arch": "mlp", "hidden": [8]}, data.input_shape, data.n_classes)
    before = [p.detach().clone() for p in model.parameters()]
    stop = threading.Event()
    stop.set()
    with pytest.raises(Stopped):
        train(model, data.train, 5, 3e-3, 64, 0, progress=Progress(stop=stop))
    assert all(torch.equal(a, b) for a, b in zip(before, model.parameters()))


def test_first_interrupt_sets_the_event_and_the_second_aborts(capsys):
    from dse.cli.stopping import first_interrupt_stops

    with first_interrupt_stops("stopping") as stop:
        os.kill(os.getpid(), signal.SIGINT)
        assert stop.is_set()
        with pytest.raises(KeyboardInterrupt):
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(1)  # the handler runs before this ends
    assert "stopping; Ctrl-C again to abort at once" in capsys.readouterr().err
