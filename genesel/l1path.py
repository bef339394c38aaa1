"""Multinomial logistic regression with an elementwise L1 penalty along a path of C values, solved glmnet
style: strongest penalty first, each C warm-started from the last, the fit restricted to a working set of
genes, and a KKT check over every gene that admits the genes violating it and solves again. A gene left out
is left out because its gradient says so at the solution, not because a screen guessed.

The objective is scikit-learn's ``LogisticRegression(l1_ratio=1.0, C=C)`` (multinomial):
``C * sum_i CE_i + ||W||_1``, here divided by ``C n``: the mean cross-entropy plus ``lam ||W||_1`` with
``lam = 1 / (C n)``; the intercepts are not penalised. ``tests/test_l1path.py`` checks the solutions
against scikit-learn's saga run to a tight tolerance.

Why not saga at GDS scale: with 120 training arrays x 54,675 genes, saga over four C values took 754 CPU s
(12.6 minutes) for one split without converging (benchmarks/RESULTS.md); on a working set of a few hundred genes the
accelerated proximal gradient costs ``n x |set| x K`` per step, and the KKT check one ``X^T R`` per round."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import log_softmax, softmax


@dataclass
class L1Fit:
    """The solution at one C: ``coef`` ``(K, p)`` and ``intercept`` ``(K,)`` as scikit-learn lays them out;
    ``converged`` when the KKT conditions hold over every gene within ``tol`` (relative to the penalty)."""

    C: float
    coef: np.ndarray
    intercept: np.ndarray
    n_iter: int
    converged: bool
    kkt: float  # the largest KKT violation over all genes, relative to lam


def _smooth(X, Y, W, b):
    """Mean cross-entropy, its gradient in ``W`` ``(p, K)`` and in ``b`` ``(K,)``."""
    Z = X @ W + b
    loss = -(log_softmax(Z, axis=1) * Y).sum() / len(X)
    R = (softmax(Z, axis=1) - Y) / len(X)
    return loss, X.T @ R, R.sum(0)


def _violation(G, W, lam):
    """Per entry: how far the subgradient condition is from holding (0 where it holds)."""
    return np.where(W != 0, np.abs(G + lam * np.sign(W)), np.maximum(np.abs(G) - lam, 0.0))


def _soft(V, t):
    return np.sign(V) * np.maximum(np.abs(V) - t, 0.0)


def _fista(X, Y, W, b, lam, max_iter, tol):
    """Accelerated proximal gradient (step 1/L, L bounding the softmax Hessian, gradient restart) on the genes
    of ``X``; stops when the KKT violation on these genes is below ``tol * lam``. Returns W, b, steps."""
    ones = np.ones((len(X), 1))
    L = 0.5 * np.linalg.norm(np.hstack([X, ones]), 2) ** 2 / len(X) + 1e-12
    Wy, by, t, steps = W.copy(), b.copy(), 1.0, 0
    for steps in range(1, max_iter + 1):
        _, GW, Gb = _smooth(X, Y, Wy, by)
        W_new, b_new = _soft(Wy - GW / L, lam / L), by - Gb / L
        if np.sum((Wy - W_new) * (W_new - W)) + np.sum((by - b_new) * (b_new - b)) > 0:  # restart: momentum hurts
            t = 1.0
        t_new = (1 + np.sqrt(1 + 4 * t * t)) / 2
        Wy = W_new + (t - 1) / t_new * (W_new - W)
        by = b_new + (t - 1) / t_new * (b_new - b)
        W, b, t = W_new, b_new, t_new
        if steps % 10 == 0:
            _, GW, Gb = _smooth(X, Y, W, b)
            if max(_violation(GW, W, lam).max(initial=0.0), np.abs(Gb).max()) <= tol * lam:
                break
    return W, b, steps


def _solve_at(X, Y, W, b, lam, max_iter, tol, grow):
    """Working-set rounds at one penalty, from (W, b): solve on the set, check every gene, admit violators."""
    p = X.shape[1]
    _, G, _ = _smooth(X, Y, W, b)
    score = np.abs(G).max(1)
    active = np.flatnonzero(np.any(W != 0, axis=1))
    outside = np.setdiff1d(np.flatnonzero(score > lam), active)
    ws = np.union1d(active, outside[np.argsort(-score[outside])][:max(grow, len(active))])
    total = 0
    while True:
        Ws, b, steps = _fista(X[:, ws], Y, W[ws], b, lam, max(max_iter - total, 1), tol)
        total += steps
        W = np.zeros_like(W)
        W[ws] = Ws
        _, G, Gb = _smooth(X, Y, W, b)
        viol = _violation(G, W, lam).max(1)
        kkt = max(viol.max(initial=0.0), np.abs(Gb).max()) / lam
        new = np.setdiff1d(np.flatnonzero(viol > tol * lam), ws)
        if not len(new) or total >= max_iter or len(ws) == p:
            return W, b, total, kkt
        ws = np.union1d(ws, new[np.argsort(-viol[new])][:max(grow, len(ws))])


def l1_logistic_path(X: np.ndarray, y: np.ndarray, Cs, max_iter: int = 5000, tol: float = 1e-3,
                     grow: int = 50) -> tuple[np.ndarray, list[L1Fit]]:
    """Solutions at each C of ``Cs`` (returned in increasing C: strongest penalty first), warm-started.
    ``y``: labels; returns the sorted classes and one :class:`L1Fit` per C. ``max_iter``: proximal steps per C
    (over all working-set rounds); ``tol``: the KKT violation allowed, relative to the penalty; ``grow``:
    genes admitted to the working set per round at least."""
    X = np.asarray(X, dtype=np.float64)
    classes, yi = np.unique(y, return_inverse=True)
    Y = np.eye(len(classes))[yi]
    W = np.zeros((X.shape[1], len(classes)))
    b = np.log(Y.mean(0))  # the optimum at W = 0
    fits = []
    for C in sorted(float(c) for c in Cs):
        lam = 1.0 / (C * len(X))
        W, b, n_iter, kkt = _solve_at(X, Y, W, b, lam, max_iter, tol, grow)
        fits.append(L1Fit(C, W.T.copy(), b - b.mean(), n_iter, bool(kkt <= tol), float(kkt)))
    return classes, fits


class L1LogisticModel:
    """A fitted L1 multinomial model with scikit-learn's ``coef_``, ``intercept_``, ``classes_`` and
    ``predict`` / ``predict_proba``."""

    def __init__(self, classes: np.ndarray, fit: L1Fit) -> None:
        self.classes_, self.coef_, self.intercept_ = classes, fit.coef, fit.intercept
        self.C, self.n_iter_, self.converged_, self.kkt_ = fit.C, fit.n_iter, fit.converged, fit.kkt

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        return softmax(np.asarray(X, dtype=np.float64) @ self.coef_.T + self.intercept_, axis=1)

    def predict(self, X: np.ndarray) -> np.ndarray:
        return self.classes_[self.predict_proba(X).argmax(1)]
