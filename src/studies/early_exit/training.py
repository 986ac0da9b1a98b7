"""The trained networks with exits, cached, and their per-exit outputs and costs.

A network with exits is a backbone with one kind of head at every candidate
exit: class-exclusion heads (sigmoid per class, binary cross-entropy) or the
baseline's softmax classifiers (cross-entropy), all quantized to the LUT's
bit-width. Two ways to train one:

- `training = "joint"` (the authors'): a fresh backbone and its heads trained
  together from the start with `JointExitLoss`, for the [model] table's epochs,
  learning rate and batch size, so every kind of head gets the same budget.
  Each kind of head has its own backbone.
- `training = "frozen"`: the heads trained for `head_epochs` on the features of
  the study's cached QAT backbone, which every kind of head shares.

Networks are cached beside the QAT backbone, in the folder studies share,
under a digest of the backbone's settings, the head kind and the head
settings. Then every part of the data runs once through a network; what a
trial evaluates is only arithmetic on these per-exit outputs.
"""

from __future__ import annotations

import hashlib
import json
import threading
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch
from torch import nn

from cells.files import atomic_path
from dse.costmodel import energy_per_inference, macs
from studies.early_exit.cost import CostTable, backbone_costs, confidence_table, exclusion_table
from studies.early_exit.heads import (
    HEAD_DEFAULTS,
    ExclusionHeads,
    ExclusionLoss,
    ExitNetwork,
    JointExitLoss,
    confidence_classifier,
    exit_positions,
    has_macs,
    pool_features,
    tap,
)
from studies.models import build_model
from studies.quant import layer_stats, quantize_model, restrict
from studies.session import QuantSession
from studies.training import batches, train

if TYPE_CHECKING:
    from dse.kinds import StudyContext

CACHE_VERSION = 2
STATS_BATCH = 512
HEAD_KINDS = ("exclusion", "confidence")
TRAININGS = ("joint", "frozen")


@dataclass(frozen=True)
class ExitOutputs:
    """One part of the data through one network: head logits and probabilities (sigmoid for exclusion heads,
    softmax for the baseline's) N×C per candidate exit, the final logits N×C and the labels."""

    logits: list[np.ndarray]
    probabilities: list[np.ndarray]
    final_logits: np.ndarray
    labels: np.ndarray


@dataclass(frozen=True)
class ExitCosts:
    """Cost tables of one network over every candidate exit, in MACs and in joules."""

    macs: CostTable
    energy_J: CostTable


