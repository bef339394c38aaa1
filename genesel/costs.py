"""What one job of a method costs: fits, floating-point operations, sequential steps and peak memory.

Each method family has one cost model here, named in the table of methods (:mod:`genesel.registry`); the κ
path's is in :mod:`genesel.pathcosts`. A model counts what the method's code does (``genesel.train`` for the SGD
grid, ``genesel.solver`` for the κ path, ``genesel.baselines`` for the scikit-learn style selectors) on a dataset of
a given size, for one job: the ``select`` job fits every split, the ``stability`` job every half of the
complementary pairs with the regularisation fixed. It returns :class:`Phase` entries; :mod:`genesel.plan` turns
each into seconds with two rates measured on the device at the plan's start (a fixed cost per sequential step and
work per second).

What the code decides at run time (epochs to convergence, proximal steps per κ, genes left after pruning)
cannot be counted in advance; the constants in :data:`TYPICAL` stand in for it, set from the offline demo's
measured jobs (``benchmarks/plan_accuracy.py``). A model can be wrong by more than that where a set converges
unusually slowly; the report's timing table shows predicted against measured time of every job.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, fields

from genesel.errors import GeneselError

#: run-time behaviour the cost models cannot count, as typical values (benchmarks/plan_accuracy.py)
TYPICAL = {
    # mean epochs of an SGD model, as a share of max_epochs (early stopping; demo: 0.61-0.80 spred, 0.83 mlp_l1,
    # 0.96 mlp_wd, whose weight decay makes no zeros for the active set to settle on)
    "sgd_epoch_share": {"spred": 0.7, "spred_linear": 0.7, "mlp_wd": 0.95, "mlp_l1": 0.85},
    "sgd_pruned_share": 0.8,  # genes left in the matmuls of a masked model, averaged over its epochs (demo 0.85-0.96)
    "sgd_elementwise": 20.0,  # passes over the parameters per epoch (gradients, momentum, decay, pruning)
    # proximal steps per κ, the slowest split's (demo: 28-90 at 40-200 steps per κ cap; GDS scale, 20 splits: median
    # 70, mean 148, up to 380 since obj_tol 1e-4; per split 27-141 over 16 path jobs, more where the models keep
    # more genes, which no plan sees before the first fit; every path job of the demo, the shared sets and GDS scale
    # within 2x, RESULTS.md)
    "path_iterations": 80,
    "path_rounds": 1.2,  # solves per κ (KKT re-admission rounds)
    # passes over V per proximal step (FISTA copies, prox, backtracking) and element-wise passes over the
    # activations per forward-pass equivalent: fitted to single proximal steps of 20 batched models timed at 12 to
    # 2,000 genes on ALL/AML and LYMPHOMA (benchmarks/path_step_times.py: within 0.98-1.26x of each), where 30 and
    # 10 had charged 1.4-1.8x the measured time
    "path_elementwise": 16.0,
    "path_activation_passes": 5.0,
    "path_dense_iterations": 0.8,  # share of max_iter the dense start takes (up the path, smallest κ)
    # passes per proximal step, counted in genesel.prox: the first layer's (2 n w k_in) once for the deeper layers'
    # block (held there), then forward, V's gradient and the candidate's loss in V's block, plus backtracking on the
    # models still backtracking; the deeper layers' forward-pass equivalents: forward, backward and candidate in both
    "path_first_evals": 4.5,
    "path_deep_evals": 7.5,
    # the L1-logistic path per C (genesel.l1path at 120 x 54,675, 4 C: 250-530 steps, 1-3 checks, <= 200 genes)
    "l1_kkt_checks": 3,
    "l1_steps": 500,
    "l1_working_set": 200,
    "hsic_ops": 30.0,  # operations per stored kernel value when building HSIC-Lasso's kernels
}

#: settings that are not the solver's (workflow bookkeeping)
NOT_SOLVER = {"enabled", "mem_mb", "relaxed", "solver"}


class PlanError(GeneselError):
    """A config the plan cannot cost; the one-line message names the key."""

    def __init__(self, problem: str) -> None:
        super().__init__(None, problem)


@dataclass(frozen=True)
class Shape:
    """A dataset's size as the plan sees it: arrays, probes, classes, and where the figures come from."""

    n: int
    p: int
    classes: int
    source: str = "config"
    estimated: bool = False  # a stated default (not downloaded), not read from the data
    grouped: bool = False  # some patient gave several arrays (limma then fits the patients as blocks)

    def parts(self, fractions: tuple[float, float]) -> tuple[int, int, int]:
        """Arrays in training, validation and test for the given training and validation shares."""
        n_tr = max(2, round(fractions[0] * self.n))
        n_va = max(1, round(fractions[1] * self.n))
        return n_tr, n_va, max(0, self.n - n_tr - n_va)


