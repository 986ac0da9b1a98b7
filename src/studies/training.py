"""The one training loop (float, quantization-aware and fine-tuning alike) and accuracy measurement."""

from __future__ import annotations

import math
import threading
from collections.abc import Iterator
from dataclasses import dataclass

import torch
from torch import nn
from tqdm.auto import tqdm

from dse.errors import Stopped
from studies.data import Split


@dataclass(frozen=True)
class Progress:
    """How long work reports and stops: `show` draws a progress bar (stderr) per training run; setting `stop`
    ends the work at its next check (every training batch) with `dse.errors.Stopped`."""

    show: bool = False
    stop: threading.Event | None = None

    def check(self) -> None:
        """Raise Stopped when the stop event is set."""
        if self.stop is not None and self.stop.is_set():
            raise Stopped("stopped on request")

    def bar(self, label: str, total: int, unit: str = "batch") -> tqdm:
        """A progress bar that disappears when done (drawn only when `show`)."""
        return tqdm(total=total, desc=label, unit=unit, leave=False, disable=not self.show, dynamic_ncols=True)


QUIET = Progress()


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
          progress: Progress = QUIET, label: str = "training", optimizer: str = "adam") -> nn.Module:
    """Adam (or SGD with momentum 0.9, `optimizer` "sgd") on `loss_fn` (default cross-entropy) for `epochs`
    passes over `split`; batch order follows `seed`.

    With `progress.show`, a bar named `label` shows the epoch and the epoch's running mean loss and training
    accuracy (%, argmax of the outputs, or of the first output of a model that returns several, such as a
    network with exits); a set `progress.stop` raises Stopped before the next batch.
    """
    model.to(device).train()
    if optimizer == "sgd":
        solver = torch.optim.SGD(model.parameters(), lr=lr, momentum=SGD_MOMENTUM, weight_decay=weight_decay)
    else:
        solver = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=weight_decay)
    loss_fn = loss_fn if loss_fn is not None else nn.CrossEntropyLoss()
    generator = torch.Generator().manual_seed(seed)
    with progress.bar(label, epochs * math.ceil(len(split[1]) / batch_size)) as bar:
        for epoch in range(1, epochs + 1):
            loss_sum, correct, seen = 0.0, 0, 0
            for x, y in batches(split, batch_size, generator):
                progress.check()
                x, y = x.to(device), y.to(device)
                solver.zero_grad()
                outputs = model(x)
                loss = loss_fn(outputs, y)
                loss.backward()
                solver.step()
                if progress.show:
                    loss_sum += float(loss.detach()) * len(y)
                    final = outputs[0] if isinstance(outputs, tuple) else outputs
                    correct += int((final.argmax(dim=1) == y).sum())
                    seen += len(y)
                    bar.set_postfix_str(f"epoch {epoch}/{epochs}, loss {loss_sum / seen:.4f}, "
                                        f"accuracy {100.0 * correct / seen:.1f} %", refresh=False)
                bar.update()
    return model.eval()


@torch.no_grad()
def accuracy(model: nn.Module, split: Split, batch_size: int = 512, device: str = "cpu") -> float:
    """Share of correctly classified samples of `split`, in percent."""
    model.eval()
    correct = 0
    for x, y in batches(split, batch_size):
        correct += int((model(x.to(device)).argmax(dim=1).cpu() == y).sum())
    return 100.0 * correct / max(len(split[1]), 1)
