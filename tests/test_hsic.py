"""genesel's block HSIC-Lasso against pyHSICLasso 1.4.2 (the paper's implementation)."""

from __future__ import annotations

import numpy as np
import pytest

from genesel.hsic import block_hsic_lasso, block_layout
from genesel.preprocess import make_preprocessor
from genesel.sources.gds import read_gds
from tests.conftest import shared_file


def reference_hsic(X, y, n_features, B=20, M=3):
    np.linalg.linalg = np.linalg  # numpy 2 shim: pyHSICLasso's singular fallback names np.linalg.linalg
    from pyHSICLasso import HSICLasso

    model = HSICLasso()
    model.input(X, y)
    with pytest.warns(RuntimeWarning) if X.shape[0] % B else _null():
        model.classification(n_features, B=B, M=M, n_jobs=1)
    return [int(a) for a in model.A]


class _null:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def _compare(X, y, n_features):
    reference = reference_hsic(X, y, n_features)
    ours = block_hsic_lasso(X, y, n_features, device="cpu").selected.tolist()
    overlap = len(set(reference) & set(ours)) / max(len(reference), 1)
    assert overlap >= 0.9
    k = min(10, len(reference))
    assert ours[:k] == reference[:k]
    return reference, ours


def test_same_genes_on_simulated(small_sim, capsys):
    data = read_gds(small_sim.soft_path).drop_control_probes()
    X = make_preprocessor().fit_transform(data.X)
    reference, ours = _compare(X, data.y, 20)
    assert len(ours) == 20
    planted = set(np.flatnonzero(np.isin(data.probe_ids, small_sim.truth.probe_id)))
    assert len(planted & set(ours[:10])) >= 5  # it finds planted genes


@pytest.mark.parametrize("name", ["GDS_TOX171_full.soft.gz", "GDS_ALLAML_full.soft.gz"])
def test_same_genes_on_real_benchmarks(name, capsys):
    data = read_gds(shared_file(name))
    X = make_preprocessor().fit_transform(data.X)[:, ::3]  # a third of the genes keeps the test quick
    with pytest.warns(UserWarning) if "ALLAML" in name else _null():
        _compare(X, data.y, 50)


def test_block_layout_matches_reference_permutations():
    blocks = block_layout(45, 20, 3)
    assert blocks.shape == (6, 20)  # 2 full blocks x 3 permutations, 5 arrays discarded per permutation
    first = np.random.RandomState(0).permutation(np.arange(45))
    assert list(blocks[0]) == list(first[:20])


def test_requesting_more_genes_than_exist():
    with pytest.raises(ValueError, match="only 5 are available"):
        block_hsic_lasso(np.zeros((40, 5)), np.repeat([0, 1], 20), n_features=10)


def test_float16_storage_under_tight_budget(small_sim):
    data = read_gds(small_sim.soft_path).drop_control_probes()
    X = make_preprocessor().fit_transform(data.X)
    full = block_hsic_lasso(X, data.y, 10, device="cpu")
    with pytest.warns(UserWarning, match=r"stored in float16 \(metrics column kernel_dtype\)"):
        tight = block_hsic_lasso(X, data.y, 10, device="cpu", memory_budget_gb=0.003)
    assert tight.storage_dtype == "float16" and full.storage_dtype == "float32"
    assert len(set(full.selected) & set(tight.selected)) >= 9


def test_short_path_warning_names_dataset_and_split(small_sim):
    from genesel.experiment import run_method
    from genesel.preprocess import stack_splits
    from genesel.splits import make_splits

    data = read_gds(small_sim.soft_path).drop_control_probes()
    stacked = stack_splits(data, make_splits(data.sample_ids, data.y, n_splits=1))
    with pytest.warns(UserWarning, match=r"GDSSIM7 split 0: HSIC-Lasso path ended after \d+ of 300 genes"):
        result = run_method("hsic_lasso", data, stacked, {"n_features": 300, "block_size": 12})
    assert 0 < result.selected.sum() < 300


def test_l1_logistic_is_l1_and_records_convergence(small_sim):
    """l1_ratio=1 must be the L1 penalty (exact zeros), and converged_ the truth, not a constant."""
    from genesel.selectors import L1LogisticSelector

    data = read_gds(small_sim.soft_path).drop_control_probes()
    X = make_preprocessor().fit_transform(data.X)
    fitted = L1LogisticSelector(Cs=(0.1,), max_iter=2000).fit(X, data.y)
    assert (fitted.model_.coef_ == 0).mean() > 0.5 and fitted.converged_
    starved = L1LogisticSelector(Cs=(10.0,), max_iter=2).fit(X, data.y)
    assert not starved.converged_