class ExitSession:
    """The study's QAT backbone and, trained on demand, one network with exits per kind of head."""

    def __init__(self, context: StudyContext, settings: dict, training: str = "joint",
                 quant: QuantSession | None = None, backbone: nn.Module | None = None):
        """`backbone` (default: the study's cached QAT network) gets heads trained on its frozen features, not
        cached: a network a trial has just pruned or restricted. `quant` shares a session's data and baseline."""
        if backbone is not None and training != "frozen":
            raise ValueError("heads on a given backbone are trained on its frozen features (training 'frozen')")
        self.settings = {**HEAD_DEFAULTS, **{k: v for k, v in settings.items() if k in HEAD_DEFAULTS}}
        self.training = training
        self.quant = quant or QuantSession(context)
        self.lut = context.lut
        self.device = context.device
        self.seed = context.seed
        self.cached = backbone is None
        self.backbone = self.quant.baseline_model() if backbone is None else backbone
        self.positions = exit_positions(self.backbone)
        self.children = [name for name, _ in self.backbone.named_children()]
        self.n_classes = self.quant.dataset.n_classes
        self._lock = threading.RLock()
        self._networks: dict[str, ExitNetwork] = {}
        self._outputs: dict[tuple[str, str], ExitOutputs] = {}
        self._costs: dict[str, ExitCosts] = {}

    def exit_label(self, k: int) -> str:
        """The name of the backbone layer candidate exit k (0-based) follows, e.g. "conv2"."""
        index = max(i for i in range(self.positions[k]) if has_macs(self.backbone[i]))
        return self.children[index]

    def cache_path(self, kind: str) -> Path:
        """Where the network with `kind` heads is cached."""
        key = {"version": CACHE_VERSION, "backbone": self.quant.cache_path.stem, "kind": kind,
               "training": self.training, "heads": self.settings}
        digest = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:16]
        return self.quant.cache_path.parent / f"exit-net-{digest}.pt"

    def network(self, kind: str) -> ExitNetwork:
        """The network with `kind` heads ("exclusion" or "confidence"): loaded from the cache, or trained and cached."""
        with self._lock:
            if kind not in self._networks:
                self._networks[kind] = self._load_or_train(kind)
            return self._networks[kind]

    def _new_heads(self, kind: str, n_features: list[int]) -> list[nn.Module]:
        hidden = self.settings["hidden" if kind == "exclusion" else "confidence_hidden"]
        make = ExclusionHeads if kind == "exclusion" else confidence_classifier
        return [quantize_model(make(n, self.n_classes, hidden), self.quant.bits).to(self.device) for n in n_features]

    def _head_loss(self, kind: str) -> nn.Module:
        return ExclusionLoss(self.settings["pos_weight"]) if kind == "exclusion" else nn.CrossEntropyLoss()

    def _load_or_train(self, kind: str) -> ExitNetwork:
        path = self.cache_path(kind)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(self.seed)
            if self.training == "joint":
                backbone = quantize_model(build_model(self.quant.settings, self.quant.dataset.input_shape,
                                                      self.n_classes), self.quant.bits).to(self.device)
            else:
                backbone = self.backbone
            network = ExitNetwork(backbone, self.positions, self._new_heads(kind, self._feature_sizes(backbone)),
                                  self.settings["head_pool"])
        if self.cached and path.exists():
            network.load_state_dict(torch.load(path, map_location=self.device, weights_only=True))
        elif self.training == "joint":
            model = self.quant.settings
            train(network, self.quant.dataset.train, model["epochs"], model["lr"], model["batch_size"], self.seed,
                  model["weight_decay"], self.device, loss_fn=JointExitLoss(self._head_loss(kind)),
                  progress=self.quant.progress, label=f"network with {kind} exits")
            self._save(network, path)
        else:
            self._train_on_frozen_features(kind, network)
            if self.cached:
                self._save(network, path)
        if self.training == "joint":
            restrict(network, weights=self.quant.unrestricted)
        return network.eval()

    @torch.no_grad()
    def _feature_sizes(self, backbone: nn.Sequential) -> list[int]:
        was_training = backbone.training
        x = self.quant.dataset.train[0][:1].to(self.device)
        features, _ = tap(backbone.eval(), x, self.positions)
        backbone.train(was_training)
        return [pool_features(f, self.settings["head_pool"]).shape[1] for f in features]

    def _train_on_frozen_features(self, kind: str, network: ExitNetwork) -> None:
        features, _ = self.features(network, "train")
        labels = self.quant.dataset.train[1]
        model = self.quant.settings
        for k, (f, head) in enumerate(zip(features, network.heads)):
            train(head, (f.cpu(), labels), self.settings["head_epochs"], model["lr"], model["batch_size"],
                  self.seed + 1 + k, model["weight_decay"], self.device, loss_fn=self._head_loss(kind),
                  progress=self.quant.progress, label=f"exit {k + 1}/{len(features)} {kind} heads")

    def _save(self, network: ExitNetwork, path: Path) -> None:
        """Write the cache atomically, so concurrent workers never read a half-written file."""
        with atomic_path(path) as partial_path:
            torch.save(network.state_dict(), partial_path)

    @torch.no_grad()
    def features(self, network: ExitNetwork, split: str) -> tuple[list[torch.Tensor], torch.Tensor]:
        """Pooled head inputs at every candidate exit and the final logits, for one part of the data."""
        x, _ = getattr(self.quant.dataset, split)
        taps, logits = [], []
        network.backbone.eval()
        for start in range(0, len(x), STATS_BATCH):
            features, out = tap(network.backbone, x[start:start + STATS_BATCH].to(self.device), self.positions)
            taps.append([pool_features(f, self.settings["head_pool"]) for f in features])
            logits.append(out)
        return [torch.cat(parts) for parts in zip(*taps)], torch.cat(logits)

    @torch.no_grad()
    def outputs(self, kind: str, split: str) -> ExitOutputs:
        """Per-exit logits and probabilities and the final logits of one part of the data, computed once."""
        with self._lock:
            if (kind, split) not in self._outputs:
                network = self.network(kind)
                features, final = self.features(network, split)
                logits = [head(f) for head, f in zip(network.heads, features)]
                activation = torch.sigmoid if kind == "exclusion" else partial(torch.softmax, dim=1)
                self._outputs[kind, split] = ExitOutputs(
                    [z.cpu().numpy() for z in logits], [activation(z).cpu().numpy() for z in logits],
                    final.cpu().numpy(), getattr(self.quant.dataset, split)[1].numpy())
            return self._outputs[kind, split]

    def costs(self, kind: str) -> ExitCosts:
        """MAC and LUT-energy tables of one network's backbone and heads, from integer weights of its trained layers.

        Exclusion heads cost per class (`CostTable.per_class`), a softmax classifier as a whole (`fixed`)."""
        with self._lock:
            if kind not in self._costs:
                network = self.network(kind)
                features, _ = self.features(network, "train")
                labels = self.quant.dataset.train[1]
                stats = self.quant.stats(network.backbone)
                heads = [layer_stats(h, batches((f, labels), STATS_BATCH), self.device)
                         for h, f in zip(network.heads, features)]
                tables = {}
                for unit, measure in (("macs", macs), ("energy_J", partial(energy_per_inference, self.lut))):
                    backbone = backbone_costs(stats, self.positions, measure, self.children)
                    if kind == "exclusion":
                        per_class = [h.class_stats(s) for h, s in zip(network.heads, heads)]
                        tables[unit] = exclusion_table(backbone, per_class, measure)
                    else:
                        tables[unit] = confidence_table(backbone, heads, self.n_classes, measure)
                self._costs[kind] = ExitCosts(**tables)
            return self._costs[kind]
