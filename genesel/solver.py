"""spred solved as what it is at its minima: a group lasso, along a κ path, with certificates.

Eq. 8's penalty ``κ(‖U‖² + ‖W_in‖²)`` equals ``2κ Σ_i ‖v_i‖`` at every minimum, where
``v_i = U_i · W_in[i, :]`` is gene ``i``'s row of first-layer weights into both heads. This module
minimises that equivalent problem directly,

    F(V, θ) = CE(f_l(V_l x) + b_l, y) + CE(f_n(V_n x), y) + 2κ Σ_i ‖v_i‖,   θ = deeper layers, biases

with batched proximal gradient (FISTA with gradient restart): a gradient step on the smooth part,
then group soft-thresholding of each gene's row, which yields exact zeros. A gene is selected when
its row is non-zero at a point that satisfies the optimality (KKT) conditions of that group lasso,
checked on every gene:

- inactive gene (``v_i = 0``): ``‖∇_i CE‖ ≤ 2κ``;
- active gene: ``∇_i CE + 2κ v_i / ‖v_i‖ = 0``;

within ``kkt_tol`` (relative to ``2κ``). For the linear head alone the problem is convex and this is
the optimum; with the MLP head it is a stationary point, a property of the objective rather than of
when an optimiser stopped.

The path follows glmnet and skglm: ``κ_max`` is the smallest κ that keeps no gene (largest group
gradient at ``V = 0``, halved); κ runs down a log-spaced path to ``kappa_ratio · κ_max`` with warm
starts; the sequential strong rule (Tibshirani et al. 2012) screens genes out of the matmuls, capped to
the active genes plus the strongest candidates (a working set, as in skglm and celer), and a KKT
check over every gene re-admits the worst violators, batch by batch, until none is left. The first step size comes
from a Lipschitz bound of the linear head (``‖X‖² / (2n)``), then backtracking keeps each step a
sufficient decrease, so no learning-rate grid is needed. With the MLP head the path runs up from a dense
start (``direction``), on every gene or, above 2,000 genes (``start_genes``), on a working set of genes that
cheap screens rank high, the others admitted by the KKT check over every gene at every κ
(:mod:`genesel.screen`); a model that has learnt a gene can keep it beyond κ_max, so the path then climbs
past κ_max until no model keeps a gene (``max_above``), and holds the sparse lists and the gene-free model.
During a solve, once zero rows are most of a split's own working set (the dense start's genes that the penalty
has zeroed), they leave the matmuls; the KKT check over every gene at the end of the solve brings back any that should be in.
A model is done at a κ when its residual is within ``kkt_tol`` and its objective has changed by at most ``obj_tol``
(relative) over the last ``check_every`` steps: the deeper layers have no certificate of their own, and at 1e-6 the
MLP head's slow drift kept most κ at the ``max_iter`` cap at GDS scale (``benchmarks/RESULTS.md``).
Above 2,000 genes each split computes on its own working set (``working_sets``): the batch's matmuls gather
``(M, n, w)``, ``w`` the widest split's set, padded with columns that hold no gene, instead of the union of
the splits' sets (for 20 screened starts of 2,000 genes at 54,675 probes, about 19,000); a gene outside a
split's set has zero weight there, so both compute the same models.

κ is chosen per split on validation (:meth:`PathResult.choose`). Whether the chosen models beat the
gene-free model (the training class frequencies) is then tested over all splits together
(:mod:`genesel.signal`: their validation accuracy gain over the majority class, pooled over every (split,
validation array) pair, against a permutation of the labels shared by all splits, with κ chosen again
under each permutation). Where the test finds no signal, each split keeps its chosen genes, marked as
noise downstream, and predicts the majority class. An optional per-split margin (``prior_margin_se``)
also makes each split's model beat the class prior's validation log-likelihood by a standard error.

Positive homogeneity of ReLU would let the MLP head shrink ``V_n`` and grow its deeper layers to
dodge the penalty; every deeper weight matrix is therefore held inside the Frobenius ball of its
initial norm (a projection, the proximal step of that constraint), so the MLP head's scale must come
from ``V`` and its genes pay the same κ as the linear head's.
"""

from __future__ import annotations

import logging
from dataclasses import replace

import numpy as np
import torch

from genesel.device import resolve_device
from genesel.kappa_path import (
    CLASS_PRIOR,
    NO_MODEL,
    PathConfig,
    PathRecorder,
    PathResult,
    choose_kappa,
    kappa_path,
    path_kappas,
)
from genesel.models import Architecture, first_layer, head_logits, make_architecture
from genesel.progress import progress
from genesel.prox import Fista, Problem, full_precision, lipschitz_linear, top_per_model
from genesel.screen import AUTO_START, check_screens, check_start_genes, start_sets
from genesel.signal import class_prior

