"""The iterative pruning loop: evaluate the criterion, remove the lowest-ranked outputs, fine-tune, repeat.

The network first trains `regularize_epochs` under the pruning loss (see
`regularizers`), then each round removes outputs and fine-tunes
`finetune_epochs`. How many go per round is the `schedule`:

- "ratio": over `iterations` rounds the target grows linearly to `ratio`
  (or to `layer_ratios`, one per prunable layer);
- "floor" (the authors' loop): every round removes `step` of the outputs
  left, for at most `iterations` rounds; with a global `scope` the ranking
  decides how much each layer loses;
- `layer_widths`, outputs kept per layer after each round, replaces both
  (it replays another run's rounds, so criteria compare at equal size).

A round whose fine-tuned accuracy falls below `min_accuracy` is undone and
ends the loop. Every criterion (class-aware, magnitude, random) runs through
the same rounds and training, so they compare at equal budgets.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from torch import nn

from studies.data import Dataset
from studies.errors import StudiesError
from studies.pruning.baselines import Keys, magnitude_keys, random_keys
from studies.pruning.regularizers import RegularizedLoss
from studies.pruning.scores import AUTHORS_IMAGES_PER_CLASS, AUTHORS_TAU, class_aware_keys
from studies.pruning.surgery import PrunableUnit, prunable_units, remove_outputs, widths
from studies.training import QUIET, Progress, train

METHODS = ("class-aware", "magnitude", "random")
SCOPES = ("global", "layer")
SCHEDULES = ("ratio", "floor")


@dataclass(frozen=True)
class PruningPlan:
    """One pruning setting.

    `schedule` "ratio": `ratio` is the share of all prunable outputs removed
    after `iterations` rounds, ranked across layers (`scope` "global") or the
    same share in every layer ("layer"); `layer_ratios`, one per prunable
    layer, replaces both. `schedule` "floor": each round removes `step` of the
    outputs left, for at most `iterations` rounds, until the accuracy floor.
    `layer_widths` (outputs kept per prunable layer after each round)
    replaces the schedule. `score` ("sum-max", "max-sum" or "class-taylor", see `scores`),
    `tau` (Taylor threshold) and `images_per_class` (0: all) set the
    class-aware criterion; `lambda1` and `lambda2` weigh the L1 term (over
    `l1_scope`) and the orthogonality term (in its `orthogonality` form);
    `min_accuracy` is the floor in percent.
    """

    method: str = "class-aware"
    schedule: str = "ratio"
    ratio: float = 0.5
    step: float = 0.1
    scope: str = "global"
    layer_ratios: tuple[float, ...] | None = None
    layer_widths: tuple[tuple[int, ...], ...] | None = None
    iterations: int = 3
    score: str = "sum-max"
    tau: float = AUTHORS_TAU
    images_per_class: int = AUTHORS_IMAGES_PER_CLASS
    lambda1: float = 0.0
    lambda2: float = 0.0
    l1_scope: str = "parameters"
    orthogonality: str = "conv"
    regularize_epochs: int = 5
    finetune_epochs: int = 3
    min_accuracy: float | None = None

    @property
    def rounds(self) -> int:
        """Most pruning rounds: one per entry of `layer_widths`, else `iterations`."""
        return len(self.layer_widths) if self.layer_widths is not None else self.iterations


@dataclass(frozen=True)
class Training:
    """Optimizer ("adam" or "sgd", see `studies.training.train`) and its settings, seed and device of every
    training call in the loop, and how training reports and stops."""

    lr: float
    batch_size: int
    seed: int
    weight_decay: float = 0.0
    device: str = "cpu"
    optimizer: str = "adam"
    progress: Progress = QUIET


@dataclass(frozen=True)
class PruneStep:
    """The outputs left per unit and the accuracy after one round."""

    iteration: int
    widths: dict[str, int]
    accuracy: float


@dataclass(frozen=True)
class PruneResult:
    """The pruned network, the regularized network it started from, and what was kept of each unit.

    `kept[name]` lists the original indices of the unit's remaining outputs.
    `stopped_by` is "ratio" (the target reached), "rounds" (the last round done) or "accuracy floor".
    """

    model: nn.Module
    start: nn.Module
    units: list[PrunableUnit]
    original: dict[str, int]
    kept: dict[str, np.ndarray]
    steps: list[PruneStep]
    stopped_by: str
    accuracy: float

    @property
    def pruned_fraction(self) -> float:
        """Share of the prunable outputs removed."""
        total = sum(self.original.values())
        return 1.0 - sum(len(k) for k in self.kept.values()) / total


def prune_iteratively(model: nn.Module, dataset: Dataset, plan: PruningPlan, training: Training,
                      evaluate: Callable[[nn.Module], float]) -> PruneResult:
    """Prune a copy of `model` as `plan` says; `evaluate` gives the accuracy (%) the floor is checked on."""
    units = prunable_units(model)
    if not units:
        raise StudiesError("the network has no prunable layer (it needs a MAC layer followed by another)")
    for given, what in ((plan.layer_ratios, "layer ratios"), *((w, "layer widths") for w in plan.layer_widths or ())):
        if given is not None and len(given) != len(units):
            raise StudiesError(f"{len(given)} {what} for {len(units)} prunable layers "
                               f"({', '.join(u.name for u in units)})")
    model = _fit(copy.deepcopy(model), units, dataset, plan, training, plan.regularize_epochs, training.seed,
                 "regularize")
    start = copy.deepcopy(model)
    original = widths(model, units)
    kept = {name: np.arange(width) for name, width in original.items()}
    accuracy = evaluate(model)
    steps: list[PruneStep] = []
    stopped_by = "ratio" if plan.schedule == "ratio" and plan.layer_widths is None else "rounds"
    for iteration in range(1, plan.rounds + 1):
        keys = ranking_keys(plan, model, units, dataset, training, iteration)
        target = cumulative_target(plan, original, widths(model, units), iteration)
        removals = choose_removals(keys, original, target)
        keep_now = {name: np.setdiff1d(np.arange(len(keys[name])), removed)
                    for name, removed in removals.items() if len(removed)}
        if not keep_now:
            continue
        candidate = remove_outputs(model, units, keep_now)
        candidate = _fit(candidate, units, dataset, plan, training, plan.finetune_epochs, training.seed + iteration,
                         f"pruning round {iteration}/{plan.rounds}: fine-tune")
        candidate_accuracy = evaluate(candidate)
        if plan.min_accuracy is not None and candidate_accuracy < plan.min_accuracy:
            stopped_by = "accuracy floor"
            break
        model, accuracy = candidate, candidate_accuracy
        kept = {name: kept[name][keep_now[name]] if name in keep_now else kept[name] for name in kept}
        steps.append(PruneStep(iteration, widths(model, units), accuracy))
    return PruneResult(model, start, units, original, kept, steps, stopped_by, accuracy)


def _fit(model: nn.Module, units: list[PrunableUnit], dataset: Dataset, plan: PruningPlan, training: Training,
         epochs: int, seed: int, label: str) -> nn.Module:
    if epochs == 0:
        return model
    loss = RegularizedLoss(model, units, plan.lambda1, plan.lambda2, plan.l1_scope, plan.orthogonality)
    return train(model, dataset.train, epochs, training.lr, training.batch_size, seed, training.weight_decay,
                 training.device, loss_fn=loss, progress=training.progress, label=label,
                 optimizer=training.optimizer)


def ranking_keys(plan: PruningPlan, model: nn.Module, units: list[PrunableUnit], dataset: Dataset,
                 training: Training, iteration: int) -> Keys:
    """The plan's criterion evaluated on the current network (class scores on the training part)."""
    if plan.method == "class-aware":
        return class_aware_keys(model, units, dataset.train, dataset.n_classes, plan.score, plan.tau,
                                plan.images_per_class, training.device, training.progress,
                                f"pruning round {iteration}/{plan.rounds}: class scores")
    if plan.method == "magnitude":
        return magnitude_keys(model, units)
    if plan.method == "random":
        return random_keys(model, units, training.seed + iteration)
    raise StudiesError(f"unknown pruning method {plan.method!r} (known: {', '.join(METHODS)})")


