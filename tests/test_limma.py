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


def _synthetic(name):
    """A committed synthetic set (fixtures/limma/make_synthetic.py: missing values, finite prior df) as
    arrays x genes, class codes, and Bioconductor limma's results on the very same doubles."""
    X = pd.read_csv(FIXTURES / f"{name}_expression.tsv", sep="\t", index_col=0).to_numpy().T
    y = pd.read_csv(FIXTURES / f"{name}_labels.tsv", sep="\t")["code"].to_numpy()
    return X, y, pd.read_csv(FIXTURES / f"{name}_limma.tsv", sep="\t")


#: inputs read by both sides at full precision, so only arithmetic separates them: measured 2026-12-04, prior df
#: and s² equal to 2e-16, t to 8e-11 relative (at t near zero), p, F and q to 3e-13; the tolerance leaves 10x room
RTOL = 1e-9


@pytest.mark.parametrize("name", ["SYN2", "SYN3"])
def test_moderated_statistics_match_bioconductor_with_missing_values_and_a_finite_prior_df(name):
    X, y, reference = _synthetic(name)
    assert np.isnan(X).mean() > 0.02 and np.isfinite(reference.df_prior[0])  # what this test is for
    fit = moderated_test(X, y, int(y.max()) + 1)
    assert fit.df_prior == pytest.approx(reference.df_prior[0], rel=RTOL)
    assert fit.s2_prior == pytest.approx(reference.s2_prior[0], rel=RTOL)
    np.testing.assert_array_equal(fit.df_residual, reference.df_residual)  # each gene's own arrays
    np.testing.assert_allclose(fit.df_total, reference.df_total, rtol=RTOL)
    np.testing.assert_allclose(fit.average, reference.AveExpr, rtol=1e-12)
    for j in range(1, int(y.max()) + 1):
        np.testing.assert_allclose(fit.log2_fold_change[:, j - 1], reference[f"logFC_{j}"], rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(fit.t[:, j - 1], reference[f"t_{j}"], rtol=RTOL)
        np.testing.assert_allclose(fit.p_t[:, j - 1], reference[f"P_{j}"], rtol=RTOL)
    if y.max() > 1:
        np.testing.assert_allclose(fit.F, reference.F_top, rtol=RTOL)
    np.testing.assert_allclose(fit.p_value, reference.P_top, rtol=RTOL)


def test_class_statistics_report_bioconductor_s_moderated_t_p_and_q():
    """The gene table's descriptive columns (genesel.ranking.class_statistics) against limma itself. A
    Dataset holds its matrix in float32, so its inputs are rounded to 6e-8 relative; a gene whose classes
    differ by little loses more of its t to that, hence 1e-4 here against 1e-7 on the doubles."""
    from genesel.dataset import Dataset
    from genesel.ranking import class_statistics

    for name in ("SYN2", "SYN3"):
        X, y, reference = _synthetic(name)
        data = Dataset(name=name, X=X, probe_ids=reference.probe.to_numpy(), gene_symbols=np.full(X.shape[1], ""),
                       sample_ids=np.array([f"a{i}" for i in range(len(y))]), y=y,
                       class_names=[f"c{c}" for c in range(y.max() + 1)], metadata={"value_type": "transformed count"})
        table = class_statistics(data)
        if y.max() == 1:
            np.testing.assert_allclose(table.moderated_t, reference.t_1, rtol=1e-4)
        else:
            np.testing.assert_allclose(table.moderated_F, reference.F_top, rtol=1e-4)
        np.testing.assert_allclose(table.log2fc_c1_vs_c0, reference.logFC_1, rtol=1e-4, atol=1e-6)
        np.testing.assert_allclose(table.p_descriptive, reference.P_top, rtol=1e-4)
        np.testing.assert_allclose(table.q_descriptive, reference.adj_P_top, rtol=1e-4)