log = logging.getLogger(__name__)
#: κ_max's relative margin over the largest gradient norm at V = 0 (float32 rounding of two products)
KAPPA_MAX_MARGIN = 1e-5
#: once this share of a batch's models (or fewer) still steps at a κ, they step as a batch of their own
COMPACT = 0.5
__all__ = ["CLASS_PRIOR", "NO_MODEL", "PathConfig", "PathResult", "PathSolver", "choose_kappa", "kappa_path",
           "predict_proba", "solve_path"]


class PathSolver:
    """Solve spred along a κ path for a batch of splits (see the module docstring)."""

    def __init__(self, config: PathConfig, n_classes: int, X: torch.Tensor, y: torch.Tensor) -> None:
        self.arch = make_architecture(config.variant, config.hidden)
        if config.kkt_tol is None:
            config = replace(config, kkt_tol=0.25 if self.arch.hidden else 0.01)
        if config.direction is None:
            config = replace(config, direction="up" if self.arch.hidden else "down")
        if config.direction not in ("down", "up"):
            raise ValueError(f"direction must be down or up, not {config.direction!r}")
        if config.choose not in ("best", "1se", "top"):
            raise ValueError(f"choose must be best or 1se, not {config.choose!r}")
        self.config = config
        if self.arch.penalty != "spred" or not self.arch.mask:
            raise ValueError(f"the kappa path solves spred and spred_linear, not {config.variant!r}")
        M, p = X.shape[0], X.shape[2]
        if config.working_sets not in (None, "per_split", "union"):
            raise ValueError(f"working_sets must be per_split or union, not {config.working_sets!r}")
        per_split = p > AUTO_START if config.working_sets is None else config.working_sets == "per_split"
        self.pb = Problem(self.arch, n_classes, X, y, config.seed, per_split=per_split)
        self.reference_step = 1.0 / lipschitz_linear(X).clamp_min(1e-6)  # also the residual's fixed step
        others = tuple(k for k in self.pb.params if k != "V")
        # one step size per block: the deeper layers' curvature must not throttle the genes' rows
        # (both blocks from one gradient took 30% more steps at GDS scale for the few % a step it saves: RESULTS.md)
        self.blocks = [Fista(self.pb, self.reference_step.clone(), block) for block in (others, ("V",))]
        self.start_size = check_start_genes(config.start_genes, p) if config.direction == "up" else None
        check_screens(config.screens)
        self.stopped = torch.zeros(M, dtype=torch.bool, device=X.device)

    def solve(self, kappa: torch.Tensor, readmit: bool = True, warm: bool = False,
              ) -> tuple[np.ndarray, torch.Tensor, torch.Tensor]:
        """Minimise at ``kappa (M,)`` from the current point; screened-out genes are re-admitted
        until none violates its optimality condition (``readmit``). Returns iterations, the
        relative KKT residual over every gene ``(M,)``, and the full group-gradient norms ``(M, p)``.

        A round after the first steps only the models that re-admitted genes: the others are done. Each round may
        take ``max_iter`` steps; a ``warm`` start (a κ after the first of a path) takes at most ``warm_iter`` over
        all its rounds, and a model left with violators when they are spent is not certified at this κ."""
        cfg, pb = self.config, self.pb
        iterations = np.zeros(pb.M, dtype=int)
        stepping = ~self.stopped
        residual = torch.full_like(kappa, float("inf"))
        budget = cfg.warm_iter if warm and cfg.warm_iter is not None else None
        limit = cfg.max_iter if budget is None else budget
        for _ in range(20):  # rounds of re-admission; one or two in practice
            for block in self.blocks:
                block.reset()
            # each split on its own working set (above 2,000 genes) only: in the union of the splits' sets, zero rows
            # rarely leave, and re-admitting them cost COLON's 50 stability halves 1.7x the time (RESULTS.md)
            shrink = readmit and cfg.screen and pb.per_split
            solved = self._solve_working_set(kappa, iterations, shrink, limit, stepping)
            residual = torch.where(stepping, solved, residual)
            with full_precision():
                gnorm = pb.full_group_grad_norms(pb.params)
            if not readmit:
                return iterations, residual, gnorm
            thr = (2 * kappa).unsqueeze(1)
            outside = ~pb.allowed_full()
            violation = ((gnorm - thr).clamp_min(0) * outside).max(1).values / thr.squeeze(1)
            violators = outside & (gnorm > thr * (1 + cfg.kkt_tol)) & ~self.stopped.unsqueeze(1)
            residual = torch.maximum(residual, violation)
            stepping = violators.any(1)
            if budget is not None:
                limit = budget - int(iterations[stepping.cpu().numpy()].max(initial=0))
            if not violators.any() or limit < cfg.check_every:
                return iterations, residual, gnorm
            # the worst violators first, in batches the size of the working set (skglm / celer style)
            size = cfg.ws_min + int(pb.allowed.sum(1).max())
            violators &= top_per_model(torch.where(violators, gnorm, torch.zeros_like(gnorm)), size)
            log.info("kappa path: %d screened-out genes in %d models violate the KKT conditions; re-admitted",
                     int(violators.sum()), int(stepping.sum()))
            pb.set_working_set(pb.allowed_full() | violators)
        return iterations, residual, gnorm

    def _shrink(self, G: dict) -> None:
        """Drop zero rows from the matmuls once they are most of the working set (the dense start's genes that
        the penalty has zeroed), keeping the active genes and the ``ws_min`` zero ones of largest gradient; the KKT
        check over every gene at the end of the solve re-admits any gene that should be in."""
        cfg, pb = self.config, self.pb
        active = (pb.params["V"].norm(dim=2) > 0) & pb.valid
        if pb.cols.shape[1] <= 2 * (int(active.sum(1).max()) + cfg.ws_min):
            return
        zero = pb.allowed & ~active
        near = top_per_model(torch.where(zero, G["V"].norm(dim=2), torch.zeros_like(G["V"][..., 0])), cfg.ws_min)
        pb.set_working_set(pb.to_full(active | (zero & near)))
        for block in self.blocks:
            block.reset()

    def _solve_working_set(self, kappa: torch.Tensor, iterations: np.ndarray, shrink: bool, max_iter: int,
                           live: torch.Tensor) -> torch.Tensor:
        """Proximal steps at ``kappa (M,)`` until every ``live`` model is done or ``max_iter``; returns the residual
        (infinite for the models that did not step).

        A batch costs its widest model's matmuls whether a model is done or not, so once half the models that
        step are done, the others step as a batch of their own (:meth:`Problem.take`)."""
        cfg, pb, blocks = self.config, self.pb, self.blocks
        idx = torch.arange(pb.M, device=kappa.device)  # the models of the whole batch that pb holds
        kap, ref = kappa, self.reference_step
        prev_obj, residual = torch.full_like(kappa, float("inf")), torch.full_like(kappa, float("inf"))
        steps = torch.zeros_like(live, dtype=torch.long)  # counted on the device: no host sync per step
        done = {"residual": torch.full_like(kappa, float("inf")), "steps": torch.zeros_like(steps)}
        compact = bool(live.any()) and int(live.sum()) <= COMPACT * len(idx)  # a round that re-admits to a few models
        for it in range(1, max_iter + 1):
            if compact:  # once: the models still live leave for a batch of their own
                compact = False
                self._put_back(idx, pb, blocks, done, residual, steps)
                keep = torch.nonzero(live).squeeze(1)
                pb = pb.take(keep)
                blocks = [block.take(keep, pb) for block in blocks]
                idx, live, kap, ref = idx[keep], live[keep], kap[keep], ref[keep]
                prev_obj, residual, steps = prev_obj[keep], residual[keep], torch.zeros_like(steps[keep])
            for block in blocks:
                block.iterate(kap, live)
            steps += live
            if it % cfg.check_every and it != max_iter:
                continue
            with full_precision():
                f, G = pb.value_and_grad(pb.params)
                residual = torch.where(live, pb.kkt_residual(pb.params, G, kap, ref), residual)
            obj = f + pb.penalty(pb.params, kap)
            still = (prev_obj - obj).abs() <= cfg.obj_tol * obj.abs().clamp_min(1e-12)
            prev_obj = obj
            live = live & ~((residual <= cfg.kkt_tol) & still)
            if not live.any():
                break
            if shrink and pb is self.pb:
                self._shrink(G)
            compact = int(live.sum()) <= COMPACT * len(idx)
        self._put_back(idx, pb, blocks, done, residual, steps)
        iterations += done["steps"].cpu().numpy()
        return done["residual"]

    def _put_back(self, idx, pb: Problem, blocks: list, done: dict, residual, steps) -> None:
        """Models ``idx`` stepped on ``pb`` (a :meth:`Problem.take` of the batch, or the batch itself): their
        parameters, step sizes, residuals and step counts into the whole batch's."""
        if pb is not self.pb:
            self.pb.put(idx, pb)
            for whole, block in zip(self.blocks, blocks):
                whole.put(idx, block)
        done["residual"][idx] = residual
        done["steps"][idx] += steps


