"""An independent float64 reference for the tests: multinomial group-lasso logistic regression with
unpenalised intercepts, ``mean CE + lam * sum_i ||W[i]||``, by plain numpy FISTA with the constant
step 1/L (no backtracking, no screening, no torch), run to a tight KKT tolerance."""

from __future__ import annotations

import numpy as np


def softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(1, keepdims=True)


def group_lasso_logistic(X, y, C, lam, tol=1e-10, max_iter=200000):
    """Return ``(W (p, C), b (C,))`` at the optimum."""
    n, p = X.shape
    Y = np.eye(C)[y]
    L = np.linalg.norm(X, 2) ** 2 / (2 * n) + 1.0  # +1 covers the intercept column
    step = 1.0 / L
    W = np.zeros((p, C))
    b = np.log(Y.mean(0) + 1e-12)
    Wp, bp, t = W.copy(), b.copy(), 1.0
    for it in range(max_iter):
        tn = (1 + np.sqrt(1 + 4 * t * t)) / 2
        Wy = W + (t - 1) / tn * (W - Wp)
        by = b + (t - 1) / tn * (b - bp)
        R = softmax(X @ Wy + by) - Y
        gW, gb = X.T @ R / n, R.mean(0)
        Wn = Wy - step * gW
        bn = by - step * gb
        nr = np.linalg.norm(Wn, axis=1, keepdims=True)
        Wn *= np.maximum(0, 1 - step * lam / np.maximum(nr, 1e-300))
        if np.sum((Wy - Wn) * (Wn - W)) + np.sum((by - bn) * (bn - b)) > 0:
            tn = 1.0
        Wp, bp, W, b, t = W, b, Wn, bn, tn
        if it % 50 == 0:
            R = softmax(X @ W + b) - Y
            g = X.T @ R / n
            nv = np.linalg.norm(W, axis=1)
            act = nv > 0
            r = np.where(act, np.linalg.norm(g + lam * W / np.maximum(nv, 1e-300)[:, None], axis=1),
                         np.maximum(0, np.linalg.norm(g, axis=1) - lam))
            if r.max() < tol * lam and np.abs(R.mean(0)).max() < tol:
                break
    return W, b

def objective(X, y, W, b, lam):
    n = len(y)
    P = softmax(X @ W + b)
    return -np.log(P[np.arange(n), y]).mean() + lam * np.linalg.norm(W, axis=1).sum()
