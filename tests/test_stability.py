"""Stability selection with complementary pairs: the halves, q from the error level, the bound."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from genesel.dataset import Dataset
from genesel.stability import (
    complementary_pairs,
    error_bound,
    fixed_settings,
    genes_per_half,
    run_stability,
    top_q,
)


def planted(n=80, p=200, seed=0, groups=None) -> Dataset:
    rng = np.random.default_rng(seed)
    y = np.repeat([0, 1], n // 2)
    X = rng.normal(8, 1, (n, p))
    X[:, :3] += 1.5 * y[:, None]  # three real genes
    return Dataset("STAB", X, [f"g{i}" for i in range(p)], [""] * p, [f"S{i}" for i in range(n)], y, ["a", "b"],
                   groups=groups)


def test_q_is_the_largest_that_keeps_the_bound_at_the_error_level():
    for p, tau, ev in [(100, 0.75, 1.0), (7129, 0.6, 0.5), (54675, 0.9, 2.0)]:
        q = genes_per_half(p, tau, ev)
        assert error_bound(q, p, tau) <= ev < error_bound(q + 1, p, tau)
    with pytest.raises(ValueError, match=r"\(0.5, 1\]"):
        genes_per_half(100, 0.5)


def test_complementary_halves_are_disjoint_equal_and_keep_patients_whole():
    groups = np.repeat([f"P{i}" for i in range(20)], 4)
    data = planted(groups=groups)
    table = complementary_pairs(data, pairs=6, seed=1)
    columns = [c for c in table.columns if c.startswith("split_")]
    assert len(columns) == 12
    sizes = {int((table[c] == "train").sum()) for c in columns}
    assert len(sizes) == 1 and sizes.pop() <= data.n_samples // 2
    for a, b in zip(columns[::2], columns[1::2]):
        assert not ((table[a] == "train") & (table[b] == "train")).any()  # the two halves never share an array
        for column in (a, b):
            train_groups = set(table.group[table[column] == "train"])
            other = set(table.group[table[column].isin(["val", "test"])])
            assert not train_groups & other  # a patient is in one half only
    for column in columns:  # both classes in every half
        assert set(data.y[(table[column] == "train").to_numpy()]) == {0, 1}


def test_top_q_keeps_only_selected_genes():
    scores = np.array([[0.9, 0.5, 0.4, 0.0], [0.1, 0.0, 0.0, 0.0]])
    kept = top_q(scores, scores > 0, 2)
    assert kept.tolist() == [[True, True, False, False], [True, False, False, False]]


def test_fixed_settings_take_the_most_chosen_regularisation():
    metrics = pd.DataFrame({"hyperparameters": [json.dumps({"C": c}) for c in (0.1, 1.0, 1.0)], "failed": False})
    assert fixed_settings("l1_logistic", {"Cs": [0.1, 1.0]}, metrics, 5) == {"Cs": [1.0]}
    path = pd.DataFrame({"hyperparameters": [json.dumps({"kappa": k, "kappa_over_max": 0.1}) for k in (0.1, 0.2, 0.4)],
                         "failed": False})
    assert fixed_settings("spred_linear", {}, path, 5) == {"kappas": [0.2]}
    prior = json.dumps({"kappa": None, "model": "class prior"})  # a split that kept no model: not in the median
    with_prior = pd.concat([path, pd.DataFrame({"hyperparameters": [prior] * 2, "failed": False})])
    assert fixed_settings("spred_linear", {}, with_prior, 5) == {"kappas": [0.2]}
    assert fixed_settings("spred_linear", {}, with_prior.iloc[3:], 5) is None
    grid = pd.DataFrame({"hyperparameters": [json.dumps({"lr": 0.1, "kappa": k}) for k in (0.03, 0.01, 0.03)],
                         "failed": [False, False, True]})
    assert fixed_settings("spred", {"solver": "sgd"}, grid, 5)["kappas"] in ([0.03], [0.01])
    with pytest.raises(ValueError, match="no split was fitted"):
        fixed_settings("l1_logistic", {}, metrics.assign(failed=True), 5)


def test_with_early_stopping_the_halves_train_for_the_median_epoch_the_splits_kept():
    """A half's validation part is the other half, so it must not choose when to stop: the epoch is fixed."""
    grid = pd.DataFrame({"hyperparameters": [json.dumps({"lr": 0.1, "kappa": 0.01, "epochs": e}) for e in (90, 140, 400)],
                         "failed": False})
    settings = fixed_settings("mlp_wd", {"early_stopping": True, "max_epochs": 800}, grid, 5)
    assert settings == {"early_stopping": False, "max_epochs": 140, "min_epochs": 140, "lrs": [0.1], "kappas": [0.01]}


@pytest.mark.parametrize("method", ["l1_logistic", "limma"])
def test_real_genes_are_stable_and_the_bound_holds(method):
    data = planted()
    metrics = pd.DataFrame({"hyperparameters": [json.dumps({"C": 1.0, "k": 5})], "failed": [False]})
    result = run_stability(method, data, {}, metrics, pairs=8, seed=0)
    assert result.q == genes_per_half(200) and result.mean_kept <= result.q
    assert result.bound <= 1.0
    assert result.path.shape == (result.q, 200) and (np.diff(result.path, axis=0) >= 0).all()  # more kept, more often
    np.testing.assert_allclose(result.path[-1], result.probability)
    assert set(np.flatnonzero(result.stable)) >= {0, 1, 2}
    assert result.stable.sum() <= 3 + 2  # at most a couple of noise genes at E[V] <= 1


def test_stability_result_round_trips(tmp_path):
    data = planted()
    metrics = pd.DataFrame({"hyperparameters": [json.dumps({"C": 1.0, "k": 5})], "failed": [False]})
    result = run_stability("limma", data, {}, metrics, pairs=2)
    result.save(tmp_path / "s.npz")
    from genesel.stability import StabilityResult

    back = StabilityResult.load(tmp_path / "s.npz")
    np.testing.assert_array_equal(back.probability, result.probability)
    assert back.summary() == result.summary()


def test_a_method_that_fitted_no_split_gets_one_line_naming_the_dataset():
    from genesel.errors import DatasetError

    metrics = pd.DataFrame({"hyperparameters": ["{}"], "failed": [True]})
    with pytest.raises(DatasetError, match="STAB: stability selection: l1_logistic: no split was fitted"):
        run_stability("l1_logistic", planted(), {}, metrics, pairs=2)


def test_no_gene_is_stable_where_every_split_fell_back_to_the_class_prior():
    metrics = pd.DataFrame({"hyperparameters": [json.dumps({"kappa": None, "model": "class prior"})] * 3,
                            "failed": False})
    result = run_stability("spred_linear", planted(), {}, metrics, pairs=2)
    assert not result.stable.any() and result.mean_kept == 0 and result.path.shape == (result.q, 200)
