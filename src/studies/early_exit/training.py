"""The trained network with exits: a cached QAT backbone, heads trained once on its frozen features, cached.

At every candidate exit two heads are trained on the backbone's frozen
training features: the class-exclusion networks (one per class, binary
cross-entropy) and the baseline's softmax classifier (cross-entropy), both
quantized to the LUT's bit-width like the backbone. They are cached beside the
backbone, in the folder studies share, under a digest of the backbone and the
head settings.
Then every part of the data is run once through backbone and heads; what a
trial evaluates is only arithmetic on these per-exit outputs.
"""

from __future__ import annotations

import hashlib
import json
import threading
from dataclasses import dataclass
from functools import partial
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
    confidence_classifier,
    exit_positions,
    has_macs,
    pool_features,
    tap,
)
from studies.quant import layer_stats, quantize_model
from studies.session import QuantSession
from studies.training import batches, train

if TYPE_CHECKING:
    from dse.kinds import StudyContext

CACHE_VERSION = 1
STATS_BATCH = 512


@dataclass(frozen=True)
class ExitOutputs:
    """One part of the data at every candidate exit: exclusion probabilities (sigmoid) and softmax
    probabilities, N×C each per exit, the final logits N×C and the labels."""

    exclusion: list[np.ndarray]
    confidence: list[np.ndarray]
    final_logits: np.ndarray
    labels: np.ndarray


@dataclass(frozen=True)
class ExitCosts:
    """Cost tables over every candidate exit, in MACs and in joules."""

    exclusion_macs: CostTable
    exclusion_energy_J: CostTable
    confidence_macs: CostTable
    confidence_energy_J: CostTable


class ExitSession:
    """A backbone with heads at every candidate exit, their outputs per data part and their costs."""

    def __init__(self, context: StudyContext, settings: dict):
        self.settings = {**HEAD_DEFAULTS, **{k: v for k, v in settings.items() if k in HEAD_DEFAULTS}}
        self.quant = QuantSession(context)
        self.lut = context.lut
        self.device = context.device
        self.seed = context.seed
        self.backbone = self.quant.baseline_model()
        self.positions = exit_positions(self.backbone)
        self.children = [name for name, _ in self.backbone.named_children()]
        self.n_classes = self.quant.dataset.n_classes
        self.cache_path = self.quant.cache_path.parent / f"exit-heads-{self._digest()}.pt"
        self._lock = threading.RLock()
        self._outputs: dict[str, ExitOutputs] = {}
        self._train = self.features("train")
        self.exclusion_heads, self.confidence_heads = self._heads()

    def exit_label(self, k: int) -> str:
        """The name of the backbone layer candidate exit k (0-based) follows, e.g. "conv2"."""
        index = max(i for i in range(self.positions[k]) if has_macs(self.backbone[i]))
        return self.children[index]

    def _digest(self) -> str:
        key = {"version": CACHE_VERSION, "backbone": self.quant.cache_path.stem, "heads": self.settings}
        return hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:16]

    def features(self, split: str) -> tuple[list[torch.Tensor], torch.Tensor]:
        """Pooled head inputs at every candidate exit and the final logits, for one part of the data."""
        x, _ = getattr(self.quant.dataset, split)
        taps, logits = [], []
        for start in range(0, len(x), STATS_BATCH):
            features, out = tap(self.backbone, x[start:start + STATS_BATCH].to(self.device), self.positions)
            taps.append([pool_features(f, self.settings["head_pool"]) for f in features])
            logits.append(out)
        return [torch.cat(parts) for parts in zip(*taps)], torch.cat(logits)

    def _new_heads(self, n_features: list[int]) -> tuple[list[nn.Module], list[nn.Module]]:
        bits, hidden = self.quant.bits, self.settings["hidden"]
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(self.seed)
            exclusion = [quantize_model(ExclusionHeads(n, self.n_classes, hidden), bits).to(self.device)
                         for n in n_features]
            confidence = [quantize_model(confidence_classifier(n, self.n_classes, self.settings["confidence_hidden"]),
                                         bits).to(self.device) for n in n_features]
        return exclusion, confidence

    def _heads(self) -> tuple[list[nn.Module], list[nn.Module]]:
        """Heads at every candidate exit: loaded from the cache, or trained on frozen features and cached."""
        features, _ = self._train
        labels = self.quant.dataset.train[1]
        exclusion, confidence = self._new_heads([f.shape[1] for f in features])
        if self.cache_path.exists():
            state = torch.load(self.cache_path, map_location=self.device, weights_only=True)
            for k, (ex, conf) in enumerate(zip(exclusion, confidence)):
                ex.load_state_dict(state[f"exclusion.{k}"])
                conf.load_state_dict(state[f"confidence.{k}"])
        else:
            training = self.quant.settings
            for k, (f, ex, conf) in enumerate(zip(features, exclusion, confidence)):
                for head, loss, what in ((ex, ExclusionLoss(), "exclusion"), (conf, None, "softmax")):
                    train(head, (f.cpu(), labels), self.settings["head_epochs"], training["lr"],
                          training["batch_size"], self.seed + 1 + k, training["weight_decay"], self.device,
                          loss_fn=loss, progress=self.quant.progress,
                          label=f"exit {k + 1}/{len(features)} {what} heads")
            self._save({**{f"exclusion.{k}": m.state_dict() for k, m in enumerate(exclusion)},
                        **{f"confidence.{k}": m.state_dict() for k, m in enumerate(confidence)}})
        return [m.eval() for m in exclusion], [m.eval() for m in confidence]

    def _save(self, state: dict) -> None:
        """Write the cache atomically, so concurrent workers never read a half-written file."""
        with atomic_path(self.cache_path) as partial:
            torch.save(state, partial)

    @torch.no_grad()
    def outputs(self, split: str) -> ExitOutputs:
        """Per-exit probabilities and final logits of one part of the data ("val" or "test"), computed once."""
        with self._lock:
            if split not in self._outputs:
                features, logits = self.features(split)
                exclusion = [torch.sigmoid(h(f)).cpu().numpy() for h, f in zip(self.exclusion_heads, features)]
                confidence = [torch.softmax(h(f), dim=1).cpu().numpy()
                              for h, f in zip(self.confidence_heads, features)]
                labels = getattr(self.quant.dataset, split)[1].numpy()
                self._outputs[split] = ExitOutputs(exclusion, confidence, logits.cpu().numpy(), labels)
            return self._outputs[split]

    def costs(self) -> ExitCosts:
        """MAC and LUT-energy tables of backbone and heads, from integer weights of the trained layers."""
        features, _ = self._train
        labels = self.quant.dataset.train[1]
        stats = self.quant.reference().stats
        exclusion, confidence = [], []
        for f, ex, conf in zip(features, self.exclusion_heads, self.confidence_heads):
            exclusion.append(ex.class_stats(layer_stats(ex, batches((f, labels), STATS_BATCH), self.device)))
            confidence.append(layer_stats(conf, batches((f, labels), STATS_BATCH), self.device))
        tables = {}
        for unit, measure in (("macs", macs), ("energy_J", partial(energy_per_inference, self.lut))):
            backbone = backbone_costs(stats, self.positions, measure, self.children)
            tables[f"exclusion_{unit}"] = exclusion_table(backbone, exclusion, measure)
            tables[f"confidence_{unit}"] = confidence_table(backbone, confidence, self.n_classes, measure)
        return ExitCosts(**tables)