def cumulative_target(plan: PruningPlan, original: dict[str, int], current: dict[str, int],
                      iteration: int) -> dict[str, int] | int:
    """Outputs pruned in total after round `iteration`: per unit, or one number for a global ranking.

    `original` and `current` are the units' widths before the first round and now."""
    if plan.layer_widths is not None:
        return {name: w - kept for (name, w), kept in zip(original.items(), plan.layer_widths[iteration - 1])}
    if plan.schedule == "floor":
        pruned = {name: original[name] - current[name] for name in original}
        if plan.scope == "layer":
            return {name: pruned[name] + math.ceil(plan.step * current[name]) for name in original}
        return sum(pruned.values()) + math.ceil(plan.step * sum(current.values()))
    share = iteration / plan.iterations
    if plan.layer_ratios is not None:
        return {name: round(r * w * share) for (name, w), r in zip(original.items(), plan.layer_ratios)}
    if plan.scope == "layer":
        return {name: round(plan.ratio * w * share) for name, w in original.items()}
    return round(plan.ratio * sum(original.values()) * share)


def choose_removals(keys: Keys, original: dict[str, int], target: dict[str, int] | int) -> dict[str, np.ndarray]:
    """Indices (into each unit's current outputs) to remove so that `target` outputs are pruned in total.

    Smallest keys go first (primary, then secondary, then index); every unit keeps at least one output.
    """
    current = {name: len(k) for name, k in keys.items()}
    if isinstance(target, dict):
        removals = {}
        for name, k in keys.items():
            need = min(max(target[name] - (original[name] - current[name]), 0), current[name] - 1)
            removals[name] = np.sort(_order(k)[:need])
        return removals
    need = target - (sum(original.values()) - sum(current.values()))
    names = list(keys)
    unit = np.concatenate([np.full(len(keys[n]), i) for i, n in enumerate(names)])
    index = np.concatenate([np.arange(len(keys[n])) for n in names])
    stacked = np.concatenate([keys[n] for n in names])
    left = dict(current)
    chosen: dict[str, list[int]] = {name: [] for name in names}
    for position in np.lexsort((unit, index, stacked[:, 1], stacked[:, 0])):
        if need <= 0:
            break
        name = names[unit[position]]
        if left[name] > 1:
            chosen[name].append(int(index[position]))
            left[name] -= 1
            need -= 1
    return {name: np.sort(np.array(c, dtype=np.int64)) for name, c in chosen.items()}


def _order(keys: np.ndarray) -> np.ndarray:
    return np.lexsort((np.arange(len(keys)), keys[:, 1], keys[:, 0]))
