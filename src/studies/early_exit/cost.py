"""Cost of inference with exits: the backbone layers an image actually ran, plus the exit heads it ran.

An image leaving at exit e paid the backbone up to e, the heads of every exit
up to and including e, and nothing after. At an exclusion exit whose β
rule looks only at the classes still possible, only their networks run, so
those heads cost per class; a softmax classifier, or exclusion heads whose
rule needs every class, runs whole, at a fixed cost. The same tables serve any
unit: MACs (`costmodel.macs`) or energy from a LUT (`costmodel.energy_per_inference`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from dse.costmodel import LayerStats
from studies.early_exit.exclusion import ExitOutcome

Measure = Callable[[Sequence[LayerStats]], float]


@dataclass(frozen=True)
class CostTable:
    """Costs of a network with E exits and C classes, in one unit.

    `backbone[e]` is the backbone up to exit e and `backbone[E]` the whole
    backbone with its final classifier; `per_class[e, c]` is class c's
    exclusion network at exit e; `fixed[e]` what exit e costs whatever the classes.
    """

    backbone: np.ndarray
    per_class: np.ndarray
    fixed: np.ndarray

    def per_image(self, outcome: ExitOutcome) -> np.ndarray:
        """What each image of `outcome` cost."""
        heads = np.einsum("nec,ec->n", outcome.candidates, self.per_class)
        return self.backbone[outcome.exit_index] + heads + outcome.reached @ self.fixed

    def whole_heads(self) -> CostTable:
        """The table where every class network runs at every exit reached (the β rule relative to all classes)."""
        return CostTable(self.backbone, np.zeros_like(self.per_class), self.fixed + self.per_class.sum(axis=1))

    def select(self, exits: Sequence[int]) -> CostTable:
        """The table of a network keeping only the exits numbered `exits` (0-based, ascending) of this one."""
        index = list(exits)
        return CostTable(self.backbone[[*index, -1]], self.per_class[index], self.fixed[index])


def backbone_costs(stats: Sequence[LayerStats], positions: Sequence[int], measure: Measure,
                   children: Sequence[str]) -> np.ndarray:
    """Cost of the backbone children before each position, then of the whole backbone; `children` are the
    backbone's child names in order, a layer belonging to the child its module name starts with ("conv2" or
    "block1_1.conv1")."""
    index = {name: k for k, name in enumerate(children)}
    top = [index[s.name.split(".")[0]] for s in stats]
    prefix = [measure([s for s, t in zip(stats, top) if t < k]) for k in positions]
    return np.array([*prefix, measure(stats)], dtype=float)


def exclusion_table(backbone: np.ndarray, heads: Sequence[Sequence[Sequence[LayerStats]]],
                    measure: Measure) -> CostTable:
    """Table of exclusion exits; `heads[e][c]` are the layers of class c's network at exit e."""
    per_class = np.array([[measure(layers) for layers in exit_heads] for exit_heads in heads], dtype=float)
    return CostTable(np.asarray(backbone, dtype=float), per_class, np.zeros(len(heads)))


def confidence_table(backbone: np.ndarray, heads: Sequence[Sequence[LayerStats]], n_classes: int,
                     measure: Measure) -> CostTable:
    """Table of softmax exits; `heads[e]` are the layers of exit e's classifier."""
    fixed = np.array([measure(layers) for layers in heads], dtype=float)
    return CostTable(np.asarray(backbone, dtype=float), np.zeros((len(heads), n_classes)), fixed)