@dataclass(frozen=True)
class Phase:
    """Part of a job: ``steps`` sequential steps on a ``kind`` of work (each pays that kind's fixed cost) and
    ``work`` units of it (FLOP for torch kinds, the kind's own unit otherwise)."""

    kind: str
    steps: float
    work: float


@dataclass(frozen=True)
class JobCost:
    """One job's cost: fits, FLOP (torch), peak memory in bytes, what it is made of, and its phases."""

    fits: int
    flop: float
    peak_bytes: float
    detail: str
    phases: tuple[Phase, ...]


@dataclass(frozen=True)
class Job:
    """What a cost model is asked about: a method's settings on a dataset, for ``S`` fits of ``fractions``
    (training, validation shares); ``fixed``: the stability job, regularisation fixed to one value."""

    method: str
    settings: dict
    shape: Shape
    S: int
    fractions: tuple[float, float]
    fixed: bool
    device: str  # "cpu" or "cuda": where the torch parts run
    memory_bytes: float  # what the trainer's memory budget sees (a quarter of RAM, 60% of free GPU memory)


def solver_settings(job: Job, config_type, extra: frozenset = frozenset()):
    """The method's settings as its solver's config (``config_type``), each unknown key named."""
    params = {k: v for k, v in job.settings.items() if k not in NOT_SOLVER}
    known = {f.name for f in fields(config_type)} - {"variant", "device", "seed"}
    for key in sorted(set(params) - known - extra):
        raise PlanError(f"methods.{job.method}.{key}: not a setting of {job.method}'s solver; it takes "
                        f"{', '.join(sorted(known | extra))}")
    try:
        return config_type(variant=job.method, **{k: v for k, v in params.items() if k in known})
    except (TypeError, ValueError) as exc:
        raise PlanError(f"methods.{job.method}: {exc}") from None


def _number(job: Job, key: str, value, minimum: float = 0, integer: bool = False):
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and value >= minimum
    if not ok or (integer and int(value) != value):
        kind = "an integer" if integer else "a number"
        raise PlanError(f"methods.{job.method}.{key}: {value!r} is not {kind} >= {minimum:g}")
    return value


def _grid(job: Job, key: str, values) -> tuple:
    if not isinstance(values, (list, tuple)) or not values:
        raise PlanError(f"methods.{job.method}.{key}: {values!r} is not a non-empty list")
    for v in values:
        _number(job, key, v)
    return tuple(values)


# -- the spred family on the paper's SGD grid (genesel.train) --------------------------------------------------
def _widths(method: str, hidden: int | None, C: int) -> tuple[int, tuple[int, ...]]:
    """First-layer outputs per gene and the MLP head's hidden widths, from the variant's row of
    :data:`genesel.models.VARIANTS`."""
    arch = _architecture(method, hidden)
    return arch.first_layer_width(C), arch.hidden


def _architecture(method: str, hidden: int | None):
    from genesel.models import make_architecture

    return make_architecture(method, hidden)


def _deep_flop(n: int, widths: tuple[int, ...], C: int) -> float:
    """Forward FLOP of the layers behind the first, for ``n`` arrays."""
    flop = sum(2 * n * a * b for a, b in zip(widths[:-1], widths[1:]))
    return flop + (2 * n * widths[-1] * C if widths else 0)


def sgd_model_flop(method: str, hidden: int | None, n_tr: int, n_va: int, p: float, C: int, check: int) -> float:
    """FLOP of one model's epoch on ``p`` genes (forward and backward, about 3x the forward), with its share
    of the validation forward pass made every ``check`` epochs."""
    k_in, widths = _widths(method, hidden, C)
    epoch = 3 * (2 * n_tr * p * k_in + _deep_flop(n_tr, widths, C))
    return epoch + (2 * n_va * p * k_in + _deep_flop(n_va, widths, C)) / check


