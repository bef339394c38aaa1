"""The κ path's settings (:class:`PathConfig`), its result (:class:`PathResult`), what each κ's models leave in it
(:class:`PathRecorder`) and the choice of κ on validation (:func:`choose_kappa`); :mod:`genesel.solver` computes
the path."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import torch

from genesel.models import HeldOutPredictions
from genesel.prox import Problem
from genesel.screen import SCREENS
from genesel.signal import CLASS_PRIOR, NO_MODEL, SignalTested, ValidationScores


@dataclass
class PathConfig:
    """Settings of the κ-path solver."""

    variant: str = "spred"  # "spred" (Eq. 8) or "spred_linear" (f_l only)
    hidden: int | None = None  # width of the MLP head's two hidden layers (None: 1024)
    n_kappas: int = 20  # path length
    kappa_ratio: float = 0.01  # the path ends at kappa_ratio * kappa_max
    kappas: tuple[float, ...] | None = None  # an explicit path (decreasing) instead of the above
    max_iter: int = 500  # proximal steps per kappa (and per re-admission round)
    # proximal steps per κ warm-started from its neighbour on the path (every κ but the first), over all its
    # re-admission rounds; a model left with KKT violators when they are spent is not certified there. None: max_iter a round
    warm_iter: int | None = None
    # optimality residual relative to 2 * kappa; None: 0.01 for the linear head alone (convex, reached
    # exactly), 0.25 with the ReLU head (piecewise linear: first-order residuals floor at 0.1-0.2, measured)
    kkt_tol: float | None = None
    check_every: int = 10  # steps between KKT checks on the working set
    # a model at a κ is done when its KKT residual is within kkt_tol and its objective changed by at most this share
    # over the last check_every steps (the deeper layers have no certificate of their own: this settles them)
    obj_tol: float = 1e-4
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
    # up the path, the dense start holds, per split, this many genes that cheap screens rank high (genesel.screen),
    # and the first-layer KKT check over all genes admits the others at every κ. None: every gene up to
    # 2,000 genes (the dense start), 2,000 screened genes above that. Not used down the path (it starts empty)
    start_genes: int | None = None
    screens: tuple[str, ...] = SCREENS  # which screens make the start set (genesel.screen)
    # which genes each split's matmuls run on: "per_split" (its own working set; a batch costs its widest split's)
    # or "union" (the union over the batch's splits: the same numbers up to float rounding, at the union's cost).
    # None: per split above 2,000 genes, the union below (where the dense start puts every gene in every split)
    working_sets: str | None = None
    device: str = "auto"
    seed: int = 0
    tf32: bool = True  # TF32 matmuls for the steps on a GPU; KKT checks always run in full float32
    # how κ is chosen on validation: "best" (accuracy, ties to lower log-loss, then sparser) or "1se" (the
    # sparsest model whose validation log-loss is within one standard error of the lowest, glmnet's lambda.1se);
    # "top" (stability halves, genesel.stability): the model at the largest κ of an explicit path, no choice
    choose: str = "best"
    # whether the set shows signal: where the chosen models' validation accuracy gain over the majority class,
    # pooled over the splits, has a p-value above this (genesel.signal: one permutation of the labels for all
    # splits), every split predicts the majority class and its genes are marked "no evidence of class signal".
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
    n_computed: np.ndarray  # (K,) genes in the matmuls (the widest split's working set, or their union)
    diverged: np.ndarray  # (S, K) bool
    device: str
    models: dict = field(default_factory=dict)  # (split, k) -> sparse parameters, with keep_models
    head_val_proba: dict = field(default_factory=dict)  # "linear" / "mlp" -> (S, K, n_val, C), as head_test_proba
    rule: str = "best"  # how choose() picks κ (PathConfig.choose)
    prior_margin_se: float | None = None  # PathConfig.prior_margin_se
    signal_alpha: float | None = 0.05  # PathConfig.signal_alpha
    signal_permutations: int = 999
    seed: int = 0
    start_set: np.ndarray | None = None  # (S, p) bool: each split's screened start (None: dense or path down)
    # (S, K, p) float16: ||∇_i CE|| / 2κ per gene (KKT: <= 1 where v_i = 0, = 1 where not); near 1 for a gene
    # not kept: on the certificate's boundary
    grad_ratio: np.ndarray | None = None

    @property
    def val_acc(self) -> np.ndarray:
        """``(S, K)`` validation accuracy; NaN where a model stopped its path early or diverged."""
        return self.validation.acc

    @property
    def val_loss(self) -> np.ndarray:
        return self.validation.loss

    def usable(self) -> np.ndarray:
        """``(S, K)``: the models with validation predictions (fitted, not diverged). A split where any model diverged
        (its numbers overflow float32 once a gene is in) has none: its gene-free model at κ_max would otherwise be
        chosen without a word, where the split is to be flagged as failed."""
        return np.isfinite(self.val_acc) & ~self.diverged & ~self.diverged.any(1, keepdims=True)

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


#: up the path (the MLP head), a stability half climbs this many of the path's own steps to its fixed κ
#: (genesel.stability): a dense start at one κ learns genes that act only together by chance
CLIMB_STEPS = 4


def choose_kappa(scores: ValidationScores, usable: np.ndarray, n_selected: np.ndarray, kappas: np.ndarray,
                 rule: str = "best", margin: float | None = None) -> np.ndarray:
    """Each split's chosen model (see :meth:`PathResult.choose`) from its validation ``scores``
    ``(..., S, K)``; vectorised over leading axes (the permutations of :func:`genesel.signal.signal_pvalue`)."""
    cand = _beats_prior(scores, usable, margin)
    shape = cand.shape
    full = lambda a: np.broadcast_to(a, shape)  # noqa: E731
    if rule == "top":  # the model at the path's largest κ (a stability half's fixed κ, climbed to from below)
        chosen = np.argmax(full(usable), axis=-1)
        return np.where(usable.any(-1), chosen, NO_MODEL)
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


def kappa_path(kappa_max: float, n_kappas: int, ratio: float) -> np.ndarray:
    """``n_kappas`` log-spaced values from ``kappa_max`` down to ``ratio * kappa_max``."""
    if n_kappas < 2 or not 0 < ratio < 1:
        raise ValueError("a kappa path needs n_kappas >= 2 and 0 < kappa_ratio < 1")
    return kappa_max * np.logspace(0, math.log10(ratio), n_kappas)


def path_kappas(cfg: PathConfig, kappa_max: float) -> tuple[np.ndarray, int]:
    """The κ of the path, decreasing, and how many of them lie above its top (``max_above`` values in the
    path's own ratio, tried up the path only while some model keeps a gene)."""
    if cfg.kappas:
        return np.asarray(cfg.kappas, dtype=float), 0
    kappas = kappa_path(kappa_max, cfg.n_kappas, cfg.kappa_ratio)
    n_above = cfg.max_above if cfg.direction == "up" else 0
    return np.concatenate([kappas[0] * (kappas[0] / kappas[1]) ** np.arange(n_above, 0, -1), kappas]), n_above


@torch.no_grad()
def _evaluate(pb: Problem, X: torch.Tensor) -> dict[str, torch.Tensor]:
    """Class probabilities per head and their mean (``ensemble``) on held-out arrays ``X (M, n, p)``."""
    lin, mlp = pb.logits_from_z(pb.params, pb.first_layer(pb.params, pb.gather(X)))
    out = {name: torch.softmax(h, -1) for name, h in (("linear", lin), ("mlp", mlp)) if h is not None}
    out["ensemble"] = sum(out.values()) / len(out)
    return out


class PathRecorder:
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
        self.grad_ratio = np.full((S, K, p), np.nan, dtype=np.float16)
        self.models: dict = {}

    def keep(self, k: int, pb: Problem) -> None:
        """Store each split's model at κ index ``k`` on the CPU, V as its non-zero rows only."""
        for m in range(pb.M):
            V = pb.params["V"][m]
            rows = torch.nonzero(V.norm(dim=1) > 0).squeeze(1)
            params = {name: t[m].detach().cpu() for name, t in pb.params.items() if name != "V"}
            params["V"] = V.index_select(0, rows).cpu()
            self.models[(m, k)] = {"genes": pb.cols[m, rows].cpu(), "params": params}

    def record(self, k: int, pb: Problem, live: np.ndarray, held_out: dict, iterations, residual) -> None:
        V = pb.params["V"]
        norms = V.norm(dim=2)
        m, j = (t.cpu().numpy() for t in torch.nonzero(pb.valid, as_tuple=True))  # each model's own genes
        genes = pb.cols.cpu().numpy()[m, j]
        self.scores[m, k, genes] = norms.cpu().numpy()[m, j]
        lin_sq = V[..., : pb.C].pow(2).sum(2) if pb.arch.linear_head else torch.zeros_like(norms)
        share = (lin_sq / norms.pow(2).clamp_min(1e-30)).cpu().numpy()
        self.linear_share[m, k, genes] = np.where(norms.cpu().numpy() > 0, share, np.nan)[m, j]
        self.n_selected[:, k] = (norms > 0).sum(1).cpu().numpy()
        self.kkt_residual[:, k] = residual.cpu().numpy()
        self.iterations[:, k] = iterations
        self.n_computed[k] = pb.cols.shape[1]
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
