"""spred on the lasso (paper's Example 1) reaches scikit-learn's lasso solution."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.linear_model import Lasso

from genesel.hadamard import hadamard_lasso


@pytest.fixture(scope="module")
def regression():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((80, 30))
    beta = np.zeros(30)
    beta[:5] = [3.0, -2.0, 1.5, 0.5, -1.0]
    return X, X @ beta + 0.5 * rng.standard_normal(80)


@pytest.mark.parametrize("alpha", [0.02, 0.1, 0.5, 1.0])
def test_matches_coordinate_descent(regression, alpha):
    X, y = regression
    reference = Lasso(alpha=alpha, fit_intercept=False, tol=1e-12, max_iter=200_000).fit(X, y).coef_
    ours = hadamard_lasso(X, y, kappa=alpha / 2)
    np.testing.assert_allclose(ours, reference, atol=1e-7)
    assert np.array_equal(np.abs(ours) > 1e-6, np.abs(reference) > 1e-6)
    assert (np.abs(reference) <= 1e-6).sum() >= 3  # the comparison includes real zeros


@pytest.mark.parametrize("alpha", [0.05, 0.3, 0.8])
def test_orthogonal_design_closed_form(alpha):
    rng = np.random.default_rng(1)
    n, p = 64, 12
    Q, _ = np.linalg.qr(rng.standard_normal((n, p)))
    X = Q * np.sqrt(n)  # X'X / n = I
    y = X @ rng.normal(0, 1, p) + 0.3 * rng.standard_normal(n)
    z = X.T @ y / n
    closed = np.sign(z) * np.maximum(np.abs(z) - alpha, 0.0)  # soft threshold
    ours = hadamard_lasso(X, y, kappa=alpha / 2)
    np.testing.assert_allclose(ours, closed, atol=1e-8)
    assert np.array_equal(ours != 0, closed != 0) or np.array_equal(np.abs(ours) > 1e-9, closed != 0)
