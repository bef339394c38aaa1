"""Full-batch batched trainer: every split x grid point of a dataset at once, to convergence.

Why not stop at the best validation epoch: the spred reparametrisation reaches exact zeros
only as training converges, so an early snapshot can keep almost every gene. A model here
is finished when (a) its active set -- the genes whose score exceeds the threshold -- has not
changed for ``stable_checks`` consecutive checks (the paper's appendix A.1 judges convergence
by the zero rate settling), (b) its objective (loss plus penalty) changed by less than
``rel_tol`` (relative) over the last check interval, so the surviving weights have stopped
shrinking too, and (c) its validation accuracy has not risen for ``patience`` epochs (the
paper's stopping rule). A model that reaches ``max_epochs`` first is kept but
flagged ``converged = False`` and is chosen only when no converged model exists. A model
whose loss or weights become NaN/inf is restarted from the same initialisation with a step ten
times smaller, up to ``max_restarts`` times (a backtracking rule: the step follows the data, e.g.
tens of thousands of probes need a smaller one); one that still diverges is flagged ``diverged``
and never chosen. The step each model finally used is recorded (``GridResult.lr_used``).

Here: the settings, the result and the grid cut into chunks that fit the memory budget; one chunk's epoch
loop, checks and stopping rules are in :mod:`genesel.train_chunk`.
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import torch

from genesel.device import resolve_device
from genesel.models import BatchedNet, HeldOutPredictions, make_architecture, parameter_count, training_bytes
from genesel.signal import NO_MODEL, SignalTested, ValidationScores, class_prior
from genesel.train_chunk import Sink, train_chunk

PAPER_GRID = (0.7, 0.5, 0.3, 0.1, 0.05, 0.03, 0.01)

log = logging.getLogger(__name__)


@dataclass
class TrainConfig:
    """Settings of the batched trainer (paper defaults where the paper gives one)."""

    variant: str = "spred"
    hidden: int | None = None  # None: 1024 for spred, 4096 for the MLPs
    lrs: tuple[float, ...] = PAPER_GRID
    kappas: tuple[float, ...] = PAPER_GRID
    max_epochs: int = 3000
    min_epochs: int = 100
    check_every: int = 10
    stable_checks: int = 10
    patience: int = 100
    rel_tol: float = 1e-4
    optimizer: str = "sgd"  # "sgd" (the paper's) or "adam"
    momentum: float = 0.9  # heavy ball for sgd; 0 gives the paper's plain SGD (slower to converge)
    warmup_epochs: int = 0  # kappa ramps up linearly from 0 over these epochs
    threshold: float = 1e-3
    other_decay: float = 1e-5
    device: str = "auto"
    memory_budget_gb: float | None = None
    seed: int = 0
    tf32: bool = True
    prune: bool = True  # drop genes dead in every model of a chunk from the computation
    max_restarts: int = 2  # a diverged model restarts with lr / 10 this many times
    # early stopping (for the MLP baselines): a model stops once its validation loss (checked every
    # ``check_every`` epochs, from ``min_epochs`` on) has not fallen by ``min_delta`` (nats) for ``patience``
    # epochs, and keeps the weights of its lowest-validation-loss check, instead of training to the settled
    # active set above; every model that did not diverge is then a candidate. Not for spred: its zeros need
    # convergence
    early_stopping: bool = False
    min_delta: float = 1e-3
    # the test over splits of the chosen models' validation accuracy gain over the majority class
    # (genesel.signal); above this p-value every split predicts the majority class, its genes marked as noise.
    # None (default: the grid reproduces the paper's protocol, which has no such test): off
    signal_alpha: float | None = None
    signal_permutations: int = 999


    def grid(self) -> list[tuple[float, float]]:
        """(lr, kappa) pairs in a fixed order."""
        return [(lr, k) for lr in self.lrs for k in self.kappas]


def _memory_budget(device: torch.device, budget_gb: float | None) -> int:
    if budget_gb is not None:
        return int(budget_gb * 2**30)
    if device.type == "cuda":
        free, _ = torch.cuda.mem_get_info(device)
        return int(0.6 * free)
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError):
        total = 8 * 2**30
    return int(0.25 * total)


@dataclass
class GridResult(SignalTested, HeldOutPredictions):
    """Everything the trainer learnt, indexed ``[split, grid point]``; test accuracy comes from
    :meth:`accuracy` with the test labels, which the trainer never sees."""

    grid: list[tuple[float, float]]
    lr_used: np.ndarray  # (S, G): the grid's lr, divided by 10 per restart after a divergence
    val_acc: np.ndarray  # (S, G)
    head_test_proba: dict[str, np.ndarray]  # "linear" / "mlp" -> (S, G, n_test, C), NaN where a head is absent
    n_selected: np.ndarray  # (S, G)
    epochs: np.ndarray  # (S, G)
    converged: np.ndarray  # (S, G) bool
    diverged: np.ndarray  # (S, G) bool
    seconds: np.ndarray  # (S, G) share of the chunk's wall time
    scores: np.ndarray  # (S, G, p) gene scores of the final model
    test_proba: np.ndarray  # (S, G, n_test, C)
    device: str
    #: (S, G, p) the linear head's share of each gene's squared first-layer weights (NaN where a gene
    #: has none, or the model has one head only)
    linear_share: np.ndarray | None = None
    history: pd.DataFrame = field(default_factory=pd.DataFrame)
    models: dict[tuple[int, int], BatchedNet] = field(default_factory=dict)  # (split, grid) -> net, if kept
    # for the test over splits (genesel.signal.SignalTested): validation probabilities, labels, class prior
    val_proba: np.ndarray | None = None  # (S, G, n_val, C)
    y_val: np.ndarray | None = None  # (S, n_val)
    prior: np.ndarray | None = None  # (S, C): training class frequencies
    n_train: int = 0
    signal_alpha: float | None = None
    signal_permutations: int = 999
    seed: int = 0
    #: (S, G) the epoch whose weights a model kept: its last, or with early stopping its best-validation-loss check
    best_epoch: np.ndarray | None = None
    early_stopping: bool = False

    def choose_per_split(self, scores: ValidationScores | None = None) -> np.ndarray:
        """Per split, the grid index with the best validation accuracy among converged,
        non-diverged models; ties go to fewer genes, then larger kappa, then smaller lr.
        Falls back to unconverged models only when a split has no converged one (with early stopping, every
        model that did not diverge is a candidate, its weights those of its best check); a split where
        every grid point diverged gets :data:`NO_MODEL`. From ``scores`` (``(..., S, G)``, a leading
        axis of permutations), by default the recorded validation accuracy; :meth:`choose` then
        applies the test over splits."""
        acc = self.val_acc if scores is None else scores.acc
        # with early stopping, a model its epoch budget cut while it still improved is as good a candidate
        ok = ~self.diverged if self.early_stopping else self.converged & ~self.diverged
        ok = np.where(ok.any(1, keepdims=True), ok, ~self.diverged)
        full = lambda a: np.broadcast_to(a, acc.shape)  # noqa: E731
        lrs, kappas = np.array([g[0] for g in self.grid]), np.array([g[1] for g in self.grid])
        keys = (full(lrs), full(-kappas), full(self.n_selected), -np.nan_to_num(acc, nan=-1.0), full(~ok))
        chosen = np.lexsort(keys, axis=-1)[..., 0]
        return np.where(ok.any(1), chosen, NO_MODEL)


def _as_tensor(a, device, dtype=torch.float32) -> torch.Tensor:
    return torch.as_tensor(np.ascontiguousarray(a), device=device, dtype=dtype)


def train_grid(
    X_train: np.ndarray,
    y_train: np.ndarray,
    X_val: np.ndarray,
    y_val: np.ndarray,
    X_test: np.ndarray | None,
    n_classes: int,
    config: TrainConfig | None = None,
    keep_models: bool = False,
) -> GridResult:
    """Train ``config.variant`` for every split (leading axis of the stacked arrays) and
    every (lr, kappa) of the grid, batched and chunked to the memory budget.

    Arrays: ``X_* (S, n_part, p)`` float, ``y_* (S, n_part)`` int class codes. Test arrays are
    only predicted (``None``: none); their labels never enter the trainer.
    ``keep_models`` keeps every finished network (on the CPU) in ``GridResult.models``.
    """
    config = config or TrainConfig()
    device = resolve_device(config.device)
    if device.type == "cuda" and config.tf32:
        torch.backends.cuda.matmul.allow_tf32 = True
    arch = make_architecture(config.variant, config.hidden)
    grid = config.grid()
    (S, n_tr, p), G = X_train.shape, len(grid)
    X_test = np.zeros((S, 0, p), dtype=np.float32) if X_test is None else X_test
    Xtr, Xva, Xte = (_as_tensor(a, device) for a in (X_train, X_val, X_test))
    ytr, yva = (_as_tensor(a, device, torch.long) for a in (y_train, y_val))

    # the ordered list of all models: split-major
    model_split = np.repeat(np.arange(S), G)
    model_grid = np.tile(np.arange(G), S)
    chunk = _chunk_size(arch, n_classes, S * G, (Xtr, Xva, Xte), device, config.memory_budget_gb,
                        config.early_stopping)
    log.info("%s on %s: %d models (%d splits x %d grid points), %d per chunk", config.variant, device, S * G, S, G, chunk)

    sink = Sink(S, G, p, Xva.shape[1], Xte.shape[1], n_classes, model_split, model_grid, arch, keep_models)
    lr_used = np.tile(np.asarray([lr for lr, _ in grid], dtype=float), (S, 1))
    _train_with_restarts(chunk, lr_used, arch, config, device, n_classes, (Xtr, ytr, Xva, yva, Xte), sink)
    return GridResult(
        grid=grid, lr_used=lr_used, val_acc=sink.out["val_acc"], head_test_proba=sink.heads,
        n_selected=sink.out["n_selected"].astype(int), epochs=sink.out["epochs"].astype(int),
        converged=sink.converged, diverged=sink.diverged, seconds=sink.out["seconds"], scores=sink.scores,
        test_proba=sink.test_proba, device=str(device), history=pd.DataFrame(sink.history),
        models=sink.models or {}, linear_share=sink.linear_share, val_proba=sink.val_proba, y_val=np.asarray(y_val),
        prior=class_prior(y_train, n_classes), n_train=n_tr, signal_alpha=config.signal_alpha,
        signal_permutations=config.signal_permutations, seed=config.seed, best_epoch=sink.out["best_epoch"].astype(int),
        early_stopping=config.early_stopping,
    )


def _train_with_restarts(chunk: int, lr_used: np.ndarray, arch, config: TrainConfig, device: torch.device,
                         n_classes: int, data: tuple, sink: Sink) -> None:
    """Train every model of the grid, ``chunk`` at a time, into ``sink``; models that diverged restart with
    lr / 10 (``lr_used`` records it), up to ``config.max_restarts`` times."""
    model_split, model_grid = sink.model_split, sink.model_grid
    todo = np.arange(len(model_split))
    for attempt in range(config.max_restarts + 1):
        if attempt:  # restart the diverged models with a smaller step
            todo = todo[sink.diverged[model_split[todo], model_grid[todo]]]
            if not len(todo):
                break
            lr_used[model_split[todo], model_grid[todo]] /= 10
            sink.forget(model_split[todo], model_grid[todo])
            log.info("%d diverged models restart with lr / 10", len(todo))
        for start in range(0, len(todo), chunk):
            ids = todo[start:start + chunk]
            t0 = time.perf_counter()
            train_chunk(ids, model_split, model_grid, lr_used, arch, config, device, n_classes, data, sink)
            sink.out["seconds"][model_split[ids], model_grid[ids]] += (time.perf_counter() - t0) / len(ids)


def _chunk_size(arch, n_classes: int, n_models: int, data: tuple, device: torch.device, budget_gb: float | None,
                keep_best: bool = False) -> int:
    """How many models of the grid train together within the memory budget (the data held once; with
    ``keep_best``, early stopping's copy of each model's best weights too)."""
    Xtr, Xva, Xte = data
    n_tr, p = Xtr.shape[1:]
    # counted from the shapes (building a probe model drew 224 M numbers on the CPU at hidden 4096 and GDS scale)
    per_model = training_bytes(arch, p, n_classes, n_tr) + 4 * (Xva.shape[1] + Xte.shape[1]) * p
    if keep_best:
        per_model += 4 * parameter_count(arch, p, n_classes)
    budget = _memory_budget(device, budget_gb)
    data_bytes = 4 * (Xtr.numel() + Xva.numel() + Xte.numel())
    return max(1, min(n_models, (budget - data_bytes) // max(per_model, 1)))


def flops_per_epoch(arch_variant: str, hidden: int | None, n: int, p: int, n_classes: int) -> float:
    """Forward + backward FLOPs of one full-batch epoch of one model (about 3x the forward)."""
    arch = make_architecture(arch_variant, hidden)
    fwd = 2 * n * p * arch.first_layer_width(n_classes)
    widths = list(arch.hidden)
    for a, b in zip(widths[:-1], widths[1:]):
        fwd += 2 * n * a * b
    if widths:
        fwd += 2 * n * widths[-1] * n_classes
    return 3.0 * fwd