def solve_path(
    X_train: np.ndarray, y_train: np.ndarray, X_val: np.ndarray, y_val: np.ndarray,
    X_test: np.ndarray | None, n_classes: int, config: PathConfig | None = None,
    keep_models: bool = False,
) -> PathResult:
    """spred along a κ path for every split (leading axis of the stacked arrays ``(S, n_part, p)``).

    Validation and test arrays are only predicted, never fitted on, and test labels never enter
    (``X_test`` may be ``None``); choose κ with
    :meth:`PathResult.choose` (validation accuracy, ties to the sparser model).
    """
    cfg = config or PathConfig()
    for s, labels in enumerate(np.asarray(y_train)):
        if len(np.unique(labels)) < 2:
            raise ValueError(f"split {s}: every training array has the same label, so there is nothing to select genes for")
    device = resolve_device(cfg.device)
    if device.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = cfg.tf32
    as_t = lambda a, dt=torch.float32: torch.as_tensor(np.ascontiguousarray(a), device=device, dtype=dt)  # noqa: E731
    S, _, p = X_train.shape
    X_test = np.zeros((S, 0, p), dtype=np.float32) if X_test is None else X_test
    solver = PathSolver(cfg, n_classes, as_t(X_train), as_t(y_train, torch.long))
    cfg = solver.config
    _, _, gnorm = solver.solve(torch.zeros(S, device=device), readmit=False)  # empty working set: intercepts only
    # the check's gradient norms and the steps' come from different float32 products: a hair above their largest, so
    # that rounding cannot let the top gene in at κ_max
    kappa_max = (gnorm.max(1).values / 2 * (1 + KAPPA_MAX_MARGIN)).cpu().numpy()
    kappas, n_above = path_kappas(cfg, float(kappa_max.max()))
    rec = PathRecorder(S, len(kappas), p, X_val.shape[1], X_test.shape[1], n_classes)
    walk = _Walk(solver, kappas, rec, {"val": as_t(X_val), "test": as_t(X_test)}, keep_models)
    start = None
    if cfg.direction == "up":
        start = _dense_start(solver, X_train, y_train)
        top = walk.up(n_above)
        rec.trim(top)  # the path's top: the first κ at which every model keeps no gene (or the last one tried)
        kappas, walk.certified = kappas[top:], walk.certified[:, top:]
    else:
        walk.down(gnorm)
    return PathResult(
        kappas=kappas, kappa_max=kappa_max, val_proba=rec.val_proba, y_val=np.asarray(y_val),
        prior=class_prior(y_train, n_classes), n_train=X_train.shape[1],
        test_proba=rec.test_proba, rule=cfg.choose, prior_margin_se=cfg.prior_margin_se, signal_alpha=cfg.signal_alpha,
        signal_permutations=cfg.signal_permutations, seed=cfg.seed,
        head_test_proba=rec.head_test_proba, head_val_proba=rec.head_val_proba, n_selected=rec.n_selected, scores=rec.scores,
        linear_share=rec.linear_share, kkt_residual=rec.kkt_residual, certified=walk.certified,
        iterations=rec.iterations, n_computed=rec.n_computed, diverged=rec.diverged, device=str(solver.pb.X.device),
        models=rec.models, start_set=start, grad_ratio=rec.grad_ratio,
    )


