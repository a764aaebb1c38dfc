"""The training loop shared by every trainable model: seeded, device-aware, with a progress
bar, a validation split and early stopping on the validation loss."""

from __future__ import annotations

import copy
import random
import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import torch

from .. import defaults
from ..errors import UsageError
from ..progress import progress_bar


def pick_device(device: str = "auto") -> torch.device:
    """``auto`` is CUDA when a GPU is visible, else the CPU."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device not in ("cpu", "cuda") and not device.startswith("cuda:"):
        raise UsageError(f"unknown device {device!r}; use auto, cpu or cuda", option="device")
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise UsageError("{device:cuda} was asked for but no CUDA GPU is visible; use "
                         "{device:auto} or cpu", option="device")
    return torch.device(device)


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2 ** 32)
    torch.manual_seed(seed)


@dataclass
class TrainReport:
    epochs_run: int = 0
    best_epoch: int = 0
    kept_epoch: int = 0              # the epoch whose weights the model has at the end
    best_val_loss: float | None = None
    final_train_loss: float | None = None
    seconds: float = 0.0
    prepare_seconds: float = 0.0     # featurizing, neighbours, targets: before the loop
    steps: int = 0                   # optimisation steps taken
    device: str = "cpu"
    # CPU threads the run used: with as many, the same seed trains the same model
    threads: int = 0
    stopped_early: bool = False
    train_items: int = 0
    validation_items: int = 0
    history: list = field(default_factory=list)
    teacher: dict | None = None      # semi: the teacher trained on the labelled items
    pipeline: dict | None = None     # semi documents: the label pipeline of the target bits
    objective: list = field(default_factory=list)    # per-iteration fit objective (EM, ALS)
    scores: list = field(default_factory=list)    # per-epoch score that stops the run
    score_name: str | None = None                 # what that score is

    def to_dict(self) -> dict:
        d = dict(self.__dict__)
        d["history"] = [[round(a, 4), None if b is None else round(b, 4)]
                        for a, b in self.history]
        d["objective"] = [round(v, 6) if isinstance(v, float) else v for v in self.objective]
        d["scores"] = [round(v, 4) for v in self.scores]
        return d


def train(module: torch.nn.Module, make_batch: Callable, train_rows: np.ndarray,
          val_rows: np.ndarray, *, epochs: int, batch_size: int = defaults.BATCH_SIZE,
          lr: float = defaults.LEARNING_RATE, device: torch.device, seed: int = 0,
          patience: int = defaults.PATIENCE, progress: bool = True,
          after_epoch: Callable[[], None] | None = None,
          epoch_items: int | None = None, desc: str = "training",
          stop_early: bool = True, score: Callable[[], float] | None = None,
          score_name: str = "score") -> TrainReport:
    """Fit ``module`` (which has ``loss(batch)``) with Adam; return what happened.

    ``make_batch(rows)`` builds a batch on ``device`` from row numbers. ``after_epoch``,
    if given, runs after each epoch's validation (to refresh targets that depend on the
    model). ``epoch_items``, if given, caps what one epoch visits: a fresh random sample of
    that many training rows each epoch. The weights that gave the lowest validation loss
    are restored at the end, and ``patience`` epochs without a lower one end the run; with
    ``stop_early`` False the run goes its whole length and keeps its last weights (the
    validation loss is still recorded). ``score``, if given, is called after each epoch
    (after ``after_epoch``; ``score_name`` says what it is) and takes the validation loss's
    place in stopping: ``patience`` epochs without a higher one end the run and return it
    to the weights of its highest epoch; a run that goes its whole length keeps its last
    weights (a fall shorter than the patience is not told from the score's noise).
    """
    seed_everything(seed)
    rng = np.random.default_rng(seed)
    module.to(device)
    optimizers = make_optimizers(module, lr)
    report = TrainReport(device=str(device), threads=torch.get_num_threads(),
                         score_name=score_name if score is not None else None)
    best_state, best = None, float("inf")
    start = time.perf_counter()
    bar = progress_bar(range(epochs), desc=desc, unit="epoch", disable=not progress,
               leave=False)
    for epoch in bar:
        module.train()
        order = rng.permutation(train_rows)[:epoch_items]
        total, n = 0.0, 0
        for s in range(0, len(order), batch_size):
            rows = np.sort(order[s:s + batch_size])
            loss = module.loss(make_batch(rows))
            for opt in optimizers:
                opt.zero_grad(set_to_none=True)
            loss.backward()
            for opt in optimizers:
                opt.step()
            total += float(loss.detach()) * len(rows)
            n += len(rows)
            report.steps += 1
        train_loss = total / max(n, 1)
        val_loss = evaluate_loss(module, make_batch, val_rows, batch_size * 4) \
            if len(val_rows) else None
        if after_epoch is not None:
            after_epoch()
        report.history.append((train_loss, val_loss))
        report.epochs_run = epoch + 1
        report.final_train_loss = train_loss
        if score is not None:
            report.scores.append(score())
        # lower is better: the validation loss (the training loss without one), or minus
        # the score
        key = -report.scores[-1] if score is not None else \
            val_loss if val_loss is not None else train_loss
        if key < best - 1e-6 * abs(best if np.isfinite(best) else 1):
            best, report.best_epoch = key, epoch + 1
            if stop_early:
                best_state = copy.deepcopy(module.state_dict())
        bar.set_postfix(train=f"{train_loss:.3f}",
                        val="-" if val_loss is None else f"{val_loss:.3f}", refresh=False,
                        **({"score": f"{report.scores[-1]:.3f}"}
                           if score is not None else {}))
        if stop_early and epoch + 1 - report.best_epoch >= patience:
            report.stopped_early = True
            break
    bar.close()
    report.kept_epoch = report.epochs_run
    # the best weights are kept only when stopping early; by a score, only once it stopped
    if best_state is not None and (score is None or report.stopped_early):
        module.load_state_dict(best_state)
        report.kept_epoch = report.best_epoch
    # the validation loss of the weights kept (the lowest one, when they were chosen by it)
    report.best_val_loss = report.history[report.kept_epoch - 1][1] \
        if report.kept_epoch else None
    report.seconds = time.perf_counter() - start
    module.eval()
    return report


def make_optimizers(module: torch.nn.Module, lr: float) -> list:
    """Adam for dense parameters, SparseAdam for those with sparse gradients (embedding
    bags over the vocabulary), which then update only the rows a batch used."""
    sparse = [m.weight for m in module.modules()
              if isinstance(m, (torch.nn.EmbeddingBag, torch.nn.Embedding)) and m.sparse]
    ids = {id(p) for p in sparse}
    dense = [p for p in module.parameters() if id(p) not in ids and p.requires_grad]
    opts = [_adam(dense, lr)] if dense else []
    if sparse:
        opts.append(torch.optim.SparseAdam(sparse, lr=lr))
    return opts


def _adam(params: list, lr: float) -> torch.optim.Optimizer:
    """Adam, fused into one kernel per step where this torch supports it for the
    parameters' device (CPU since torch 2.4): the same update, about 4x faster on CPU,
    which is a tenth of an image model's training step."""
    try:
        return torch.optim.Adam(params, lr=lr, fused=True)
    except (RuntimeError, TypeError, ValueError):
        return torch.optim.Adam(params, lr=lr)


@torch.no_grad()
def evaluate_loss(module, make_batch, rows, batch_size) -> float:
    """Mean loss over ``rows`` with the module in evaluation mode (deterministic bits)."""
    module.eval()
    total = 0.0
    for s in range(0, len(rows), batch_size):
        chunk = rows[s:s + batch_size]
        total += float(module.loss(make_batch(chunk))) * len(chunk)
    return total / max(len(rows), 1)
