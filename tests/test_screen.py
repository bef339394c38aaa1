"""The screened dense start of spred's path up (genesel.screen): what the screens see, the KKT re-admission
of genes outside the start set, and bad settings."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from genesel import screen
from genesel.simulate import simulate_expression
from genesel.solver import PathConfig, PathSolver, solve_path


def _standardise(X):
    return ((X - X.mean(0)) / X.std(0)).astype(np.float32)


@pytest.fixture(scope="module")
def nonlinear():
    """GDSSIM3's design: one XOR pair (class 1) and two variance genes (class 2), 3 classes, no linear gene."""
    X, y, planted, columns = simulate_expression(600, 300, 3, n_linear=0, n_xor_pairs=1, n_variance=2, seed=3)
    kinds = [g["kind"] for g in planted]
    return _standardise(X), y, {k: np.asarray(columns)[[i for i, g in enumerate(kinds) if g == k]] for k in set(kinds)}


def _top(scores, k):
    return set(np.argsort(-np.nan_to_num(scores, nan=-np.inf))[:k])


def test_the_screens_see_the_genes_a_mean_test_misses(nonlinear):
    X, y, planted = nonlinear
    assert set(planted["variance"]) <= _top(screen._variance(X, y, 3), 5)
    assert set(planted["xor"]) <= _top(screen._coexpression(X, y, 3), 5)  # no marginal test sees them
    assert not set(planted["xor"]) & _top(screen._limma(X, y, 3), 20)
    union = screen.union_of_top({"limma": screen._limma(X, y, 3), "variance": screen._variance(X, y, 3),
                                 "coexpression": screen._coexpression(X, y, 3)}, 12)
    assert union.sum() == 12 and union[np.concatenate(list(planted.values()))].all()


def test_kkt_readmission_brings_in_the_partner_of_an_interaction_gene(nonlinear):
    X, y, planted = nonlinear
    a, b = planted["xor"]
    X, y = X[None, :400], y[None, :400]
    solver = PathSolver(PathConfig(hidden=32, max_iter=300), 3, torch.as_tensor(X), torch.as_tensor(y))
    start = torch.zeros(1, X.shape[2], dtype=torch.bool)
    start[0, [a, *planted["variance"]]] = True  # the XOR gene a without its partner b
    _, _, gnorm = solver.solve(torch.zeros(1), readmit=False)  # the empty model: its largest gradient is 2 κ_max
    kappa = gnorm.max(1).values / 2 * 0.05
    solver.pb.dense_start(0, start)
    assert not solver.pb.active_full()[0, b]
    solver.solve(kappa)
    active = solver.pb.active_full()[0]
    assert active[b], "b's gradient is non-zero once the model uses a: the KKT check must re-admit it"


def test_the_screened_start_keeps_what_the_dense_start_keeps_on_a_small_set(nonlinear):
    X, y, planted = nonlinear
    parts = np.random.default_rng(0).permutation(len(y))
    tr, va = parts[:400], parts[400:]
    data = (X[None, tr], y[None, tr], X[None, va], y[None, va], None, 3)
    config = PathConfig(hidden=32, n_kappas=6, kappa_ratio=0.05, max_iter=200, max_above=4, signal_alpha=None)
    runs = {size: solve_path(*data, PathConfig(**{**vars(config), "start_genes": size})) for size in (30, 300)}
    assert runs[30].start_set.sum() == 30 and runs[300].start_set is None
    assert runs[30].n_computed.max() > 30  # genes outside the start set were admitted
    genes = np.concatenate(list(planted.values()))
    for run in runs.values():  # every planted gene is learnt on the path, at KKT points over every gene
        assert (run.scores[0][:, genes] > 0).any(0).all()
        assert run.certified.mean() >= 0.5
    print({size: (run.certified.sum(), run.certified.size, (run.scores[0, run.choose()[0], genes] > 0).sum())
           for size, run in runs.items()})


@pytest.mark.parametrize("size, message", [(0, "at least 1"), (301, "larger than the 300 genes")])
def test_a_start_set_size_out_of_range_is_one_line_naming_the_setting(nonlinear, size, message):
    X, y, _ = nonlinear
    with pytest.raises(ValueError, match=f"start_genes.*{message}") as error:
        solve_path(X[None, :60], y[None, :60], X[None, 60:80], y[None, 60:80], None, 3, PathConfig(hidden=8, start_genes=size))
    assert "\n" not in str(error.value)


def test_an_unknown_screen_is_one_line():
    with pytest.raises(ValueError, match="screens.*choose one or more of limma"):
        screen.check_screens(("limma", "t-test"))


def test_a_screen_that_keeps_no_gene_falls_back_to_the_dense_start_with_a_warning(nonlinear, monkeypatch):
    X, y, _ = nonlinear
    monkeypatch.setitem(screen._SCORES, "limma", lambda X, y, C: np.full(X.shape[1], np.nan))
    config = PathConfig(hidden=8, n_kappas=3, max_iter=20, max_above=1, start_genes=10, screens=("limma",),
                        signal_alpha=None)
    with pytest.warns(UserWarning, match="no screen .*limma.* keeps a gene; the path starts dense"):
        result = solve_path(X[None, :100], y[None, :100], X[None, 100:140], y[None, 100:140], None, 3, config)
    assert result.start_set.all()
    assert (result.n_selected > 0).any()  # never a silent empty list: the dense start has every gene
