"""The one table of methods: names, how each is run, display labels, which use a GPU, and what a job costs.

Everything that lists methods (the runner, the CLI, the workflow's GPU resources, figure labels, the cost
plan) reads them from here; the config schema names the same methods and a test keeps the two equal.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from genesel import costs


@dataclass(frozen=True)
class Method:
    """One row of the table of methods. How a method is run follows from its ``solvers``; what a selector
    needs beyond ``X, y`` (its fit parameters), how its regularisation is fixed for stability selection and
    whether it uses the device are declared by its class in :mod:`genesel.baselines`. Its settings and their
    defaults are its entry in ``workflow/schemas/config.schema.yaml`` (a test keeps the two equal)."""

    name: str
    label: str  # how figures and tables name it
    gpu: bool  # a job of it claims a GPU in the workflow (it runs on CUDA when present)
    nonlinear: bool  # can use genes through nonlinear effects (an MLP head, a kernel): the consensus tiers
    #: how it can be run, the first where the settings name no ``solver``: "path" (the certified κ path,
    #: genesel.solver), "sgd" (the paper's lr x κ grid, genesel.train) or "selector" (a scikit-learn selector)
    solvers: tuple[str, ...] = ("sgd",)
    #: for solver "selector": its class in genesel.baselines
    selector: str | None = None
    #: the cost model of one job (genesel.costs): fits, FLOP, peak memory and phases for genesel.plan
    cost: Callable[[costs.Job], costs.JobCost] = costs.spred_family

    @property
    def family(self) -> str:
        """"spred" (batched torch trainer or κ path) or "estimator" (a scikit-learn selector)."""
        return "estimator" if self.selector else "spred"

    def solver(self, params: Mapping) -> str:
        """The solver the settings ``params`` ask for (the default where they name none), checked."""
        solver = params.get("solver", self.solvers[0])
        if solver not in self.solvers:
            raise ValueError(f"methods.{self.name}.solver: {solver!r} is not a solver of {self.name}; "
                             f"it takes {', '.join(self.solvers)}")
        return solver

    def selector_class(self) -> type:
        """The scikit-learn selector class of a "selector" method."""
        from genesel import baselines

        return getattr(baselines, self.selector)

    @property
    def on_device(self) -> bool:
        """Runs on CUDA when present (every GPU method, and a selector that takes the device)."""
        return self.gpu or bool(self.selector and self.selector_class().uses_device)


#: spred and spred_linear along the certified kappa path by default (spred's runs up from a dense start, so
#: its MLP head has learnt pure-interaction genes before the penalty grows; the paper's SGD grid stays
#: available as solver "sgd"; benchmarks/RESULTS.md); the MLP baselines only on the grid
REGISTRY = {m.name: m for m in (
    Method("spred", "spred (Eq. 8)", True, True, ("path", "sgd")),
    Method("spred_linear", "spred, linear head only", True, False, ("path", "sgd")),
    Method("mlp_wd", "MLP + weight decay", True, True),
    Method("mlp_l1", "MLP + naive L1", True, True),
    Method("hsic_lasso", "HSIC-Lasso + SVC", False, True, ("selector",), "HSICLassoSelector", costs.hsic_lasso),
    Method("l1_logistic", "L1 logistic regression", False, False, ("selector",), "L1LogisticSelector",
           costs.l1_logistic),
    Method("limma", "limma moderated t/F + SVC", False, False, ("selector",), "LimmaSelector", costs.limma),
)}
METHODS = tuple(REGISTRY)
GPU_METHODS = frozenset(m.name for m in REGISTRY.values() if m.gpu)
NONLINEAR_METHODS = frozenset(m.name for m in REGISTRY.values() if m.nonlinear)
#: the default solver of the methods that have a κ path
DEFAULT_SOLVER = {m.name: m.solvers[0] for m in REGISTRY.values() if "path" in m.solvers}


def method(name: str) -> Method:
    """The table's row of ``name``, or one clear line naming the methods there are."""
    if name not in REGISTRY:
        raise ValueError(f"unknown method {name!r}; choose from {', '.join(METHODS)}")
    return REGISTRY[name]


def label(method: str) -> str:
    """The display name of a method (its own name when it is not registered)."""
    return REGISTRY[method].label if method in REGISTRY else method
