"""Preprocessing: GEO2R log rule, probe filter, per-gene scaling, and no leakage."""

from __future__ import annotations

import numpy as np
import pytest

from genesel.preprocess import kept_probes, looks_unlogged, make_preprocessor, preprocess_split
from genesel.sources.gds import read_gds
from genesel.splits import make_splits, split_indices


def test_geo2r_rule():
    rng = np.random.default_rng(0)
    assert looks_unlogged(rng.lognormal(7, 1, (20, 50)))
    assert not looks_unlogged(rng.normal(8, 1, (20, 50)))
    assert not looks_unlogged(rng.normal(0, 1, (20, 50)))  # centred, already transformed
    assert looks_unlogged(np.array([[1.0, 2.0], [60.0, 3.0]]))  # range > 50 with positive lower quartile


def test_log_decision_recorded_and_forced():
    raw = np.random.default_rng(1).lognormal(8, 1, (10, 5))
    pipe = make_preprocessor().fit(raw)
    assert pipe.named_steps["log2"].apply_log2_
    assert not make_preprocessor(log2=False).fit(raw).named_steps["log2"].apply_log2_


def test_standardised_per_gene_not_globally():
    rng = np.random.default_rng(2)
    X = rng.normal(0, 1, (40, 6)) * np.array([0.1, 1, 5, 20, 0.5, 2]) + np.arange(6)
    Z = make_preprocessor(log2=False).fit_transform(X)
    np.testing.assert_allclose(Z.mean(axis=0), 0, atol=1e-9)
    np.testing.assert_allclose(Z.std(axis=0), 1, atol=1e-9)


def test_missing_filter_and_median_imputation():
    X = np.arange(40, dtype=float).reshape(10, 4)
    X[:6, 1] = np.nan  # 60 % missing: dropped
    X[:5, 2] = np.nan  # 50 % missing: kept, imputed with the median of the rest
    pipe = make_preprocessor(log2=False).fit(X)
    assert list(kept_probes(pipe)) == [True, False, True, True]
    assert pipe.named_steps["impute"].statistics_[1] == np.median(X[5:, 2])
    assert not np.isnan(pipe.transform(X)).any()


def test_non_positive_values_become_missing_under_log2():
    X = np.random.default_rng(3).lognormal(8, 1, (12, 3))
    X[0, 0] = 0.0
    Z = make_preprocessor().fit_transform(X)
    assert np.isfinite(Z).all()


def test_no_statistic_sees_validation_or_test_arrays(small_sim):
    """Fitting on a split must not change when validation/test arrays change, however wildly."""
    data = read_gds(small_sim.soft_path)
    splits = make_splits(data.sample_ids, data.y, n_splits=1, seed=0)
    parts = split_indices(splits, 0, data.sample_ids)
    held_out = np.concatenate([parts["val"], parts["test"]])
    corrupted = data.X.copy()
    rng = np.random.default_rng(0)
    corrupted[held_out] = rng.lognormal(15, 3, corrupted[held_out].shape)  # different scale altogether
    corrupted[held_out[:3], :250] = np.nan  # pushes many probes past 50 % missing if counted
    clean_out, clean_pipe = preprocess_split(data.X, parts)
    dirty_out, dirty_pipe = preprocess_split(corrupted, parts)
    np.testing.assert_array_equal(clean_out["train"], dirty_out["train"])
    for step in ("impute", "scale"):
        a, b = clean_pipe.named_steps[step], dirty_pipe.named_steps[step]
        for attr in ("statistics_", "mean_", "scale_"):
            if hasattr(a, attr):
                np.testing.assert_array_equal(getattr(a, attr), getattr(b, attr))
    np.testing.assert_array_equal(kept_probes(clean_pipe), kept_probes(dirty_pipe))
    # and the fitted statistics are exactly the training arrays' own
    train_log = np.log2(data.X[parts["train"]][:, kept_probes(clean_pipe)].astype(float))
    np.testing.assert_allclose(clean_pipe.named_steps["impute"].statistics_, np.nanmedian(train_log, axis=0), rtol=1e-12)


def test_everything_dropped_is_an_error():
    X = np.full((6, 3), np.nan)
    X[0] = 1.0
    with pytest.raises(ValueError, match="every probe has more than 50% missing"):
        make_preprocessor().fit(X)


def test_probe_mostly_non_positive_is_dropped_after_log2():
    """Before log2 the probe is complete; log2 makes its 85% non-positive values missing: dropped,
    not 80%-imputed. The pipeline still names its output features."""
    from genesel.preprocess import kept_probes, make_preprocessor

    rng = np.random.default_rng(0)
    X = rng.uniform(100, 5000, (40, 6))
    X[:34, 2] = -5.0  # 85% non-positive (background-subtracted intensities)
    pipe = make_preprocessor(max_missing=0.5, log2="auto").fit(X)
    assert pipe.named_steps["log2"].apply_log2_
    assert kept_probes(pipe).tolist() == [True, True, False, True, True, True]
    assert pipe.transform(X).shape == (40, 5)
    assert list(pipe.get_feature_names_out([f"p{j}" for j in range(6)])) == ["p0", "p1", "p3", "p4", "p5"]