def _dense_start(solver: PathSolver, X_train: np.ndarray, y_train: np.ndarray) -> np.ndarray | None:
    """The models' dense start: on every gene, or (``start_genes``) on each split's screened working set, which
    is returned ``(S, p)``."""
    cfg, pb = solver.config, solver.pb
    if solver.start_size is None:
        pb.dense_start(cfg.seed)
        return None
    linear = lambda X, y: _linear_head_genes(cfg, X, y, pb.C)  # noqa: E731
    start = start_sets(np.asarray(X_train), np.asarray(y_train), pb.C, solver.start_size, cfg.screens, linear)
    log.info("screened dense start: %d genes per split (median) of %d, %d in the union", int(np.median(start.sum(1))),
             pb.p, int(start.any(0).sum()))
    pb.dense_start(cfg.seed, torch.as_tensor(start, device=pb.X.device))
    return start


def _linear_head_genes(cfg: PathConfig, X: np.ndarray, y: np.ndarray, n_classes: int) -> np.ndarray:
    """The ``linear`` screen: each split's gene norms at the end of spred_linear's own κ path down (convex,
    screened), ``(S, p)``."""
    linear = replace(cfg, variant="spred_linear", hidden=None, direction="down", kkt_tol=None, kappas=None,
                     n_kappas=min(cfg.n_kappas, 10), max_iter=min(cfg.max_iter, 200), signal_alpha=None)
    result = solve_path(X, y, X[:, :0], y[:, :0], None, n_classes, linear)
    return result.scores.max(1)


