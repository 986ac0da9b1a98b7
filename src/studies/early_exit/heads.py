"""Exit points of a sequential backbone and the small networks attached there.

An exit point sits before a child of the backbone's nn.Sequential that does
multiply-accumulates, once at least one earlier child did: exit 1 follows the
first MAC layer (and its activation and pooling), and so on. The heads see
the backbone's features there, average-pooled to a small map when they are
convolutional, flattened. `HEAD_DEFAULTS` are the head settings of a study's
[space] table: units per class network, units of the baseline's classifier,
the pooled map size and the training epochs.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from dse.costmodel import LayerStats
from studies.errors import StudiesError

HEAD_DEFAULTS = {"hidden": 4, "confidence_hidden": 32, "head_pool": 2, "head_epochs": 60}


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
    """One class-exclusion network per class: Linear(F, h) → ReLU → Linear(h, 1), sigmoid on the output.

    The networks share no weights; they are laid out as one Linear(F, C·h)
    holding every class's first layer (rows c·h to c·h+h are class c's) and
    one grouped 1×1 convolution holding every class's second layer (group c),
    so they train together and `studies.quant` quantizes them like any net.
    `forward` returns the C logits; the probabilities are their sigmoids.
    """

    def __init__(self, n_features: int, n_classes: int, hidden: int):
        super().__init__()
        self.n_classes = n_classes
        self.width = hidden
        self.hidden = nn.Linear(n_features, n_classes * hidden)
        self.out = nn.Conv2d(n_classes * hidden, n_classes, 1, groups=n_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(F.relu(self.hidden(x))[:, :, None, None]).flatten(1)

    def class_stats(self, stats: Sequence[LayerStats]) -> list[list[LayerStats]]:
        """Split the heads' two layer statistics (from `studies.quant.layer_stats`) into one pair per class."""
        by_name = {s.name: s for s in stats}
        first, second = by_name["hidden"].weights, by_name["out"].weights
        h = self.width
        return [[LayerStats(f"hidden[{c}]", first[c * h:(c + 1) * h], 1),
                 LayerStats(f"out[{c}]", second[c], 1)] for c in range(self.n_classes)]


class ExclusionLoss(nn.Module):
    """Binary cross-entropy of each class network against "the image is of this class".

    Positives are weighted by C - 1, so each network's one positive class
    weighs as much as its C - 1 negative ones together.
    """

    def forward(self, logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        targets = F.one_hot(labels, logits.shape[1]).to(logits.dtype)
        positive_weight = torch.full((logits.shape[1],), logits.shape[1] - 1.0, device=logits.device)
        return F.binary_cross_entropy_with_logits(logits, targets, pos_weight=positive_weight)


def confidence_classifier(n_features: int, n_classes: int, hidden: int) -> nn.Sequential:
    """The baseline's exit branch: Linear(F, hidden) → ReLU → Linear(hidden, C), read through a softmax."""
    return nn.Sequential(nn.Linear(n_features, hidden), nn.ReLU(), nn.Linear(hidden, n_classes))
