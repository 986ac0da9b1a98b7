"""What the value-restricting kinds share: data, the cached QAT baseline, fine-tuning under allowed value sets.

The baseline (quantization-aware training at the LUT's bit-width, every weight
value allowed) is trained once and cached in the shared cache folder (see
`dse.runner.cache_folder`) under a digest of everything it depends on: the
data's content, the bit-width, the seed and every model and training setting
but the fine-tuning epochs. Every trial, process, resumed run and every other
study with the same data, network and training fine-tunes from that network
instead of training it again.
"""

from __future__ import annotations

import copy
import hashlib
import json
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch
from torch import nn

from cells.files import atomic_path
from dse.costmodel import CostModel, LayerStats
from studies.data import Dataset, load_dataset
from studies.errors import StudiesError
from studies.models import build_model, validate_model_settings
from studies.quant import layer_stats, quantize_model, restrict, signed_levels
from studies.streams import characterization_sequence, layer_streams
from studies.training import Progress, accuracy, batches, train

if TYPE_CHECKING:
    from characterize.lut.table import Lut
    from dse.kinds import StudyContext

CACHE_VERSION = 3  # 3: layers named by role (conv1, fc1, …), not by position
STATS_BATCH = 512


def lut_bits(lut: Lut) -> int:
    """Bit-width of the LUT's weights; the network is quantized to it. StudiesError unless the LUT is signed."""
    rows = lut.weights
    bits = int(lut.meta.get("bits", rows["bits"].iloc[0] if len(rows) else 0))
    signed = lut.meta.get("signed", bool(rows["signed"].iloc[0]) if len(rows) else False)
    if not signed:
        raise StudiesError("the LUT is of an unsigned multiplier; the studies need signed weights "
                           "(characterize without --unsigned)")
    if not 2 <= bits <= 16:
        raise StudiesError(f"the LUT's bit-width {bits} is outside 2..16")
    return bits


@dataclass(frozen=True)
class Reference:
    """The unrestricted baseline network: validation and test accuracy (%) and its per-layer statistics."""

    accuracy: float
    test_accuracy: float
    stats: list[LayerStats]


class QuantSession:
    """A data set and a quantized baseline network, fine-tuned per trial under allowed weight and activation sets."""

    def __init__(self, context: StudyContext):
        self.lut = context.lut
        self.bits = lut_bits(context.lut)
        self.seed = context.seed
        self.device = context.device
        self.progress = Progress(context.progress, context.stop)
        self.settings = validate_model_settings(context.model)
        self.dataset: Dataset = load_dataset(context.data, context.seed)
        levels = signed_levels(self.bits)
        self.candidates = np.intersect1d(levels, self.lut.weights.index.to_numpy(dtype=np.int64))
        if len(self.candidates) == 0:
            raise StudiesError(f"the LUT has no weight value in {levels[0]}..{levels[-1]}")
        self.unrestricted = None if len(self.candidates) == len(levels) else self.candidates
        self.cache_path = Path(context.cache or context.workdir) / f"qat-baseline-{self._digest()}.pt"
        self._baseline: nn.Module | None = None
        self._reference: Reference | None = None
        self._cost_model: CostModel | None = None
        self.cost = context.cost
        self.characterize_with = context.characterize_with
        self._lock = threading.RLock()

    def _digest(self) -> str:
        training = {k: v for k, v in self.settings.items() if k != "finetune_epochs"}
        key = {"version": CACHE_VERSION, "bits": self.bits, "seed": self.seed, "model": training,
               "data": self.dataset.digest}
        return hashlib.sha256(json.dumps(key, sort_keys=True, default=str).encode()).hexdigest()[:16]

    def _new_model(self) -> nn.Module:
        model = build_model(self.settings, self.dataset.input_shape, self.dataset.n_classes)
        return quantize_model(model, self.bits).to(self.device)

    def baseline_model(self) -> nn.Module:
        """The QAT network with every LUT weight value allowed: loaded from the cache, or trained and cached."""
        with self._lock:
            if self._baseline is None:
                with torch.random.fork_rng(devices=[]):
                    torch.manual_seed(self.seed)
                    model = self._new_model()
                if self.cache_path.exists():
                    model.load_state_dict(torch.load(self.cache_path, map_location=self.device, weights_only=True))
                else:
                    train(model, self.dataset.train, self.settings["epochs"], self.settings["lr"],
                          self.settings["batch_size"], self.seed, self.settings["weight_decay"], self.device,
                          progress=self.progress, label="baseline")
                    self._save(model)
                restrict(model, weights=self.unrestricted)
                self._baseline = model.eval()
            return self._baseline

    def reference(self) -> Reference:
        """Accuracy and statistics of the baseline network, computed once."""
        with self._lock:
            if self._reference is None:
                model = self.baseline_model()
                self._reference = Reference(self.accuracy(model), self.accuracy(model, "test"), self.stats(model))
            return self._reference

    def cost_model(self) -> CostModel:
        """What prices the study's networks: its LUT and [cost] settings, and with [lut] activations = "per-layer"
        one LUT per layer characterized with the layer's recorded sequence (once; the sweep caches it)."""
        with self._lock:
            if self._cost_model is None:
                layer_luts = {}
                if self.characterize_with is not None:
                    layer_luts = {name: self.characterize_with(sequence)
                                  for name, sequence in self.layer_sequences().items()}
                self._cost_model = CostModel(self.lut, layer_luts, **self.cost)
            return self._cost_model

    def layer_sequences(self, seed: int | None = None) -> dict[str, np.ndarray]:
        """Per layer, as many activations of its weight-stationary stream (`studies.streams`) as the LUT's sweep
        simulated (its transitions + 1), recorded from the baseline network on the first STATS_BATCH training
        images; segments drawn with `seed` (default: the study's)."""
        streams = layer_streams(self.baseline_model(), self.dataset.train[0][:STATS_BATCH], self.device)
        length = int(self.lut.meta["vectors"]) + 1
        seed = self.seed if seed is None else seed
        return {name: characterization_sequence(stream, length, seed) for name, stream in streams.items()}

    def _save(self, model: nn.Module) -> None:
        """Write the cache atomically, so concurrent workers never read a half-written file."""
        with atomic_path(self.cache_path) as partial:
            torch.save(model.state_dict(), partial)

    def finetune(self, weights: Sequence[int], activations: Sequence[int] | None, seed: int,
                 start: nn.Module | None = None) -> nn.Module:
        """A copy of `start` (default: the baseline) restricted to the given sets and fine-tuned briefly."""
        model = copy.deepcopy(start if start is not None else self.baseline_model())
        restrict(model, weights=weights, activations=activations)
        if self.settings["finetune_epochs"]:
            train(model, self.dataset.train, self.settings["finetune_epochs"], self.settings["lr"],
                  self.settings["batch_size"], seed, self.settings["weight_decay"], self.device,
                  progress=self.progress, label="fine-tune")
        return model

    def accuracy(self, model: nn.Module, split: str = "val") -> float:
        """Accuracy (%) on the validation (searched on) or test (reported) part."""
        return accuracy(model, getattr(self.dataset, split), device=self.device)

    def stats(self, model: nn.Module) -> list[LayerStats]:
        """Per-layer integer weights, MACs and input histograms over the training part."""
        return layer_stats(model, batches(self.dataset.train, STATS_BATCH), self.device)
