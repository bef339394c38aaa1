"""The one registry of methods: names, what runs them, display labels, which use a GPU, and what a job costs.

Everything that lists methods (the runner, the CLI, the workflow's GPU resources, figure labels, the cost
plan) reads them from here; the config schema names the same methods and a test keeps the two equal.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from genesel import costs


@dataclass(frozen=True)
class Method:
    name: str
    label: str  # how figures and tables name it
    family: str  # "spred" (batched torch trainer or kappa path) or "estimator" (a scikit-learn selector)
    gpu: bool  # runs on CUDA when present
    nonlinear: bool  # can use genes through nonlinear effects (an MLP head, a kernel): the consensus tiers
    default_solver: str | None = None  # spred and spred_linear: "sgd" (the paper's grid) or "path" (kappa path)
    #: the cost model of one job (genesel.costs): fits, FLOP, peak memory and phases for genesel.plan
    cost: Callable[[costs.Job], costs.JobCost] = costs.spred_family


#: solver when the settings name none: spred and spred_linear along the certified kappa path (spred's runs up
#: from a dense start, so its MLP head has learnt pure-interaction genes before the penalty grows; the paper's
#: SGD grid stays available as solver "sgd"; benchmarks/RESULTS.md); the MLP baselines only on the grid
REGISTRY = {m.name: m for m in (
    Method("spred", "spred (Eq. 8)", "spred", True, True, "path"),
    Method("spred_linear", "spred, linear head only", "spred", True, False, "path"),
    Method("mlp_wd", "MLP + weight decay", "spred", True, True),
    Method("mlp_l1", "MLP + naive L1", "spred", True, True),
    Method("hsic_lasso", "HSIC-Lasso + SVC", "estimator", False, True, cost=costs.hsic_lasso),
    Method("l1_logistic", "L1 logistic regression", "estimator", False, False, cost=costs.l1_logistic),
    Method("limma", "limma moderated t/F + SVC", "estimator", False, False, cost=costs.limma),
)}
METHODS = tuple(REGISTRY)
GPU_METHODS = frozenset(m.name for m in REGISTRY.values() if m.gpu)
NONLINEAR_METHODS = frozenset(m.name for m in REGISTRY.values() if m.nonlinear)
DEFAULT_SOLVER = {m.name: m.default_solver for m in REGISTRY.values() if m.default_solver}


def label(method: str) -> str:
    """The display name of a method (its own name when it is not registered)."""
    return REGISTRY[method].label if method in REGISTRY else method
