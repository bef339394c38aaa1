"""genesel's moderated t/F against Bioconductor limma (numbers and R script in tests/fixtures/limma/)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from genesel.limma import moderated_test
from tests.conftest import SHARED_DATA, shared_file

FIXTURES = Path(__file__).parent / "fixtures" / "limma"


def _inputs(name):
    spec = importlib.util.spec_from_file_location("export_inputs", FIXTURES / "export_inputs.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    shared_file(f"GDS_{name}_full.soft.gz")
    return module.limma_inputs(name, SHARED_DATA)


@pytest.mark.parametrize("name", ["ALLAML", "TOX171"])
def test_moderated_statistics_match_bioconductor_limma(name):
    X, y, classes, probes = _inputs(name)
    reference = pd.read_csv(FIXTURES / f"{name}_limma.tsv", sep="\t")
    assert reference.probe.tolist() == probes.tolist()
    fit = moderated_test(X, y, len(classes))
    ref_df = float(reference.df_prior[0])
    assert (np.isinf(fit.df_prior) and np.isinf(ref_df)) or fit.df_prior == pytest.approx(ref_df, rel=1e-5)
    assert fit.s2_prior == pytest.approx(reference.s2_prior[0], rel=1e-5)
    np.testing.assert_allclose(fit.df_total, reference.df_total, rtol=1e-5)
    np.testing.assert_allclose(fit.average, reference.AveExpr, rtol=1e-5, atol=1e-6)
    for j in range(1, len(classes)):
        np.testing.assert_allclose(fit.log2_fold_change[:, j - 1], reference[f"logFC_{j}"], rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(fit.t[:, j - 1], reference[f"t_{j}"], rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(fit.p_t[:, j - 1], reference[f"P_{j}"], rtol=1e-4, atol=1e-12)
    if len(classes) > 2:
        np.testing.assert_allclose(fit.F, reference.F_top, rtol=1e-5)
    np.testing.assert_allclose(fit.p_value, reference.P_top, rtol=1e-4, atol=1e-12)
    q = stats.false_discovery_control(fit.p_value, method="bh")
    np.testing.assert_allclose(q, reference.adj_P_top, rtol=1e-4, atol=1e-12)


def test_missing_values_use_each_genes_own_arrays():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(30, 50))
    y = np.repeat([0, 1, 2], 10)
    X[y == 1, 0] += 3
    full = moderated_test(X, y)
    X_missing = X.copy()
    X_missing[:5, 1] = np.nan
    fit = moderated_test(X_missing, y)
    assert fit.df_residual[1] == full.df_residual[1] - 5
    assert fit.p_F[0] < 1e-6 and np.isfinite(fit.p_F).all()


def test_shrinkage_pulls_small_variances_up():
    """A gene with a tiny sample variance gets a smaller |t| than the ordinary t-test gives."""
    rng = np.random.default_rng(1)
    X = rng.normal(size=(8, 400))
    y = np.repeat([0, 1], 4)
    X[:, 0] = np.r_[0, 0.01, 0, 0.01, 1, 1.01, 1, 1.01]
    fit = moderated_test(X, y)
    ordinary = stats.ttest_ind(X[y == 1, 0], X[y == 0, 0]).statistic
    assert np.isfinite(fit.df_prior) and 0 < abs(fit.t[0, 0]) < abs(ordinary)
