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


def test_q_and_the_bound_follow_meinshausen_and_buehlmann_by_hand():
    """E[V] <= q² / ((2τ - 1) p) (Meinshausen & Bühlmann 2010, Theorem 1; Shah & Samworth 2013 for pairs):
    q = floor(sqrt(EV (2τ - 1) p)), worked by hand."""
    # p = 200, τ = 0.75, EV = 1: sqrt(1 * 0.5 * 200) = 10 exactly; bound 10² / (0.5 * 200) = 1
    assert genes_per_half(200, 0.75, 1.0) == 10 and error_bound(10, 200, 0.75) == pytest.approx(1.0)
    # p = 7129 (ALL/AML), τ = 0.6, EV = 0.5: sqrt(0.5 * 0.2 * 7129) = sqrt(712.9) = 26.70; bound 676 / 1425.8
    assert genes_per_half(7129, 0.6, 0.5) == 26 and error_bound(26, 7129, 0.6) == pytest.approx(0.474120, abs=1e-6)
    # p = 54675 (HG-U133 Plus 2), τ = 0.9, EV = 2: sqrt(2 * 0.8 * 54675) = sqrt(87480) = 295.77; bound 87025 / 43740
    assert genes_per_half(54675, 0.9, 2.0) == 295 and error_bound(295, 54675, 0.9) == pytest.approx(1.989598, abs=1e-6)
    # a level below one gene's worth still keeps one gene per half: 1 / (0.5 * 100) = 0.02 > 0.01
    assert genes_per_half(100, 0.75, 0.01) == 1 and error_bound(1, 100, 0.75) == pytest.approx(0.02)
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
    assert result.q == genes_per_half(200) == 10 and result.mean_kept <= result.q
    assert result.path.shape == (result.q, 200) and (np.diff(result.path, axis=0) >= 0).all()  # more kept, more often
    np.testing.assert_allclose(result.path[-1], result.probability)
    assert set(np.flatnonzero(result.stable)) >= {0, 1, 2}
    assert result.stable.sum() <= 3 + 2  # at most a couple of noise genes at E[V] <= 1


def test_realised_false_stable_genes_stay_within_the_bound_over_seeds():
    """Over seeds of data without signal (every stable gene false) and with three planted genes, the mean
    number of false stable genes stays within the mean bound at a loose level (τ = 0.6, EV = 2: q = 8 of 160
    genes), while a half that kept its 40 best instead would break it: the bound is what q buys.
    ``benchmarks/bench_stability.py`` runs 20 seeds of each."""
    from genesel.experiment import run_method
    from genesel.preprocess import stack_splits
    from genesel.stability import stability_from_fits

    metrics = pd.DataFrame({"hyperparameters": [json.dumps({"C": 1.0, "k": 5})], "failed": [False]})
    false, bounds, loose = [], [], []
    for seed in range(4):
        for effect in (0.0, 1.5):
            data = planted(n=60, p=160, seed=seed)
            if effect == 0:
                data.y = np.random.default_rng(seed).permutation(data.y)
            result = run_stability("limma", data, {}, metrics, pairs=10, threshold=0.6, max_false=2.0, seed=seed)
            assert result.q == 8
            noise = np.arange(160) >= (3 if effect else 0)
            false.append(int((result.stable & noise).sum()))
            bounds.append(result.bound)
            fits = run_method("limma", data, stack_splits(data, complementary_pairs(data, 10, seed)),
                              {"ks": [40], "Cs": [1.0]}, device="cpu", seed=seed)
            wide = stability_from_fits(fits, 40, 0.6, 2.0, 10, {})
            loose.append(int((wide.stable & noise).sum()))
    assert np.mean(false) <= np.mean(bounds) <= 2.0 + 1e-9  # 8² / (0.2 * 160) = 2, up to rounding
    assert np.mean(loose) > 2.0  # 40 per half: bound 40² / (0.2 * 160) = 50; realised far above 2


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


def test_a_half_of_spreds_mlp_head_climbs_to_its_fixed_kappa_and_keeps_the_model_there():
    """Up the path a dense start at one κ learns an XOR pair only by chance; a half climbs CLIMB_STEPS of the
    path's own steps to the splits' median κ and keeps the model at that κ. The convex linear head does not."""
    import json

    from genesel.kappa_path import CLIMB_STEPS, ValidationScores, choose_kappa
    from genesel.stability import fixed_settings

    metrics = pd.DataFrame({"hyperparameters": [json.dumps({"kappa": k}) for k in (0.01, 0.02, 0.04)], "failed": False})
    up = fixed_settings("spred", {"n_kappas": 11, "kappa_ratio": 0.01}, metrics, 5)
    assert up["choose"] == "top" and len(up["kappas"]) == CLIMB_STEPS + 1
    assert up["kappas"][0] == pytest.approx(0.02) and np.allclose(np.diff(np.log10(up["kappas"])), -0.2)
    assert fixed_settings("spred_linear", {}, metrics, 5) == {"kappas": [0.02]}
    usable = np.array([[False, True, True], [True, True, True], [False, False, False]])
    nan = np.full(usable.shape, np.nan)
    scores = ValidationScores(*(nan for _ in ValidationScores.__dataclass_fields__))
    chosen = choose_kappa(scores, usable, np.ones(usable.shape), np.array([3.0, 2.0, 1.0]), rule="top")
    assert chosen[:2].tolist() == [1, 0] and chosen[2] < 0
