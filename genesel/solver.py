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
start (``direction``); a model that has learnt a gene can keep it beyond κ_max, so the path then climbs
past κ_max until no model keeps a gene (``max_above``), and holds the sparse lists and the gene-free model.

κ is chosen per split on validation (:meth:`PathResult.choose`). Whether the chosen models beat the
gene-free model (the training class frequencies) is then tested over all splits together
(:mod:`genesel.signal`: their validation accuracy gain over the majority class against its permutation
null, with κ chosen again under each permutation, pooled over the splits, which share arrays, by a
corrected t-test and by the median of the splits' own p-values). Where the test finds no signal, every split keeps no gene
and predicts the majority class: on a set without signal the list is empty rather than the best of
twenty noise models on a dozen validation arrays. An optional per-split margin (``prior_margin_se``)
also makes each split's model beat the class prior's validation log-likelihood by a standard error.

Positive homogeneity of ReLU would let the MLP head shrink ``V_n`` and grow its deeper layers to
dodge the penalty; every deeper weight matrix is therefore held inside the Frobenius ball of its
initial norm (a projection, the proximal step of that constraint), so the MLP head's scale must come
from ``V`` and its genes pay the same κ as the linear head's.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field, replace

import numpy as np
import torch
import torch.nn.functional as F

from genesel.device import resolve_device
from genesel.models import Architecture, BatchedNet, HeldOutPredictions, heads_cross_entropy, make_architecture
from genesel.progress import progress
from genesel.signal import CLASS_PRIOR, NO_MODEL, SignalTested, ValidationScores, class_prior

log = logging.getLogger(__name__)


@dataclass
class PathConfig:
    """Settings of the κ-path solver."""

    variant: str = "spred"  # "spred" (Eq. 8) or "spred_linear" (f_l only)
    hidden: int | None = None  # width of the MLP head's two hidden layers (None: 1024)
    n_kappas: int = 20  # path length
    kappa_ratio: float = 0.01  # the path ends at kappa_ratio * kappa_max
    kappas: tuple[float, ...] | None = None  # an explicit path (decreasing) instead of the above
    max_iter: int = 500  # proximal steps per kappa (and per re-admission round)
    # optimality residual relative to 2 * kappa; None: 0.01 for the linear head alone (convex, reached
    # exactly), 0.25 with the ReLU head (piecewise linear: first-order residuals floor at 0.1-0.2, measured)
    kkt_tol: float | None = None
    check_every: int = 10  # steps between KKT checks on the working set
    screen: bool = True  # strong-rule screening and a growing working set (False: every gene in every matmul)
    ws_min: int = 100  # a working set holds the active genes plus at least this many candidates
    min_train_loss_ratio: float = 1e-3  # a model stops its path once its training loss is this share of the null loss
    # "down": from κ_max (no gene) down the path with warm starts and screening; "up": every gene starts with a
    # random row (a dense model), solved at the smallest κ first, then up the path. A path down starts where a
    # pure-interaction gene has zero expected gradient, so the MLP head can miss it; a dense start has learnt it.
    # None: "up" with the MLP head, "down" for the linear head alone (convex: both reach the same optima)
    direction: str | None = None
    # up the path, κ keeps growing past the path's top in the path's own steps, at most this many times, until
    # every model keeps no gene: from a dense start the MLP head holds genes beyond κ_max (the gradient at V = 0);
    # on colon the lists of 7-10 genes on which it scores best lie there. Not with an explicit ``kappas``
    max_above: int = 10
    device: str = "auto"
    seed: int = 0
    tf32: bool = True  # TF32 matmuls for the steps on a GPU; KKT checks always run in full float32
    # how κ is chosen on validation: "best" (accuracy, ties to lower log-loss, then sparser) or "1se" (the
    # sparsest model whose validation log-loss is within one standard error of the lowest, glmnet's lambda.1se)
    choose: str = "best"
    # whether the set shows signal: where the chosen models' validation accuracy gain over the majority class,
    # pooled over the splits, has a p-value above this (genesel.signal: per split against its permutation null,
    # then a corrected resampled t-test or the splits' median p-value), every split keeps no gene and predicts
    # the majority class.
    # None: no test (a noise model then wins on a set without signal)
    signal_alpha: float | None = 0.05
    signal_permutations: int = 999
    # per split, a model is a candidate only if its validation log-likelihood beats the training class
    # frequencies by more than this many standard errors (paired per array); None (default): no per-split
    # margin. A dozen validation arrays rarely give one standard error to a real but weak signal (RESULTS.md)
    prior_margin_se: float | None = None


@dataclass
class PathResult(SignalTested, HeldOutPredictions):
    """The whole path of every split, indexed ``[split, kappa]``; test accuracy comes from
    :meth:`accuracy` with the test labels, which the solver never sees."""

    kappas: np.ndarray  # (K,)
    kappa_max: np.ndarray  # (S,)
    val_proba: np.ndarray  # (S, K, n_val, C): the heads' mean probabilities on validation; NaN where no model
    y_val: np.ndarray  # (S, n_val)
    prior: np.ndarray  # (S, C): class frequencies of each split's training arrays (the gene-free model)
    n_train: int  # training arrays per split
    test_proba: np.ndarray  # (S, K, n_test, C)
    head_test_proba: dict[str, np.ndarray]  # "linear" / "mlp" -> (S, K, n_test, C), NaN where a head is absent
    n_selected: np.ndarray  # (S, K)
    scores: np.ndarray  # (S, K, p): ||v_i||
    linear_share: np.ndarray  # (S, K, p): share of ||v_i||^2 in the linear head (NaN where v_i = 0)
    kkt_residual: np.ndarray  # (S, K) relative to 2 kappa
    certified: np.ndarray  # (S, K) bool: residual <= kkt_tol over every gene
    iterations: np.ndarray  # (S, K)
    n_computed: np.ndarray  # (K,) genes in the matmuls (the screened working set)
    diverged: np.ndarray  # (S, K) bool
    device: str
    models: dict = field(default_factory=dict)  # (split, k) -> sparse parameters, with keep_models
    head_val_proba: dict = field(default_factory=dict)  # "linear" / "mlp" -> (S, K, n_val, C), as head_test_proba
    rule: str = "best"  # how choose() picks κ (PathConfig.choose)
    prior_margin_se: float | None = None  # PathConfig.prior_margin_se
    signal_alpha: float | None = 0.05  # PathConfig.signal_alpha
    signal_permutations: int = 999
    seed: int = 0

    @property
    def val_acc(self) -> np.ndarray:
        """``(S, K)`` validation accuracy; NaN where a model stopped its path early or diverged."""
        return self.validation.acc

    @property
    def val_loss(self) -> np.ndarray:
        return self.validation.loss

    def usable(self) -> np.ndarray:
        """``(S, K)``: the models with validation predictions (fitted, not diverged)."""
        return np.isfinite(self.val_acc) & ~self.diverged

    def beats_prior(self) -> np.ndarray:
        """``(S, K)``: the usable models whose validation log-likelihood exceeds the class prior's by more
        than ``prior_margin_se`` paired standard errors (every usable model when it is None, the default)."""
        return _beats_prior(self.validation, self.usable(), self.prior_margin_se)

    def choose_per_split(self, scores: ValidationScores | None = None) -> np.ndarray:
        """Per split, the κ with the best validation accuracy among the candidates (:meth:`beats_prior`);
        ties (common: a validation part of a microarray study holds a dozen or two arrays) go to the lower
        validation log-loss, then to the sparser model (fewer genes, then larger κ). Whether the chosen
        model is certified is reported beside it (``certified``), not used to choose: a tolerance must not
        pick the model. With ``rule == "1se"``, the sparsest candidate whose validation log-loss is within
        one standard error of the lowest. A split where no model could be fitted gets :data:`NO_MODEL`; one
        whose models are no candidates gets :data:`CLASS_PRIOR` (no gene; the majority class of the
        training arrays is predicted). From ``scores``, by default the observed ones; :meth:`choose` then
        applies the test over splits."""
        scores = self.validation if scores is None else scores
        return choose_kappa(scores, self.usable(), self.n_selected, self.kappas, self.rule, self.prior_margin_se)


def _beats_prior(scores: ValidationScores, usable: np.ndarray, margin: float | None) -> np.ndarray:
    if margin is None:
        return np.broadcast_to(usable, scores.acc.shape)
    with np.errstate(invalid="ignore"):  # NaN standard error (one validation array): no candidate
        return usable & (scores.gain > margin * np.nan_to_num(scores.gain_se))


def choose_kappa(scores: ValidationScores, usable: np.ndarray, n_selected: np.ndarray, kappas: np.ndarray,
                 rule: str = "best", margin: float | None = None) -> np.ndarray:
    """Each split's chosen model (see :meth:`PathResult.choose`) from its validation ``scores``
    ``(..., S, K)``; vectorised over leading axes (the permutations of :func:`genesel.signal.signal_pvalue`)."""
    cand = _beats_prior(scores, usable, margin)
    shape = cand.shape
    full = lambda a: np.broadcast_to(a, shape)  # noqa: E731
    if rule == "1se":
        loss = np.where(cand, scores.loss, np.inf)
        best = loss.argmin(-1)[..., None]
        limit = np.take_along_axis(loss, best, -1) + np.nan_to_num(np.take_along_axis(scores.loss_se, best, -1))
        cand = cand & (scores.loss <= limit)
        keys = (full(-kappas), full(n_selected), ~cand)
    else:  # accuracy, then log-loss (equal to 6 decimals: a tie, left to sparsity), then fewer genes, larger κ
        keys = (full(-kappas), full(n_selected), np.round(scores.loss, 6), -scores.acc, ~cand)
    chosen = np.lexsort(keys, axis=-1)[..., 0]
    chosen = np.where(cand.any(-1), chosen, CLASS_PRIOR)
    return np.where(usable.any(-1), chosen, NO_MODEL)


class _Problem:
    """The batched objective: one model per split, on the genes of the current working set."""

    def __init__(self, arch: Architecture, n_classes: int, X: torch.Tensor, y: torch.Tensor, seed: int) -> None:
        self.arch, self.C = arch, n_classes
        self.X, self.y = X, y  # (M, n, p), (M, n)
        M, n, p = X.shape
        self.M, self.n, self.p = M, n, p
        # the deeper layers as nn.Linear would start them; the first layer is V (zero at κ_max), so it is
        # initialised for one input and its bias rescaled to the fan-in p (no p x K weights drawn to be discarded)
        net = BatchedNet.init(arch, 1, n_classes, M, [seed * 1_000_003 + m for m in range(M)],
                              torch.arange(M), X.device)
        K = net.params["W_in"].shape[2]
        self.params = {k: v.detach() for k, v in net.params.items() if k not in ("U", "W_in")}
        if "b_in" in self.params:
            self.params["b_in"] = self.params["b_in"] / math.sqrt(p)
        if arch.linear_head:
            self.params["b_lin"] = torch.zeros(M, n_classes, device=X.device)
        self.radius = {k: v.flatten(1).norm(dim=1) for k, v in self.params.items() if k.startswith("W_")}
        self.cols = torch.zeros(0, dtype=torch.long, device=X.device)  # working set (union over models)
        self.allowed = torch.zeros(M, 0, dtype=torch.bool, device=X.device)  # per model, on the working set
        self.params["V"] = torch.zeros(M, 0, K, device=X.device)
        self.XW = X.index_select(2, self.cols)

    # -- forward -----------------------------------------------------------------------------
    def logits_from_z(self, P: dict, z: torch.Tensor) -> tuple[torch.Tensor | None, torch.Tensor | None]:
        return head_logits(self.arch, self.C, P, z)

    def first_layer(self, P: dict, X: torch.Tensor) -> torch.Tensor:
        return first_layer(P["V"], X)

    def cross_entropy(self, P: dict, z: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return heads_cross_entropy(self.logits_from_z(P, z), y)

    def loss(self, P: dict) -> torch.Tensor:
        """Per-model smooth loss ``(M,)`` on the training arrays: the sum over heads of the mean CE."""
        return self.cross_entropy(P, self.first_layer(P, self.XW), self.y)

    def value_and_grad(self, P: dict, names: tuple[str, ...] | None = None) -> tuple[torch.Tensor, dict]:
        """Loss ``(M,)`` and its gradients with respect to the parameters ``names`` (default: all)."""
        names = tuple(P) if names is None else names
        with torch.enable_grad():
            leaves = {k: v.detach().requires_grad_(k in names) for k, v in P.items()}
            value = self.loss(leaves)
            wanted = [leaves[k] for k in names]
            if value.requires_grad:
                grads = torch.autograd.grad(value.sum(), wanted, allow_unused=True)
            else:  # no gene in the working set: the loss does not depend on V
                grads = [None] * len(wanted)
        grads = {k: (g if g is not None else torch.zeros_like(leaves[k])) for k, g in zip(names, grads)}
        return value.detach(), grads

    def penalty(self, P: dict, kappa: torch.Tensor) -> torch.Tensor:
        return 2 * kappa * P["V"].norm(dim=2).sum(1)

    # -- proximal operator -------------------------------------------------------------------
    def prox(self, P: dict, step: torch.Tensor, kappa: torch.Tensor) -> None:
        """In place: group soft-thresholding of V's rows (threshold ``2 κ step``), genes outside a
        model's screened set held at zero, deeper layers projected onto their norm balls."""
        if "V" in P:
            V = P["V"]
            norms = V.norm(dim=2)
            shrink = torch.clamp(1 - (2 * kappa * step).unsqueeze(1) / norms.clamp_min(1e-30), min=0.0)
            V.mul_((shrink * self.allowed).unsqueeze(2))
        for name, radius in self.radius.items():
            if name not in P:
                continue
            W = P[name]
            scale = torch.clamp(radius / W.flatten(1).norm(dim=1).clamp_min(1e-30), max=1.0)
            W.mul_(scale.view(-1, *([1] * (W.dim() - 1))))

    # -- working set -------------------------------------------------------------------------
    def active_full(self) -> torch.Tensor:
        active = torch.zeros(self.M, self.p, dtype=torch.bool, device=self.X.device)
        active[:, self.cols] = self.params["V"].norm(dim=2) > 0
        return active

    def allowed_full(self) -> torch.Tensor:
        allowed = torch.zeros(self.M, self.p, dtype=torch.bool, device=self.X.device)
        allowed[:, self.cols] = self.allowed
        return allowed

    def dense_start(self, seed: int) -> None:
        """Every gene in the working set with a random row of ``V`` (nn.Linear's scale ``1/sqrt(p)``)."""
        self.set_working_set(torch.ones(self.M, self.p, dtype=torch.bool, device=self.X.device))
        generator = torch.Generator().manual_seed(seed * 1_000_003 + 7)
        K = self.params["V"].shape[2]
        V = (torch.rand(self.M, self.p, K, generator=generator) * 2 - 1) / math.sqrt(self.p)
        self.params["V"] = V.to(self.X.device)

    def set_working_set(self, allowed_full: torch.Tensor) -> None:
        """Restrict the matmuls to the genes allowed in any model; active genes always stay."""
        V = self.params["V"]
        allowed_full = allowed_full | self.active_full()
        cols = torch.nonzero(allowed_full.any(0)).squeeze(1)
        pos = torch.full((self.p,), -1, dtype=torch.long, device=V.device)
        pos[cols] = torch.arange(len(cols), device=V.device)
        V_new = V.new_zeros(self.M, len(cols), V.shape[2])
        if len(self.cols):
            kept = pos[self.cols] >= 0  # every active gene is kept, so only zero rows are dropped
            V_new[:, pos[self.cols[kept]]] = V[:, kept]
        self.params["V"] = V_new
        self.cols, self.allowed = cols, allowed_full[:, cols]
        self.XW = self.X.index_select(2, cols)

    def full_group_grad_norms(self, P: dict, chunk: int = 4096) -> torch.Tensor:
        """``‖∇_i CE‖`` for every gene, ``(M, p)``: one backward to ``z = X V``, then ``X_i^T δ`` in chunks."""
        with torch.enable_grad():
            z = self.first_layer(P, self.XW).detach().requires_grad_(True)
            (delta,) = torch.autograd.grad(self.cross_entropy(P, z, self.y).sum(), [z])
        out = torch.empty(self.M, self.p, device=delta.device)
        for start in range(0, self.p, chunk):
            Xc = self.X[:, :, start:start + chunk]
            out[:, start:start + chunk] = torch.bmm(delta.transpose(1, 2), Xc).norm(dim=1)
        return out

    def kkt_residual(self, P: dict, G: dict, kappa: torch.Tensor, step: torch.Tensor) -> torch.Tensor:
        """Largest violation of the group-lasso optimality conditions over the working set, relative to ``2κ``.

        Per gene, the norm of the proximal-gradient mapping ``(v_i - prox(v_i - s g_i)) / s`` at a fixed
        step ``s``: zero exactly at a KKT point; for an inactive gene it is ``max(0, ‖g_i‖ - 2κ)``, for
        an active one ``‖g_i + 2κ v_i/‖v_i‖‖`` once ``‖v_i‖ ≥ 2κ s``. Unlike that last expression alone,
        it does not count the direction of a vanishing row (a gene on its way to zero) as a violation.
        """
        V, g = P["V"], G["V"]
        if V.shape[1] == 0:
            return torch.zeros(self.M, device=V.device)
        thr = (2 * kappa).unsqueeze(1)
        s = step.view(-1, 1, 1)
        u = V - s * g
        nu = u.norm(dim=2, keepdim=True)
        prox = u * torch.clamp(1 - thr.unsqueeze(2) * s / nu.clamp_min(1e-30), min=0.0)
        r = ((V - prox) / s).norm(dim=2) * self.allowed
        return r.max(1).values / thr.squeeze(1)


def first_layer(V: torch.Tensor, X: torch.Tensor) -> torch.Tensor:
    """``z = X V`` for stacked models, ``(M, n, K)``; an empty working set gives zeros. Computed as
    ``(Vᵀ Xᵀ)ᵀ``: with few columns in V (the linear head's classes) CPU BLAS runs this orientation, and
    its backward ``(∂z)ᵀ X``, 2-5x faster than ``X V`` (measured; never slower, also with the MLP head)."""
    if V.shape[1] == 0:
        return X.new_zeros(X.shape[0], X.shape[1], V.shape[2])
    return torch.bmm(V.transpose(1, 2), X.transpose(1, 2)).transpose(1, 2)


def head_logits(arch: Architecture, C: int, P: dict, z: torch.Tensor) -> tuple[torch.Tensor | None, torch.Tensor | None]:
    """Per-head logits ``(M, n, C)`` from the first-layer output ``z``: ``f_l`` reads its first ``C``
    columns, the MLP head ``f_n`` the rest."""
    lin = z[..., :C] + P["b_lin"].unsqueeze(1) if arch.linear_head else None
    mlp = None
    if arch.hidden:
        h = F.relu((z[..., C:] if arch.linear_head else z) + P["b_in"].unsqueeze(1))
        for i in range(1, len(arch.hidden)):
            h = F.relu(torch.baddbmm(P[f"b_h{i}"].unsqueeze(1), h, P[f"W_h{i}"]))
        mlp = torch.baddbmm(P["b_out"].unsqueeze(1), h, P["W_out"])
    return lin, mlp


def _lipschitz_linear(X: torch.Tensor, iters: int = 30) -> torch.Tensor:
    """Per-model bound ``σ_max(X)² / (2n)`` of the multinomial CE's curvature in the linear weights."""
    M, n, p = X.shape
    v = torch.ones(M, p, 1, device=X.device) / math.sqrt(p)
    for _ in range(iters):
        v = torch.bmm(X.transpose(1, 2), torch.bmm(X, v))
        v = v / v.norm(dim=1, keepdim=True).clamp_min(1e-30)
    sigma2 = torch.bmm(X, v).pow(2).sum(dim=(1, 2))
    return sigma2 / (2 * n)


def _top_per_model(score: torch.Tensor, k: int) -> torch.Tensor:
    """Mask of the ``k`` highest-scoring genes of each model ``(M, p)``."""
    k = min(k, score.shape[1])
    mask = torch.zeros_like(score, dtype=torch.bool)
    mask.scatter_(1, score.topk(k, dim=1).indices, True)
    return mask


def _per_model(v: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    return v.view(-1, *([1] * (like.dim() - 1)))


def _where(mask: torch.Tensor, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return torch.where(mask.view(-1, *([1] * (a.dim() - 1))), a, b)


def _dot(a: dict, b: dict) -> torch.Tensor:
    return sum((a[k] * b[k]).flatten(1).sum(1) for k in a)


class _Fista:
    """Batched FISTA with backtracking and gradient restart on one block of a :class:`_Problem`'s
    parameters (``names``); the other blocks are held fixed during its steps."""

    def __init__(self, problem: _Problem, step: torch.Tensor, names: tuple[str, ...]) -> None:
        self.pb, self.names = problem, names
        self.step = step  # (M,) current step size of each model
        self.reset()

    def reset(self) -> None:
        """Forget momentum (a new κ, or a changed working set)."""
        self.prev = {k: self.pb.params[k].clone() for k in self.names}
        self.t = torch.ones_like(self.step)

    @torch.no_grad()
    def iterate(self, kappa: torch.Tensor, live: torch.Tensor, max_backtracks: int = 40) -> None:
        """One accelerated proximal step for the models marked ``live``; the others do not move."""
        pb, x = self.pb, {k: self.pb.params[k] for k in self.names}
        t_next = (1 + torch.sqrt(1 + 4 * self.t**2)) / 2
        beta = torch.where(live, (self.t - 1) / t_next, torch.zeros_like(t_next))
        y = {k: x[k] + _per_model(beta, x[k]) * (x[k] - self.prev[k]) for k in x}
        f_y, g_y = pb.value_and_grad({**pb.params, **y}, self.names)
        accepted = {k: v.clone() for k, v in x.items()}
        pending = live.clone()
        for _ in range(max_backtracks):
            cand = {k: y[k] - _per_model(self.step, y[k]) * g_y[k] for k in y}
            pb.prox(cand, self.step, kappa)
            f_c = pb.loss({**pb.params, **cand})
            d = {k: cand[k] - y[k] for k in y}
            bound = f_y + _dot(g_y, d) + _dot(d, d) / (2 * self.step) + 1e-6 * f_y.abs()
            ok = pending & torch.isfinite(f_c) & (f_c <= bound)
            for k in accepted:
                accepted[k] = _where(ok, cand[k], accepted[k])
            pending &= ~ok
            if not pending.any():
                break
            self.step = torch.where(pending, self.step * 0.5, self.step)
        moved = live & ~pending
        restart = _dot({k: y[k] - accepted[k] for k in y}, {k: accepted[k] - x[k] for k in x}) > 0
        self.prev = {k: _where(moved, x[k], self.prev[k]) for k in x}
        pb.params.update(accepted)
        self.t = torch.where(moved & ~restart, t_next, torch.ones_like(t_next))
        self.step = torch.where(moved, self.step * 1.25, self.step)  # let the step grow back


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
        if config.choose not in ("best", "1se"):
            raise ValueError(f"choose must be best or 1se, not {config.choose!r}")
        self.config = config
        if self.arch.penalty != "spred" or not self.arch.mask:
            raise ValueError(f"the kappa path solves spred and spred_linear, not {config.variant!r}")
        self.pb = _Problem(self.arch, n_classes, X, y, config.seed)
        self.reference_step = 1.0 / _lipschitz_linear(X).clamp_min(1e-6)  # also the residual's fixed step
        others = tuple(k for k in self.pb.params if k != "V")
        # one step size per block: the deeper layers' curvature must not throttle the genes' rows
        self.blocks = [_Fista(self.pb, self.reference_step.clone(), others), _Fista(self.pb, self.reference_step.clone(), ("V",))]
        M = X.shape[0]
        self.stopped = torch.zeros(M, dtype=torch.bool, device=X.device)

    def solve(self, kappa: torch.Tensor, readmit: bool = True) -> tuple[np.ndarray, torch.Tensor, torch.Tensor]:
        """Minimise at ``kappa (M,)`` from the current point; screened-out genes are re-admitted
        until none violates its optimality condition (``readmit``). Returns iterations, the
        relative KKT residual over every gene ``(M,)``, and the full group-gradient norms ``(M, p)``."""
        cfg, pb = self.config, self.pb
        iterations = np.zeros(pb.M, dtype=int)
        for _ in range(20):  # rounds of re-admission; one or two in practice
            for block in self.blocks:
                block.reset()
            residual = self._solve_working_set(kappa, iterations)
            with _full_precision():
                gnorm = pb.full_group_grad_norms(pb.params)
            if not readmit:
                return iterations, residual, gnorm
            thr = (2 * kappa).unsqueeze(1)
            outside = ~pb.allowed_full()
            violation = ((gnorm - thr).clamp_min(0) * outside).max(1).values / thr.squeeze(1)
            violators = outside & (gnorm > thr * (1 + cfg.kkt_tol)) & ~self.stopped.unsqueeze(1)
            residual = torch.maximum(residual, violation)
            if not violators.any():
                return iterations, residual, gnorm
            # the worst violators first, in batches the size of the working set (skglm / celer style)
            budget = cfg.ws_min + int(pb.allowed.sum(1).max())
            violators &= _top_per_model(torch.where(violators, gnorm, torch.zeros_like(gnorm)), budget)
            log.info("kappa path: %d screened-out genes violate the KKT conditions; re-admitted", int(violators.sum()))
            pb.set_working_set(pb.allowed_full() | violators)
        return iterations, residual, gnorm

    def _solve_working_set(self, kappa: torch.Tensor, iterations: np.ndarray) -> torch.Tensor:
        cfg, pb = self.config, self.pb
        live = ~self.stopped
        prev_obj = torch.full_like(kappa, float("inf"))
        residual = torch.full_like(kappa, float("inf"))
        steps = torch.zeros_like(live, dtype=torch.long)  # counted on the device: no host sync per step
        for it in range(1, cfg.max_iter + 1):
            for block in self.blocks:
                block.iterate(kappa, live)
            steps += live
            if it % cfg.check_every and it != cfg.max_iter:
                continue
            with _full_precision():
                f, G = pb.value_and_grad(pb.params)
                residual = torch.where(live, pb.kkt_residual(pb.params, G, kappa, self.reference_step), residual)
            obj = f + pb.penalty(pb.params, kappa)
            still = (prev_obj - obj).abs() <= 1e-6 * obj.abs().clamp_min(1e-12)
            prev_obj = obj
            live = live & ~((residual <= cfg.kkt_tol) & still)
            if not live.any():
                break
        iterations += steps.cpu().numpy()
        return residual


class _full_precision:
    """Context: no TF32 in matmuls (the KKT checks compare gradients with 2κ to a few digits)."""

    def __enter__(self):
        self.saved = torch.backends.cuda.matmul.allow_tf32
        torch.backends.cuda.matmul.allow_tf32 = False

    def __exit__(self, *exc):
        torch.backends.cuda.matmul.allow_tf32 = self.saved


def kappa_path(kappa_max: float, n_kappas: int, ratio: float) -> np.ndarray:
    """``n_kappas`` log-spaced values from ``kappa_max`` down to ``ratio * kappa_max``."""
    if n_kappas < 2 or not 0 < ratio < 1:
        raise ValueError("a kappa path needs n_kappas >= 2 and 0 < kappa_ratio < 1")
    return kappa_max * np.logspace(0, math.log10(ratio), n_kappas)


def _path_kappas(cfg: PathConfig, kappa_max: float) -> tuple[np.ndarray, int]:
    """The κ of the path, decreasing, and how many of them lie above its top (``max_above`` values in the
    path's own ratio, tried up the path only while some model keeps a gene)."""
    if cfg.kappas:
        return np.asarray(cfg.kappas, dtype=float), 0
    kappas = kappa_path(kappa_max, cfg.n_kappas, cfg.kappa_ratio)
    n_above = cfg.max_above if cfg.direction == "up" else 0
    return np.concatenate([kappas[0] * (kappas[0] / kappas[1]) ** np.arange(n_above, 0, -1), kappas]), n_above


@torch.no_grad()
def _evaluate(pb: _Problem, X: torch.Tensor) -> dict[str, torch.Tensor]:
    """Class probabilities per head and their mean (``ensemble``) on held-out arrays ``X (M, n, p)``."""
    lin, mlp = pb.logits_from_z(pb.params, pb.first_layer(pb.params, X.index_select(2, pb.cols)))
    out = {name: torch.softmax(h, -1) for name, h in (("linear", lin), ("mlp", mlp)) if h is not None}
    out["ensemble"] = sum(out.values()) / len(out)
    return out


class _Recorder:
    """Collects each split's model at every κ of the path."""

    def __init__(self, S: int, K: int, p: int, n_val: int, n_test: int, C: int) -> None:
        self.test_proba = np.full((S, K, n_test, C), np.nan, dtype=np.float32)
        self.val_proba = np.full((S, K, n_val, C), np.nan, dtype=np.float32)
        self.head_test_proba = {h: np.full((S, K, n_test, C), np.nan, dtype=np.float32) for h in ("linear", "mlp")}
        self.head_val_proba = {h: np.full((S, K, n_val, C), np.nan, dtype=np.float32) for h in ("linear", "mlp")}
        self.n_selected = np.zeros((S, K), dtype=int)
        self.scores = np.zeros((S, K, p), dtype=np.float32)
        self.linear_share = np.full((S, K, p), np.nan, dtype=np.float32)
        self.kkt_residual = np.full((S, K), np.nan)
        self.iterations = np.zeros((S, K), dtype=int)
        self.n_computed = np.zeros(K, dtype=int)
        self.diverged = np.zeros((S, K), dtype=bool)
        self.models: dict = {}

    def keep(self, k: int, pb: _Problem) -> None:
        """Store each split's model at κ index ``k`` on the CPU, V as its non-zero rows only."""
        for m in range(pb.M):
            V = pb.params["V"][m]
            rows = torch.nonzero(V.norm(dim=1) > 0).squeeze(1)
            params = {name: t[m].detach().cpu() for name, t in pb.params.items() if name != "V"}
            params["V"] = V.index_select(0, rows).cpu()
            self.models[(m, k)] = {"genes": pb.cols[rows].cpu(), "params": params}

    def record(self, k: int, pb: _Problem, live: np.ndarray, held_out: dict, iterations, residual) -> None:
        V = pb.params["V"]
        norms = V.norm(dim=2)
        cols = pb.cols.cpu().numpy()
        self.scores[:, k, cols] = norms.cpu().numpy()
        lin_sq = V[..., : pb.C].pow(2).sum(2) if pb.arch.linear_head else torch.zeros_like(norms)
        share = (lin_sq / norms.pow(2).clamp_min(1e-30)).cpu().numpy()
        self.linear_share[:, k, cols] = np.where(norms.cpu().numpy() > 0, share, np.nan)
        self.n_selected[:, k] = (norms > 0).sum(1).cpu().numpy()
        self.kkt_residual[:, k] = residual.cpu().numpy()
        self.iterations[:, k] = iterations
        self.n_computed[k] = len(cols)
        # a model whose weights or optimality residual are not finite has diverged (overflow in its matmuls, say)
        finite = torch.isfinite(V).flatten(1).all(1).cpu().numpy() & ~(live & ~np.isfinite(self.kkt_residual[:, k]))
        self.diverged[:, k] = ~finite
        test, val = _evaluate(pb, held_out["test"]), _evaluate(pb, held_out["val"])
        ok = live & finite
        self.val_proba[ok, k] = val["ensemble"].cpu().numpy()[ok]
        self.test_proba[ok, k] = test["ensemble"].cpu().numpy()[ok]
        for head in ("linear", "mlp"):
            if head in test:
                self.head_test_proba[head][ok, k] = test[head].cpu().numpy()[ok]
                self.head_val_proba[head][ok, k] = val[head].cpu().numpy()[ok]

    def trim(self, start: int) -> None:
        """Drop the κ before index ``start`` (never visited)."""
        for name, value in vars(self).items():
            if isinstance(value, np.ndarray):
                setattr(self, name, value[start:] if value.ndim == 1 else value[:, start:])
        for heads in (self.head_test_proba, self.head_val_proba):
            for head in heads:
                heads[head] = heads[head][:, start:]
        self.models = {(m, k - start): model for (m, k), model in self.models.items() if k >= start}


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
    kappa_max = (gnorm.max(1).values / 2).cpu().numpy()
    kappas, n_above = _path_kappas(cfg, float(kappa_max.max()))
    rec = _Recorder(S, len(kappas), p, X_val.shape[1], X_test.shape[1], n_classes)
    walk = _Walk(solver, kappas, rec, {"val": as_t(X_val), "test": as_t(X_test)}, keep_models)
    if cfg.direction == "up":
        solver.pb.dense_start(cfg.seed)
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
        models=rec.models,
    )


class _Walk:
    """Solves a :class:`PathSolver`'s models at each κ of the path, down from the empty model or up from a dense
    one, warm-started, and records them."""

    def __init__(self, solver: PathSolver, kappas: np.ndarray, rec: _Recorder, held_out: dict, keep_models: bool) -> None:
        self.solver, self.kappas, self.rec, self.held_out, self.keep_models = solver, kappas, rec, held_out, keep_models
        self.certified = np.zeros((solver.pb.M, len(kappas)), dtype=bool)
        self.null_loss = solver.pb.loss(solver.pb.params)

    def visit(self, k: int, allowed: torch.Tensor) -> torch.Tensor:
        """Solve at κ index ``k`` on the genes ``allowed (M, p)`` (plus any the KKT check re-admits); returns the
        group-gradient norms of every gene."""
        solver, cfg, rec = self.solver, self.solver.config, self.rec
        S = solver.pb.M
        kappa = torch.full((S,), float(self.kappas[k]), device=solver.pb.X.device)
        solver.pb.set_working_set(allowed & ~solver.stopped.unsqueeze(1))
        live = (~solver.stopped).cpu().numpy()
        iterations, residual, gnorm = solver.solve(kappa)
        rec.record(k, solver.pb, live, self.held_out, iterations, residual)
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
                allowed = strong & _top_per_model(torch.where(strong, gnorm, torch.zeros_like(gnorm)), budget)
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
