"""Small studies: every stage on 9 to 24 arrays, 2 to 4 classes, three arrays in the smallest class,
odd and even counts, grouped and not, runs, or stops with one line saying what is too small.

GEO holds thousands of studies of 10 to 20 arrays; GDS507 (17 arrays) crashed stability selection in
``splits.equalise_parts`` (``argmax of an empty sequence``) after 11 minutes. The grid is walked with
the simulator, small probes, three splits, two complementary pairs and tiny spred settings.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from genesel.dataset import Dataset
from genesel.errors import DatasetError
from genesel.experiment import run_method
from genesel.preprocess import stack_splits
from genesel.ranking import gene_table
from genesel.simulate import simulate_gds
from genesel.sources.design import Design
from genesel.sources.load import load_dataset
from genesel.splits import PARTS, make_splits
from genesel.stability import complementary_pairs, run_stability

METHODS = {
    "limma": {"ks": [5]},
    "l1_logistic": {"Cs": [1.0]},
    "spred_linear": {"solver": "path", "n_kappas": 3, "kappa_ratio": 0.1, "max_iter": 50},
    "spred": {"solver": "path", "hidden": 8, "n_kappas": 3, "kappa_ratio": 0.1, "max_iter": 30},
}
GRID = [(n, k, grouped) for n in (9, 12, 17, 24) for k in (2, 3, 4) if 3 * k <= n for grouped in (False, True)]


@pytest.fixture(scope="module")
def sources(tmp_path_factory):
    """One simulated GDS per class count (60 arrays, 40 probes), read ungrouped."""
    out = {}
    for k in (2, 3, 4):
        sim = simulate_gds(tmp_path_factory.mktemp(f"k{k}"), name=f"GDSSMALL{k}", n_samples=60, n_probes=40,
                           n_classes=k, seed=k)
        out[k] = load_dataset(sim.soft_path, Design(group="none"))
    return out


def small_study(data: Dataset, n: int, grouped: bool) -> Dataset:
    """``n`` arrays of ``data``: 3 in the first class, the rest shared by the others; grouped: patients of
    two arrays of one class (single arrays where a class has fewer than 6, so it keeps 3 groups)."""
    k = len(data.class_names)
    counts = [3] + [(n - 3) // (k - 1) + (i < (n - 3) % (k - 1)) for i in range(k - 1)]
    rows = np.concatenate([np.flatnonzero(data.y == c)[:m] for c, m in enumerate(counts)])
    groups = None
    if grouped:
        groups = np.empty(n, dtype=object)
        for c in range(k):
            members = np.flatnonzero(data.y[rows] == c)
            size = 1 if len(members) < 6 else 2
            groups[members] = [f"c{c}p{j // size}" for j in range(len(members))]
    return Dataset(f"{data.name}N{n}", data.X[rows], data.probe_ids, data.gene_symbols, data.sample_ids[rows],
                   data.y[rows], data.class_names, groups=groups, metadata={"group": "patient" if grouped else None})


@pytest.mark.parametrize("n, k, grouped", GRID, ids=[f"{n}arrays-{k}classes-{'grouped' if g else 'ungrouped'}"
                                                     for n, k, g in GRID])
def test_every_stage_runs_on_a_small_study(sources, n, k, grouped):
    data = small_study(sources[k], n, grouped)
    assert data.n_samples == n and min(data.class_counts().values()) == 3
    splits = make_splits(data.sample_ids, data.y, n_splits=3, seed=0, groups=data.groups if grouped else None,
                         class_names=data.class_names, name=data.name)
    stacked = stack_splits(data, splits)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # "no signal" notes on 9 arrays are expected
        for method, params in METHODS.items():
            fits = run_method(method, data, stacked, dict(params), device="cpu", seed=0)
            assert len(fits.metrics) == 3
            genes = gene_table(fits, data, splits)
            assert len(genes) == data.n_probes
            stability = run_stability(method, data, dict(params), fits.metrics, pairs=2, seed=0, device="cpu")
            assert stability.probability.shape == (data.n_probes,)


def test_halves_of_seventeen_arrays_keep_every_class_in_training():
    """GDS507's shape (17 arrays, 9 / 8): 25 complementary pairs, as the pipeline runs them."""
    rng = np.random.default_rng(0)
    y = np.repeat([0, 1], [9, 8])
    data = Dataset("GDS507", rng.normal(size=(17, 10)), [f"g{i}" for i in range(10)], [""] * 10,
                   [f"GSM{i}" for i in range(17)], y, ["carcinoma", "normal"])
    table = complementary_pairs(data, pairs=25, seed=0)
    for column in [c for c in table.columns if c.startswith("split_")]:
        parts = table[column].to_numpy()
        assert set(y[parts == "train"]) == {0, 1}
        assert all((parts == part).any() for part in PARTS)  # no part emptied
    sizes = {part: {int((table[c] == part).sum()) for c in table.columns if c.startswith("split_")} for part in PARTS}
    assert all(len(s) == 1 for s in sizes.values())  # equal part sizes, as batched fitting needs


def test_too_few_patients_stops_with_one_line_naming_the_class(sources):
    data = small_study(sources[2], 12, grouped=True)
    groups = data.groups.copy()
    groups[data.y == 0] = ["c0p0", "c0p0", "c0p1"]  # the 3-array class now comes from two patients
    with pytest.raises(DatasetError, match=rf"{data.name}: class '{data.class_names[0]}' has 2 groups \(patients\)"):
        make_splits(data.sample_ids, data.y, n_splits=3, groups=groups, class_names=data.class_names, name=data.name)


def test_stability_on_a_study_too_small_to_halve_is_one_line(sources):
    data = small_study(sources[2], 12, grouped=True)
    data.groups[data.y == 0] = ["c0p0", "c0p0", "c0p1"]
    metrics = pd.DataFrame({"hyperparameters": ['{"C": 1.0}'], "failed": [False]})
    with pytest.raises(DatasetError, match=rf"stability selection: the study is too small to halve: class "
                                           rf"'{data.class_names[0]}' has 2 groups"):
        run_stability("l1_logistic", data, {"Cs": [1.0]}, metrics, pairs=2)
