"""Exit points of a sequential backbone, the small networks attached there, and their training losses.

An exit point sits before a child of the backbone's nn.Sequential that does
multiply-accumulates, once at least one earlier child did: exit 1 follows the
first MAC layer (and its activation and pooling, i.e. the first conv block),
and so on. The heads see the backbone's features there, average-pooled to a
small map when they are convolutional, flattened. `HEAD_DEFAULTS` are the head
settings of a study's [space] table: hidden units per class network and of the
baseline's classifier (0: one linear layer, as the authors' heads), the pooled
map size, the epochs of heads trained on a frozen backbone, and the weight of
positives in the exclusion loss (a multiple of C - 1).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from dse.costmodel import LayerStats
from studies.errors import StudiesError

HEAD_DEFAULTS = {"hidden": 0, "confidence_hidden": 0, "head_pool": 2, "head_epochs": 60, "pos_weight": 4.0}


def has_macs(module: nn.Module) -> bool:
    """True when `module` holds a Linear or Conv2d layer."""
    return any(isinstance(m, (nn.Linear, nn.Conv2d)) for m in module.modules())


def exit_positions(backbone: nn.Module) -> list[int]:
    """Indices k of the backbone's children where an exit may sit: child k does MACs and so did one before it."""
    if not isinstance(backbone, nn.Sequential):
        raise StudiesError(f"early exits need an nn.Sequential backbone, got {type(backbone).__name__}")
    macs = [has_macs(child) for child in backbone]
    return [k for k in range(1, len(macs)) if macs[k] and any(macs[:k])]


@torch.no_grad()
def tap(backbone: nn.Sequential, x: torch.Tensor, positions: Sequence[int]) -> tuple[list[torch.Tensor], torch.Tensor]:
    """The backbone's features entering each child in `positions`, and its output (the final logits)."""
    wanted = set(positions)
    features = {}
    for k, child in enumerate(backbone):
        if k in wanted:
            features[k] = x
        x = child(x)
    return [features[k] for k in positions], x


def pool_features(features: torch.Tensor, size: int) -> torch.Tensor:
    """Flat head inputs: N×C×H×W maps averaged down to at most size×size first; other shapes only flattened."""
    if features.dim() == 4:
        features = F.adaptive_avg_pool2d(features, (min(size, features.shape[2]), min(size, features.shape[3])))
    return features.flatten(1)


class ExclusionHeads(nn.Module):
    """One class-exclusion network per class, sigmoid on each output.

    With `hidden` = 0 class c's network is row c of one Linear(F, C), the
    authors' head. Otherwise it is Linear(F, h) → ReLU → Linear(h, 1), the
    networks sharing no weights: one Linear(F, C·h) holds every class's first
    layer (rows c·h to c·h+h are class c's) and one grouped 1×1 convolution
    every class's second layer (group c), so they train together and
    `studies.quant` quantizes them like any net. `forward` returns the C logits.
    """

    def __init__(self, n_features: int, n_classes: int, hidden: int):
        super().__init__()
        self.n_classes = n_classes
        self.width = hidden
        if hidden:
            self.hidden = nn.Linear(n_features, n_classes * hidden)
            self.out: nn.Module = nn.Conv2d(n_classes * hidden, n_classes, 1, groups=n_classes)
        else:
            self.out = nn.Linear(n_features, n_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.width:
            return self.out(x)
        return self.out(F.relu(self.hidden(x))[:, :, None, None]).flatten(1)

    def class_stats(self, stats: Sequence[LayerStats]) -> list[list[LayerStats]]:
        """Split the heads' layer statistics (from `studies.quant.layer_stats`) into each class's layers."""
        by_name = {s.name: s for s in stats}
        second = by_name["out"].weights
        if not self.width:
            return [[LayerStats(f"out[{c}]", second[c], 1)] for c in range(self.n_classes)]
        first, h = by_name["hidden"].weights, self.width
        return [[LayerStats(f"hidden[{c}]", first[c * h:(c + 1) * h], 1),
                 LayerStats(f"out[{c}]", second[c], 1)] for c in range(self.n_classes)]


class ExclusionLoss(nn.Module):
    """Binary cross-entropy of each class network against "the image is of this class".

    Positives are weighted by `pos_weight` · (C - 1): at 1 each network's one
    positive class weighs as much as its C - 1 negative ones together; the
    authors train with 4 (36 for ten classes).
    """

    def __init__(self, pos_weight: float = 4.0):
        super().__init__()
        self.pos_weight = pos_weight

    def forward(self, logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        n_classes = logits.shape[1]
        targets = F.one_hot(labels, n_classes).to(logits.dtype)
        positive_weight = torch.full((n_classes,), self.pos_weight * (n_classes - 1.0), device=logits.device)
        return F.binary_cross_entropy_with_logits(logits, targets, pos_weight=positive_weight)


def confidence_classifier(n_features: int, n_classes: int, hidden: int) -> nn.Sequential:
    """The baseline's exit branch, read through a softmax: Linear(F, C), or with `hidden` units
    Linear(F, hidden) → ReLU → Linear(hidden, C)."""
    if not hidden:
        return nn.Sequential(nn.Linear(n_features, n_classes))
    return nn.Sequential(nn.Linear(n_features, hidden), nn.ReLU(), nn.Linear(hidden, n_classes))


class ExitNetwork(nn.Module):
    """A sequential backbone with a head before each child in `positions`, on pooled features.

    `forward` returns the final logits and the list of head logits, so
    backbone and heads can train together (`JointExitLoss`).
    """

    def __init__(self, backbone: nn.Sequential, positions: Sequence[int], heads: Sequence[nn.Module], head_pool: int):
        super().__init__()
        if len(positions) != len(heads):
            raise ValueError(f"{len(positions)} exit positions but {len(heads)} heads")
        self.backbone = backbone
        self.heads = nn.ModuleList(heads)
        self.positions = list(positions)
        self.head_pool = head_pool

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        head_at = dict(zip(self.positions, self.heads))
        exits = []
        for k, child in enumerate(self.backbone):
            if k in head_at:
                exits.append(head_at[k](pool_features(x, self.head_pool)))
            x = child(x)
        return x, exits


class JointExitLoss(nn.Module):
    """The authors' joint training loss: CE of the final classifier + Σ_i 1/(N − i + 1) · loss of head i.

    i = 0 … N−1 counts the N exits from the input on (as in the authors'
    code), so the first head weighs 1/(N+1) and the last 1/2. The head loss is
    `ExclusionLoss` for class-exclusion heads and cross-entropy for softmax ones.
    """

    def __init__(self, head_loss: nn.Module):
        super().__init__()
        self.head_loss = head_loss

    def forward(self, output: tuple[torch.Tensor, list[torch.Tensor]], labels: torch.Tensor) -> torch.Tensor:
        final, exits = output
        loss = F.cross_entropy(final, labels)
        for i, logits in enumerate(exits):
            loss = loss + self.head_loss(logits, labels) / (len(exits) - i + 1)
        return loss