class _Walk:
    """Solves a :class:`PathSolver`'s models at each κ of the path, down from the empty model or up from a dense
    one, warm-started, and records them."""

    def __init__(self, solver: PathSolver, kappas: np.ndarray, rec: PathRecorder, held_out: dict, keep_models: bool) -> None:
        self.solver, self.kappas, self.rec, self.held_out, self.keep_models = solver, kappas, rec, held_out, keep_models
        self.certified = np.zeros((solver.pb.M, len(kappas)), dtype=bool)
        self.null_loss = solver.pb.loss(solver.pb.params)
        self.visited = 0  # κ solved so far: every one after the first is warm-started

    def visit(self, k: int, allowed: torch.Tensor) -> torch.Tensor:
        """Solve at κ index ``k`` on the genes ``allowed (M, p)`` (plus any the KKT check re-admits); returns the
        group-gradient norms of every gene."""
        solver, cfg, rec = self.solver, self.solver.config, self.rec
        S = solver.pb.M
        kappa = torch.full((S,), float(self.kappas[k]), device=solver.pb.X.device)
        solver.pb.set_working_set(allowed & ~solver.stopped.unsqueeze(1))
        live = (~solver.stopped).cpu().numpy()
        iterations, residual, gnorm = solver.solve(kappa, warm=self.visited > 0)
        self.visited += 1
        rec.record(k, solver.pb, live, self.held_out, iterations, residual)
        rec.grad_ratio[:, k] = (gnorm / (2 * kappa.unsqueeze(1))).clamp_max(1e4).cpu().numpy()
        if self.keep_models:
            rec.keep(k, solver.pb)
        self.certified[:, k] = live & (residual.cpu().numpy() <= cfg.kkt_tol)
        log.info("kappa %d/%d = %.4g: %s genes kept (median), %d computed, %d/%d certified", k + 1, len(self.kappas),
                 self.kappas[k], int(np.median(rec.n_selected[:, k])), rec.n_computed[k], int(self.certified[:, k].sum()), S)
        return gnorm

    def up(self, n_above: int) -> int:
        """From the dense model at the smallest κ up the path (genes leave as κ grows; the KKT check re-admits
        any that should come back), past κ_max until every model keeps no gene; returns the index of the top."""
        for k in progress(range(len(self.kappas) - 1, -1, -1), desc="kappa path (up)"):
            self.visit(k, self.solver.pb.active_full())
            if k <= n_above and not self.rec.n_selected[:, k].any():
                return k
        return 0

    def down(self, gnorm: torch.Tensor) -> None:
        """From the empty model (``gnorm``: its group-gradient norms) down the path, warm-started, with
        strong-rule screening. A model that fits its training arrays perfectly stops."""
        solver, cfg = self.solver, self.solver.config
        previous = self.kappas[0]
        for k in progress(range(len(self.kappas)), desc="kappa path"):
            kap = self.kappas[k]
            if cfg.screen:
                strong = gnorm >= 2 * (2 * kap - previous)
                budget = cfg.ws_min + 2 * int(solver.pb.active_full().sum(1).max())
                allowed = strong & top_per_model(torch.where(strong, gnorm, torch.zeros_like(gnorm)), budget)
            else:
                allowed = torch.ones_like(gnorm, dtype=torch.bool)
            gnorm = self.visit(k, allowed)
            solver.stopped |= solver.pb.loss(solver.pb.params) < cfg.min_train_loss_ratio * self.null_loss
            previous = kap
            if solver.stopped.all():
                return


@torch.no_grad()
def predict_proba(model: dict, X: np.ndarray, arch: Architecture, n_classes: int) -> np.ndarray:
    """Ensemble class probabilities ``(n, C)`` of one kept model (see ``keep_models``) on arrays ``X (n, p)``."""
    params = {k: v.unsqueeze(0) for k, v in model["params"].items()}
    Xg = torch.as_tensor(np.ascontiguousarray(X), dtype=torch.float32)[:, model["genes"]].unsqueeze(0)
    lin, mlp = head_logits(arch, n_classes, params, first_layer(params["V"], Xg))
    probs = [torch.softmax(h, -1) for h in (lin, mlp) if h is not None]
    return (sum(probs) / len(probs))[0].numpy()