def sgd_grid(job: Job) -> JobCost:
    """``train_grid``: every split x grid point batched, full-batch epochs until each model settles or reaches
    ``max_epochs``; the chunk runs until its slowest model stops, so steps follow the cap."""
    from genesel.train import TrainConfig

    cfg = solver_settings(job, TrainConfig)
    hidden = cfg.hidden if cfg.hidden is None else _number(job, "hidden", cfg.hidden, 1, True)
    lrs, kappas = _grid(job, "lrs", cfg.lrs), _grid(job, "kappas", cfg.kappas)
    cap = _number(job, "max_epochs", cfg.max_epochs, 1, True)
    check = _number(job, "check_every", cfg.check_every, 1, True)
    G = 1 if job.fixed else len(lrs) * len(kappas)
    C, p = job.shape.classes, job.shape.p
    n_tr, n_va, n_te = job.shape.parts(job.fractions)
    k_in, widths = _widths(job.method, hidden, C)
    masked = _architecture(job.method, hidden).mask
    p_eff = p * (TYPICAL["sgd_pruned_share"] if masked and cfg.prune else 1.0)
    M = job.S * G
    if cfg.early_stopping:  # a model stops `patience` epochs after its best check, from min_epochs on (the demo's and
        # GDS scale's MLP baselines stopped at 110-250 epochs)
        mean_epochs, slowest = min(cap, cfg.min_epochs + cfg.patience), min(cap, cfg.min_epochs + 2 * cfg.patience)
        if job.fixed:  # every half trains for the select job's median best epoch (10 at GDS scale, 60-710 on the
            # demo), somewhere in [min_epochs, max_epochs]: their geometric middle errs by at most sqrt(max / min)
            mean_epochs = slowest = round(math.sqrt(max(1, min(cfg.min_epochs, cap)) * cap))
    else:
        share = TYPICAL["sgd_epoch_share"].get(job.method, 1.0)  # a variant not measured yet: every epoch (a bound)
        mean_epochs, slowest = min(cap, max(cfg.min_epochs, share * cap)), cap
    n_params = p * k_in + (p if masked else 0) + sum(a * b for a, b in zip(widths[:-1], widths[1:])) + \
        (widths[-1] * C if widths else 0)
    per_model = 4 * (3 * n_params + n_tr * (2 * p + 2 * k_in + 4 * sum(widths))) + 4 * (n_va + n_te) * p
    data = 4 * job.S * job.shape.n * p
    budget = cfg.memory_budget_gb * 2**30 if cfg.memory_budget_gb else job.memory_bytes
    chunk = max(1, min(M, int((budget - data) // max(per_model, 1))))
    chunks = math.ceil(M / chunk)
    flop = M * mean_epochs * sgd_model_flop(job.method, hidden, n_tr, n_va, p_eff, C, check) + M * 2 * n_te * p * k_in
    elementwise = M * mean_epochs * (TYPICAL["sgd_elementwise"] * n_params + 10 * n_tr * (k_in + sum(widths)))
    phases = (Phase("sgd", chunks * slowest, flop), Phase("elementwise", 0, elementwise),
              Phase("sgd_check", chunks * slowest / check * min(M, chunk) * mean_epochs / slowest, 0.0))
    grid = "fixed lr and kappa" if job.fixed else f"{len(lrs)} lr x {len(kappas)} kappa"
    epochs = f"<= {cap} epochs"
    if job.fixed and cfg.early_stopping:  # known once the select job has run (the timing table costs it then)
        epochs = f"the select job's median best epoch (assumed {mean_epochs:g})"
    detail = f"{job.S} x {grid}, {epochs}" + _permutations(cfg.signal_alpha, cfg.signal_permutations)
    return JobCost(M, flop, data + min(M, chunk) * per_model, detail,
                   phases + _signal(job, cfg.signal_alpha, cfg.signal_permutations, G, n_va, C))


def _permutations(alpha, permutations) -> str:
    return "" if alpha is None else f", x {permutations} permutations (signal test, no refit)"


def _signal(job: Job, alpha, permutations, models: int, n_va: int, C: int) -> tuple[Phase, ...]:
    """The test over splits (genesel.signal): validation scores recomputed under each permutation, no refit."""
    if alpha is None:
        return ()
    B = _number(job, "signal_permutations", permutations, 1, True)
    return (Phase("signal", math.ceil(B / 100), B * job.S * models * n_va * (C + 8)),)


def spred_family(job: Job) -> JobCost:
    """spred, spred_linear and the MLPs: the κ path or the SGD grid, as the settings' ``solver`` says."""
    from genesel.registry import REGISTRY

    solver = job.settings.get("solver", REGISTRY[job.method].solvers[0])
    if solver not in REGISTRY[job.method].solvers:
        raise PlanError(f"methods.{job.method}.solver: {solver!r} is not a solver of {job.method}")
    if solver == "path":
        from genesel.pathcosts import kappa_path

        return kappa_path(job)
    return sgd_grid(job)


# -- scikit-learn style selectors (genesel.baselines) ----------------------------------------------------------
def _estimator_settings(job: Job, selector) -> dict:
    import inspect

    params = {k: v for k, v in job.settings.items() if k not in NOT_SOLVER}
    known = set(inspect.signature(selector.__init__).parameters) - {"self", "device", "random_state"}
    for key in sorted(set(params) - known):
        raise PlanError(f"methods.{job.method}.{key}: not a setting of {job.method}; it takes "
                        f"{', '.join(sorted(known))}")
    defaults = {k: p.default for k, p in inspect.signature(selector.__init__).parameters.items() if k in known}
    return {**defaults, **params}


def l1_path_work(n_Cs: int, n_tr: int, p: int, classes: int) -> float:
    """Work of the L1 path (:mod:`genesel.l1path`) over ``n_Cs`` values of C, in multiply-adds: a few KKT
    checks over every gene per C (``X^T R``) and proximal steps on a working set of at most a few hundred genes."""
    working_set = min(p, TYPICAL["l1_working_set"])
    return n_Cs * n_tr * classes * (TYPICAL["l1_kkt_checks"] * p + TYPICAL["l1_steps"] * working_set)


def l1_logistic(job: Job) -> JobCost:
    """The L1 path over the Cs, warm-started, on working sets checked against every gene (genesel.l1path)."""
    from genesel.baselines import L1LogisticSelector

    s = _estimator_settings(job, L1LogisticSelector)
    Cs = 1 if job.fixed else len(_grid(job, "Cs", s["Cs"]))
    n_tr, _, _ = job.shape.parts(job.fractions)
    work = job.S * l1_path_work(Cs, n_tr, job.shape.p, job.shape.classes)
    data = 8 * job.S * job.shape.n * job.shape.p / 2 + 8 * 4 * job.shape.n * job.shape.p
    return JobCost(job.S * Cs, 0.0, data, f"{job.S} x {Cs} C", (Phase("l1path", job.S * Cs, work),))


def hsic_lasso(job: Job) -> JobCost:
    """Block kernels of every gene (``p x n/B x M x B(B+1)/2`` values), then one pass over them per gene that
    enters the LARS path; an RBF SVC per C on the chosen genes."""
    from genesel.baselines import HSICLassoSelector

    s = _estimator_settings(job, HSICLassoSelector)
    B = _number(job, "block_size", s["block_size"], 2, True)
    M = _number(job, "n_permutations", s["n_permutations"], 1, True)
    k = _number(job, "n_features", s["n_features"], 1, True)
    budget = _number(job, "memory_budget_gb", s["memory_budget_gb"]) * 2**30
    n_tr, _, _ = job.shape.parts(job.fractions)
    B = min(B, n_tr)
    blocks = n_tr // B
    D = blocks * (M if blocks > 1 else 1) * B * (B + 1) // 2
    p = job.shape.p
    stored = 4 * p * D if 4 * p * D <= 0.7 * budget else 2 * p * D
    work = job.S * p * D * (TYPICAL["hsic_ops"] + 2 * (k + 1))
    Cs = 1 if job.fixed else len(_grid(job, "Cs", s["Cs"]))
    return JobCost(job.S, job.S * p * D * 2 * (k + 1), stored + 4 * job.S * job.shape.n * p,
                   f"{job.S} x {k} genes, then {Cs} C", (Phase("hsic", job.S * (k + 1), work),))


def limma(job: Job) -> JobCost:
    """Moderated statistics of every gene (closed form), then a classifier per (k, C) on the top k genes."""
    from genesel.baselines import LimmaSelector

    s = _estimator_settings(job, LimmaSelector)
    fits = 1 if job.fixed else len(_grid(job, "ks", s["ks"])) * len(_grid(job, "Cs", s["Cs"]))
    n_tr, _, _ = job.shape.parts(job.fractions)
    work = job.S * n_tr * job.shape.p
    phases = (Phase("limma", job.S * fits, work),)
    if job.shape.grouped:  # duplicateCorrelation and GLS on every split's training arrays (genesel.limma_blocks)
        phases += (Phase("limma_blocks", job.S, work),)
    detail = f"{job.S} x {fits} (k, C)" + (", patients as blocks" if job.shape.grouped else "")
    return JobCost(job.S * fits, 0.0, 8 * 6 * job.shape.n * job.shape.p, detail, phases)


def preprocessing(job: Job) -> Phase:
    """Per-split preprocessing (median imputation, log2 decision, scaling) of every part, per value of the data:
    its rate is the real code's (genesel.throughput)."""
    return Phase("preprocess", job.S, job.S * job.shape.n * job.shape.p)


def memory_budget() -> float:
    """What the SGD trainer budgets for its models on the CPU: a quarter of RAM (genesel.train)."""
    try:
        return 0.25 * os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError):
        return 2.0 * 2**30
