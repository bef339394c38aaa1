"""spred's settings have one source, the solvers' config classes (PathConfig for the κ path, TrainConfig for
the SGD grid): the schema, every shipped config and SpredSelector are checked against them here."""

from __future__ import annotations

import inspect
from dataclasses import MISSING, fields
from pathlib import Path

import pytest
import yaml

from genesel.registry import DEFAULT_SOLVER, REGISTRY
from genesel.selectors import SpredSelector
from genesel.solver import PathConfig
from genesel.train import TrainConfig

REPO = Path(__file__).resolve().parents[1]
SCHEMA = yaml.safe_load((REPO / "workflow" / "schemas" / "config.schema.yaml").read_text())["$defs"]
CALLER = {"variant", "device", "seed"}  # set by the pipeline (method name, config's device, seed), not by a user
PIPELINE = {"enabled", "relaxed", "mem_mb"}  # read by the workflow, not by a solver
SELECTOR_ONLY = {"solver", "val_fraction", "random_state"}
CONFIGS = sorted((REPO / "config").glob("*.yaml")) + sorted((REPO / ".test" / "config").glob("*.yaml"))


def settings(config_type) -> set[str]:
    return {f.name for f in fields(config_type)} - CALLER


def default(config_type, name):
    f = {f.name: f for f in fields(config_type)}[name]
    return f.default if f.default is not MISSING else f.default_factory()


def test_schema_names_exactly_the_solvers_settings():
    assert set(SCHEMA["spred"]["properties"]) == settings(PathConfig) | settings(TrainConfig) | PIPELINE | {"solver"}
    assert set(SCHEMA["neural"]["properties"]) == settings(TrainConfig) | PIPELINE


@pytest.mark.parametrize("block", ["spred", "neural"])
def test_schema_defaults_are_the_solvers(block):
    for name, entry in SCHEMA[block]["properties"].items():
        if "default" in entry and name not in PIPELINE:
            owners = [c for c in (PathConfig, TrainConfig) if name in settings(c)]
            assert owners, name
            assert all(default(c, name) == entry["default"] for c in owners), name


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.name)
def test_every_configured_spred_setting_is_one_its_solver_takes(path):
    methods = (yaml.safe_load(path.read_text()) or {}).get("methods") or {}
    checked = 0
    for method, params in methods.items():
        if method not in REGISTRY or REGISTRY[method].family != "spred":
            continue
        params = params or {}
        solver = params.get("solver", DEFAULT_SOLVER.get(method, "sgd"))
        known = settings(PathConfig if solver == "path" else TrainConfig) | PIPELINE | {"solver"}
        assert set(params) <= known, f"{path.name} {method}: {set(params) - known}"
        checked += 1
    assert checked or not methods


def test_selector_parameters_are_solver_settings_with_their_defaults():
    signature = inspect.signature(SpredSelector.__init__).parameters
    # None in the selector: the SGD grid's own lrs / kappas (the paper's); no test over splits with one split
    own_default = {"lrs", "kappas", "signal_alpha"}
    for name, parameter in signature.items():
        if name == "self" or name in SELECTOR_ONLY:
            continue
        owners = [c for c in (PathConfig, TrainConfig) if name in {f.name for f in fields(c)}]
        assert owners, f"SpredSelector({name}=) is no solver setting"
        if name not in own_default:
            assert all(default(c, name) == parameter.default for c in owners), name
    selector = SpredSelector(n_kappas=7, max_epochs=11, hidden=8, random_state=3)
    assert (selector.path_config().n_kappas, selector.path_config().hidden, selector.path_config().seed) == (7, 8, 3)
    assert (selector.train_config().max_epochs, selector.train_config().seed) == (11, 3)
