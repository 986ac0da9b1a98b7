"""The one training loop (float, quantization-aware and fine-tuning alike) and accuracy measurement."""

from __future__ import annotations

from collections.abc import Iterator

import torch
from torch import nn

from studies.data import Split


def batches(split: Split, batch_size: int, generator: torch.Generator | None = None) -> Iterator[Split]:
    """Mini-batches of a (features, labels) split, shuffled when a generator is given."""
    x, y = split
    order = torch.randperm(len(y), generator=generator) if generator is not None else torch.arange(len(y))
    for start in range(0, len(y), batch_size):
        index = order[start:start + batch_size]
        yield x[index], y[index]


OPTIMIZERS = ("adam", "sgd")
SGD_MOMENTUM = 0.9


def train(model: nn.Module, split: Split, epochs: int, lr: float, batch_size: int, seed: int,
          weight_decay: float = 0.0, device: str = "cpu", loss_fn: nn.Module | None = None,
          optimizer: str = "adam") -> nn.Module:
    """Adam (or SGD with momentum 0.9) on `loss_fn` (default cross-entropy) for `epochs` passes over `split`;
    batch order follows `seed`."""
    model.to(device).train()
    if optimizer == "sgd":
        solver = torch.optim.SGD(model.parameters(), lr=lr, momentum=SGD_MOMENTUM, weight_decay=weight_decay)
    else:
        solver = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=weight_decay)
    loss_fn = loss_fn if loss_fn is not None else nn.CrossEntropyLoss()
    generator = torch.Generator().manual_seed(seed)
    for _ in range(epochs):
        for x, y in batches(split, batch_size, generator):
            solver.zero_grad()
            loss_fn(model(x.to(device)), y.to(device)).backward()
            solver.step()
    return model.eval()


@torch.no_grad()
def accuracy(model: nn.Module, split: Split, batch_size: int = 512, device: str = "cpu") -> float:
    """Share of correctly classified samples of `split`, in percent."""
    model.eval()
    correct = 0
    for x, y in batches(split, batch_size):
        correct += int((model(x.to(device)).argmax(dim=1).cpu() == y).sum())
    return 100.0 * correct / max(len(split[1]), 1)
