"""limma with repeated arrays of one patient (genesel.limma_blocks) against Bioconductor's duplicateCorrelation and
lmFit(block=, correlation=) (numbers and R scripts in tests/fixtures/limma/)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from genesel.limma import moderated_test
from genesel.limma_blocks import duplicate_correlation, one_way_design
from tests.conftest import SHARED_DATA, shared_file

FIXTURES = Path(__file__).parent / "fixtures" / "limma"
#: inputs read by both sides at full precision: measured 2026-12-05, per-gene atanh correlations equal to 3e-13,
#: t to 7e-11 relative, p and F to 5e-12; the tolerance leaves 10x room
RTOL = 1e-9


def _blocked(name):
    X = pd.read_csv(FIXTURES / f"{name}_expression.tsv", sep="\t", index_col=0).to_numpy().T
    labels = pd.read_csv(FIXTURES / f"{name}_labels.tsv", sep="\t")
    reference = pd.read_csv(FIXTURES / f"{name}_limma.tsv", sep="\t")
    return X, labels.code.to_numpy(), labels.block.to_numpy(), reference


@pytest.mark.parametrize("name", ["BLK2", "BLK3"])
def test_intra_patient_correlation_matches_duplicate_correlation(name):
    X, y, block, reference = _blocked(name)
    rho, arho = duplicate_correlation(X, one_way_design(y, int(y.max()) + 1), block)
    assert rho == pytest.approx(reference.consensus[0], rel=RTOL)
    assert 0.2 < rho < 0.6  # the patients' share of the variance is 0.375: a correlation worth modelling
    np.testing.assert_array_equal(np.isnan(arho), reference.atanh_cor.isna())  # genes with too few blocks
    np.testing.assert_allclose(arho, reference.atanh_cor, rtol=0, atol=1e-11)


@pytest.mark.parametrize("name", ["BLK2", "BLK3"])
def test_blocked_moderated_statistics_match_bioconductor(name):
    X, y, block, reference = _blocked(name)
    K = int(y.max()) + 1
    fit = moderated_test(X, y, K, block=block)
    assert fit.block_correlation == pytest.approx(reference.consensus[0], rel=RTOL)
    assert fit.df_prior == pytest.approx(reference.df_prior[0], rel=RTOL)
    assert fit.s2_prior == pytest.approx(reference.s2_prior[0], rel=RTOL)
    np.testing.assert_array_equal(fit.df_residual, reference.df_residual)
    np.testing.assert_allclose(fit.df_total, reference.df_total, rtol=RTOL)
    np.testing.assert_allclose(fit.average, reference.AveExpr, rtol=1e-12)
    for j in range(1, K):
        np.testing.assert_allclose(fit.log2_fold_change[:, j - 1], reference[f"logFC_{j}"], rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(fit.t[:, j - 1], reference[f"t_{j}"], rtol=RTOL)
        np.testing.assert_allclose(fit.p_t[:, j - 1], reference[f"P_{j}"], rtol=RTOL)
    if K > 2:
        measured = np.isfinite(fit.t).all(1)  # limma's F is NA where a class has no array; genesel's is its classes'
        np.testing.assert_allclose(fit.F[measured], reference.F_top[measured], rtol=RTOL)
    np.testing.assert_allclose(fit.p_value[np.isfinite(reference.P_top)], reference.P_top.dropna(), rtol=RTOL)


def test_blocks_change_the_test_and_single_arrays_do_not():
    """The patients' correlation changes every gene's t; blocks of one array each are limma without blocks."""
    X, y, block, _ = _blocked("BLK2")
    plain, blocked = moderated_test(X, y), moderated_test(X, y, block=block)
    assert plain.block_correlation is None
    assert np.median(np.abs(blocked.t / plain.t - 1)) > 0.05
    alone = moderated_test(X, y, block=np.arange(len(y)).astype(str))
    np.testing.assert_array_equal(alone.t, plain.t)
    assert alone.block_correlation is None


def test_a_real_paired_series_matches_bioconductor():
    """GSE14520 (tumour and non-tumour liver of 19 patients, three tumours unpaired): the first 1,500 probes,
    exported with 9 digits as in the unblocked comparison (tests/test_limma.py)."""
    spec = importlib.util.spec_from_file_location("export_inputs", FIXTURES / "export_inputs.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    shared_file("geo/GSE14520-GPL571_series_matrix.txt.gz")
    with pytest.warns(UserWarning, match="no platform annotation"):
        X, y, classes, probes, block = module.paired_inputs(SHARED_DATA)
    reference = pd.read_csv(FIXTURES / "HCC_limma.tsv", sep="\t")
    assert reference.probe.tolist() == probes.tolist() and classes[0] == "non-tumour"
    fit = moderated_test(X, y, len(classes), block=block)
    assert fit.block_correlation == pytest.approx(reference.consensus[0], rel=1e-4)
    assert fit.df_prior == pytest.approx(reference.df_prior[0], rel=1e-5)
    np.testing.assert_allclose(fit.log2_fold_change[:, 0], reference.logFC_1, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(fit.t[:, 0], reference.t_1, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(fit.p_value, reference.P_top, rtol=1e-4, atol=1e-12)


def _dataset(name, grouped=True):
    from genesel.dataset import Dataset

    X, y, block, reference = _blocked(name)
    data = Dataset(name=name, X=X, probe_ids=reference.probe.to_numpy(), gene_symbols=np.full(X.shape[1], ""),
                   sample_ids=np.array([f"a{i}" for i in range(len(y))]), y=y,
                   class_names=[f"c{c}" for c in range(y.max() + 1)], metadata={"value_type": "transformed count"},
                   groups=block if grouped else None)
    return data, reference


def test_the_gene_table_uses_the_patients_where_a_dataset_has_them():
    """genesel.ranking.class_statistics on a Dataset with patient groups is Bioconductor's blocked fit (inputs
    rounded to float32 in the Dataset, hence 1e-4), and its methods paragraph says so."""
    from genesel.methods_paragraph import methods_paragraph
    from genesel.ranking import class_statistics

    data, reference = _dataset("BLK2")
    assert data.grouped
    table = class_statistics(data)
    np.testing.assert_allclose(table.moderated_t, reference.t_1, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(table.log2fc_c1_vs_c0, reference.logFC_1, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(table.q_descriptive, reference.adj_P_top, rtol=1e-4)
    plain, _ = _dataset("BLK2", grouped=False)
    assert not np.allclose(class_statistics(plain).moderated_t, table.moderated_t, rtol=1e-2)
    empty = pd.DataFrame(columns=["item", "value"])
    text = methods_paragraph({"methods": {"limma": {}}}, [data], pd.DataFrame(), empty)
    rho = reference.consensus[0]
    assert (f"where patients gave several arrays, limma treated each patient as a block of correlated arrays "
            f"(duplicateCorrelation's consensus correlation over all arrays: BLK2 ({rho:.2f})") in text
    assert "duplicateCorrelation" not in methods_paragraph({"methods": {"limma": {}}}, [plain], pd.DataFrame(), empty)
    from genesel.candidates import candidates_intro

    assert "patients" not in candidates_intro(plain, None, False)
    assert (f"from {len(set(data.groups))} patients (limma treats one patient's arrays as correlated)"
            in candidates_intro(data, None, False))


def test_the_limma_selector_ranks_with_the_training_arrays_patients():
    from genesel.baselines import LimmaSelector

    X, y, block, _ = _blocked("BLK2")
    Xs = (X - X.mean(0)) / X.std(0)
    fit = LimmaSelector(ks=(5,), Cs=(1.0,)).fit(Xs, y, Xs, y, scale=X.std(0), groups=block)
    expected = moderated_test(Xs * X.std(0), y, block=block).p_value
    np.testing.assert_allclose(fit.pvalues_, expected, rtol=1e-9)
    alone = LimmaSelector(ks=(5,), Cs=(1.0,)).fit(Xs, y, Xs, y, scale=X.std(0))
    assert not np.allclose(alone.pvalues_, fit.pvalues_, rtol=1e-2)
