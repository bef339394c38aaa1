"""The L1-logistic path (genesel.l1path): scikit-learn's optimum, a KKT certificate over every gene, and an honest
``converged`` flag. Speed at GDS scale is a benchmark (benchmarks/RESULTS.md), not a test."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from scipy.special import softmax
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression

from genesel.l1path import L1LogisticModel, l1_logistic_path


def _problem(n: int, p: int, K: int, seed: int):
    rng = np.random.default_rng(seed)
    y = np.arange(n) % K
    X = rng.normal(size=(n, p))
    X[:, :K] += 1.5 * np.eye(K)[y]  # K informative genes
    return (X - X.mean(0)) / X.std(0), y


@pytest.mark.parametrize(("K", "C"), [(2, 0.3), (3, 0.1), (3, 1.0), (4, 0.3)])
def test_the_path_reaches_scikit_learns_optimum(K, C):
    X, y = _problem(60, 200, K, seed=K)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        reference = LogisticRegression(l1_ratio=1.0, solver="saga", C=C, tol=1e-10, max_iter=100_000).fit(X, y)
    classes, (fit,) = l1_logistic_path(X, y, [C], tol=1e-6, max_iter=100_000)
    model = L1LogisticModel(classes, fit)
    assert fit.converged
    # two classes: scikit-learn fits one vector w, the multinomial form two, w / 2 and -w / 2 at the optimum
    ours = model.coef_[1] - model.coef_[0] if K == 2 else model.coef_
    ours, theirs = np.abs(ours).reshape(-1, 200), np.abs(reference.coef_)
    assert np.array_equal(ours > 1e-8, theirs > 1e-8)  # the same genes
    assert np.abs(ours - theirs).max() < 1e-3
    assert np.abs(model.predict_proba(X) - reference.predict_proba(X)).max() < 1e-3


def test_every_gene_left_out_is_certified_by_its_gradient():
    """Recomputed here, not read from the solver: at each C the subgradient condition holds for all genes."""
    X, y = _problem(50, 3000, 3, seed=7)
    classes, fits = l1_logistic_path(X, y, [1.0, 0.1, 0.3], tol=1e-3)
    assert [f.C for f in fits] == [0.1, 0.3, 1.0]  # strongest penalty first, each warm-started from the last
    Y = np.eye(3)[np.searchsorted(classes, y)]
    for fit in fits:
        lam = 1 / (fit.C * len(X))
        G = X.T @ (softmax(X @ fit.coef.T + fit.intercept, axis=1) - Y) / len(X)
        W = fit.coef.T
        viol = np.where(W != 0, np.abs(G + lam * np.sign(W)), np.maximum(np.abs(G) - lam, 0))
        assert fit.converged and viol.max() <= 1e-3 * lam * 1.0001
        assert 0 < (W != 0).any(1).sum() < 3000
    assert (fits[0].coef != 0).sum() <= (fits[-1].coef != 0).sum()


def test_a_starved_solver_says_it_did_not_converge():
    X, y = _problem(60, 500, 3, seed=1)
    _, (fit,) = l1_logistic_path(X, y, [3.0], max_iter=3)
    assert not fit.converged and fit.kkt > 1e-3
