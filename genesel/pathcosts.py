"""What spred and spred_linear cost along the κ path (:mod:`genesel.solver`): proximal steps on a working set of
genes at each κ, a KKT check over every gene per solve, the dense start up the path. The shared pieces (settings,
widths, the signal test) are :mod:`genesel.costs`'s."""

from __future__ import annotations

from genesel.costs import (
    TYPICAL,
    Job,
    JobCost,
    Phase,
    _deep_flop,
    _grid,
    _number,
    _permutations,
    _signal,
    _widths,
    solver_settings,
)


def dense_start_genes(cfg, p: int) -> int:
    """Genes in one split's matmuls at the dense start up the path (the first and costliest solve with the MLP
    head): the screened start set (:func:`genesel.screen.check_start_genes`: every gene up to 2,000, else
    ``start_genes``) where each split computes on its own set (``working_sets``: per split by default above
    2,000 genes); every gene, as an upper bound, where the splits share the union of their sets."""
    from genesel.screen import AUTO_START, check_start_genes

    size = check_start_genes(cfg.start_genes, p)
    if size is None:
        return p
    per_split = p > AUTO_START if cfg.working_sets is None else cfg.working_sets == "per_split"
    return size if per_split else p


def kappa_path(job: Job) -> JobCost:
    """``solve_path``: the splits' models batched, proximal steps on a working set of genes at each κ, a KKT
    check over every gene per solve. Down the path (linear head) the working set is the active genes plus
    ``ws_min`` candidates; up the path (MLP head) the first solve starts dense (:func:`dense_start_genes`)."""
    from genesel.solver import PathConfig

    cfg = solver_settings(job, PathConfig)
    hidden = cfg.hidden if cfg.hidden is None else _number(job, "hidden", cfg.hidden, 1, True)
    max_iter = _number(job, "max_iter", cfg.max_iter, 1, True)
    C, p = job.shape.classes, job.shape.p
    n_tr, n_va, n_te = job.shape.parts(job.fractions)
    k_in, widths = _widths(job.method, hidden, C)
    up = (cfg.direction or ("up" if widths else "down")) == "up"
    K = _path_points(job, cfg, up)
    ws = min(p, cfg.ws_min + 2 * min(p, n_tr)) if cfg.screen else p  # a model keeps at most n_tr genes
    S, deep = job.S, _deep_flop(n_tr, widths, C)
    step = lambda w: path_step_flop(job.method, hidden, n_tr, w, C, S)  # noqa: E731
    # the KKT check: ‖X_iᵀ δ‖ for every gene, through δᵀ's triangular factor where k_in > n_tr (genesel.prox)
    full_check = S * (2 * n_tr * p * min(k_in, n_tr) + deep)
    warm = cfg.warm_iter if cfg.warm_iter is None else _number(job, "warm_iter", cfg.warm_iter, 1, True)
    steps = min(TYPICAL["path_iterations"], warm or max_iter) * K * TYPICAL["path_rounds"]
    flop = steps * step(ws) + K * TYPICAL["path_rounds"] * full_check
    first = min(p, dense_start_genes(cfg, p)) if up else ws
    if up:
        dense = TYPICAL["path_dense_iterations"] * max_iter
        steps += dense
        flop += dense * step(first)
    flop += K * S * (n_va + n_te) * (2 * ws * k_in + deep / n_tr)  # validation and test predictions per κ
    flop += S * 30 * 4 * n_tr * p  # the step sizes' power iterations
    kind = "path" if widths else "path_linear"
    params = ws * k_in + _deep_flop(1, widths, C) / 2  # V on the working set and the deeper layers' weights
    activations = TYPICAL["path_activation_passes"] * TYPICAL["path_deep_evals"] * n_tr * (k_in + sum(widths))
    per_step = S * (TYPICAL["path_elementwise"] * params + activations)
    phases = (Phase(kind, steps, flop), Phase("elementwise", 0, steps * per_step))
    detail = _path_detail(job, K, up) + _permutations(cfg.signal_alpha, cfg.signal_permutations)
    return JobCost(S * K, flop, _path_memory(job, K, first, k_in, widths), detail,
                   phases + _signal(job, cfg.signal_alpha, cfg.signal_permutations, K, n_va, C))


def _path_points(job: Job, cfg, up: bool) -> int:
    """κ values one split solves: the grid, plus the climb past κ_max up the path (it stops once no model keeps a
    gene); the stability job's one fixed κ, climbed to from a dense start up the path."""
    if cfg.kappas:
        K = len(_grid(job, "kappas", cfg.kappas))
    else:
        K = _number(job, "n_kappas", cfg.n_kappas, 2, True)
        _number(job, "kappa_ratio", cfg.kappa_ratio)
    if job.fixed:
        from genesel.kappa_path import CLIMB_STEPS

        return 1 + (CLIMB_STEPS if up else 0)
    return K + cfg.max_above // 2 if up and not cfg.kappas else K


def _path_detail(job: Job, K: int, up: bool) -> str:
    points = (f"{K} kappas up to the fixed one" if K > 1 else "1 fixed kappa") if job.fixed else f"{K} kappas"
    return f"{job.S} x {points}, " + ("from a dense start, up" if up else "down from no gene")


def _path_memory(job: Job, K: int, first: int, k_in: int, widths: tuple[int, ...]) -> float:
    """Peak bytes: the stacked splits and their copy on the device, ``V`` at the widest working set with its
    FISTA copies and gradients, the activations, and the path's recorded scores and predictions."""
    S, (n_tr, n_va, n_te) = job.S, job.shape.parts(job.fractions)
    data = 4 * S * job.shape.n * job.shape.p * 2
    V = 4 * S * first * k_in * 8
    acts = 4 * S * n_tr * (k_in + 4 * sum(widths)) * 3
    recorded = 4 * S * K * (job.shape.p * 2 + (n_va + n_te) * job.shape.classes * 4)
    return data + V + acts + recorded


def path_step_flop(method: str, hidden: int | None, n_tr: int, w: float, C: int, S: int) -> float:
    """FLOP of one proximal step of ``S`` models on a working set of ``w`` genes: the first layer's and the deeper
    layers' passes of both blocks (gradients, candidates, backtracking)."""
    k_in, widths = _widths(method, hidden, C)
    return S * (TYPICAL["path_first_evals"] * 2 * n_tr * w * k_in + TYPICAL["path_deep_evals"] * _deep_flop(n_tr, widths, C))
