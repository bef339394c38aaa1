"""The table of methods (genesel.registry) is the one place a method is declared: every configured method has
a row, every row can be run and fixed for stability selection, and the runner does not branch on names."""

from __future__ import annotations

import ast
import dataclasses
from pathlib import Path

import numpy as np
import pytest
import yaml

from genesel import baselines, registry
from genesel.experiment import RUNNERS
from genesel.preprocess import StackedSplits
from genesel.stability import FIXERS, fixed_settings

ROOT = Path(__file__).resolve().parents[1]
CONFIGS = sorted((ROOT / "config").glob("*.yaml")) + [ROOT / ".test" / "config" / "config.yaml"]
#: the modules that dispatch on the table: none may compare anything with a method's name
DISPATCHERS = ["experiment.py", "stability.py", "plan.py", "registry.py"]


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_configured_method_has_a_row(path):
    config = yaml.safe_load(path.read_text()) or {}
    missing = sorted(set(config.get("methods") or {}) - set(registry.REGISTRY))
    assert not missing, f"{path.relative_to(ROOT)} configures {missing}, which the table of methods lacks"


def test_every_schema_method_has_a_row():
    schema = yaml.safe_load((ROOT / "workflow" / "schemas" / "config.schema.yaml").read_text())
    assert set(schema["properties"]["methods"]["properties"]) == set(registry.REGISTRY)


@pytest.mark.parametrize("name", registry.METHODS)
def test_every_row_can_be_run_and_fixed(name):
    row = registry.REGISTRY[name]
    assert row.solvers and all(s in RUNNERS and s in FIXERS for s in row.solvers)
    assert row.solver({}) == row.solvers[0]
    assert ("selector" in row.solvers) == (row.selector is not None)
    if row.selector:
        cls = row.selector_class()
        assert issubclass(cls, baselines.SplitSelector)
        carried = {f.name for f in dataclasses.fields(StackedSplits)}  # what each split carries
        assert set(cls.split_fit_params) <= carried - {"X", "y", "index", "kept", "log2_applied"}


def test_an_unknown_solver_or_method_is_one_clear_line():
    with pytest.raises(ValueError, match=r"methods.mlp_wd.solver: 'path' is not a solver of mlp_wd; it takes sgd"):
        registry.REGISTRY["mlp_wd"].solver({"solver": "path"})
    with pytest.raises(ValueError, match="unknown method 'lasso'; choose from spred"):
        registry.method("lasso")


def _name_comparisons(path: Path) -> list[str]:
    """``x == "limma"``, ``m in ("spred", ...)``, ``m.startswith("spred")`` and ``match`` cases on a method's name."""
    names = set(registry.METHODS)
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        operands = []
        if isinstance(node, ast.Compare):
            operands = [node.left, *node.comparators]
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in (
                "startswith", "endswith"):
            operands = node.args
        elif isinstance(node, ast.MatchValue):
            operands = [node.value]
        for op in operands:
            elts = op.elts if isinstance(op, (ast.Tuple, ast.List, ast.Set)) else [op]
            if any(isinstance(e, ast.Constant) and e.value in names for e in elts):
                found.append(f"{path.name}:{node.lineno}: {ast.unparse(node)}")
    return found


@pytest.mark.parametrize("module", DISPATCHERS)
def test_no_branch_on_a_method_name(module):
    assert _name_comparisons(ROOT / "genesel" / module) == []


def test_the_name_scan_finds_a_branch(tmp_path):
    code = tmp_path / "x.py"
    code.write_text('if method == "limma":\n    pass\nok = f in ("spred", "x") or m.startswith("mlp_l1") or m.startswith("mlp")\n')
    assert len(_name_comparisons(code)) == 3  # a prefix that is no method's name is not counted


def test_a_new_selector_method_needs_only_its_class_and_row(monkeypatch):
    """A method added as a selector class and a table row runs and is fixed for stability selection."""
    from genesel.dataset import Dataset
    from genesel.experiment import run_method
    from genesel.preprocess import stack_splits
    from genesel.splits import make_splits

    class TopVariance(baselines.LimmaSelector):
        """limma's classifier on the most variable genes (a stand-in new method)."""

    monkeypatch.setattr(baselines, "TopVariance", TopVariance, raising=False)
    row = registry.Method("top_variance", "top variance", False, False, ("selector",), "TopVariance")
    monkeypatch.setitem(registry.REGISTRY, row.name, row)
    rng = np.random.default_rng(0)
    y = np.repeat([0, 1], 20)
    X = rng.normal(8, 1, size=(40, 30)) + 2.0 * y[:, None] * (np.arange(30) < 3)
    ids = [f"S{i}" for i in range(40)]
    dataset = Dataset("SIM", X, [f"g{i}" for i in range(30)], [""] * 30, ids, y, ["a", "b"])
    stacked = stack_splits(dataset, make_splits(ids, y, n_splits=2, seed=0))
    result = run_method("top_variance", dataset, stacked, {"ks": [3, 5], "Cs": [1.0]}, device="cpu")
    assert list(result.metrics["method"]) == ["top_variance"] * 2 and not result.metrics["failed"].any()
    assert fixed_settings("top_variance", {"ks": [3, 5]}, result.metrics, 4)["ks"] == [4]


#: settings the pipeline reads itself (not the selector)
PIPELINE = {"enabled", "relaxed", "mem_mb"}


@pytest.mark.parametrize("name", [m.name for m in registry.REGISTRY.values() if m.selector])
def test_a_selectors_schema_entry_is_its_settings_with_its_defaults(name):
    """The schema entry of a selector method names only the class's parameters, with the class's defaults."""
    import inspect

    schema = yaml.safe_load((ROOT / "workflow" / "schemas" / "config.schema.yaml").read_text())
    entry = schema["properties"]["methods"]["properties"][name]["properties"]
    params = inspect.signature(registry.REGISTRY[name].selector_class().__init__).parameters
    assert set(entry) - PIPELINE <= set(params) - {"self", "device", "random_state"}
    for key in set(entry) - PIPELINE:
        if "default" in entry[key]:
            assert entry[key]["default"] == params[key].default, f"methods.{name}.{key}"
