"""limma with repeated arrays of one patient: the intra-patient correlation (``duplicateCorrelation(x, design,
block=patient)``) and the generalised least-squares fit that uses it (``lmFit(x, design, block=patient,
correlation=...)``), as the limma User's Guide does for multi-level experiments.

Arrays of one patient are correlated: two arrays of one tumour share the patient's biology, and a tumour and its
paired normal tissue share the patient's baseline. Treating them as independent mis-states every gene's variance.
limma estimates one correlation ``ρ`` shared by every gene: each gene's REML estimate of the block variance
component (statmod's ``mixedModel2Fit``, by statmod's damped Fisher scoring for the gamma GLM of the projected
residuals, at most 20 iterations, as limma calls it), clipped to ``[1/(1 - largest block) + 0.01, 0.99]``, and the
15% trimmed mean of their ``atanh``. Each gene is then fitted by GLS with the correlation matrix ``I`` off-block,
``ρ`` within a block. ``tests/fixtures/limma/`` holds Bioconductor's numbers (limma 3.54.1, statmod 1.5.0).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

TRIM = 0.15  # duplicateCorrelation's trim
RHO_MAX = 0.99
MAXIT = 20  # duplicateCorrelation's maxit for mixedModel2Fit
TOL = 1e-6  # glmgam.fit's tolerance


def block_indicator(block: np.ndarray) -> np.ndarray:
    """``(n, B)`` 0/1 matrix: array i belongs to block j."""
    _, codes = np.unique(np.asarray(block).astype(str), return_inverse=True)
    return (codes[:, None] == np.arange(codes.max() + 1)[None, :]).astype(np.float64)


def repeated(block: np.ndarray | None) -> bool:
    """Whether some block holds more than one array."""
    return block is not None and len(np.unique(np.asarray(block).astype(str))) < len(block)


def one_way_design(y: np.ndarray, K: int) -> np.ndarray:
    """``model.matrix(~class)``: an intercept and one indicator per class after the reference (class 0)."""
    return np.column_stack([np.ones(len(y))] + [(y == c).astype(np.float64) for c in range(1, K)])


def _patterns(present: np.ndarray):
    """Genes grouped by the arrays where they were measured: ``(rows (n,) bool, genes (g,) int)`` per pattern."""
    if present.all():
        yield np.ones(present.shape[0], bool), np.arange(present.shape[1])
        return
    keys = np.ascontiguousarray(np.packbits(present, axis=0).T)
    _, first, inverse = np.unique(keys.view(np.dtype((np.void, keys.shape[1]))).ravel(), return_index=True,
                                  return_inverse=True)
    order = np.argsort(inverse, kind="stable")
    bounds = np.flatnonzero(np.diff(inverse[order])) + 1
    for i, genes in zip(first, np.split(order, bounds)):
        yield present[:, i], genes


def _cells(X: np.ndarray, rows: np.ndarray, genes: np.ndarray) -> np.ndarray:
    """``X``'s rows ``rows`` and columns ``genes`` (``X`` itself, not a copy, where that is all of it)."""
    return X if rows.all() and len(genes) == X.shape[1] else X[np.ix_(rows, genes)]


def _estimable(design: np.ndarray) -> np.ndarray:
    """Indices of a maximal set of linearly independent columns, in order (lm.fit's pivoting drops the later
    of two collinear columns; an all-zero column, a class with no array here, is never kept)."""
    keep: list[int] = []
    for j in range(design.shape[1]):
        if np.linalg.matrix_rank(design[:, keep + [j]]) == len(keep) + 1:
            keep.append(j)
    return np.asarray(keep, dtype=int)


def _residuals(design: np.ndarray, Y: np.ndarray) -> tuple[np.ndarray, int]:
    """Least-squares residuals of the columns of ``Y`` on ``design``, and the design's rank."""
    Q, _ = np.linalg.qr(design[:, _estimable(design)])
    return Y - Q @ (Q.T @ Y), Q.shape[1]


def duplicate_correlation(X: np.ndarray, design: np.ndarray, block: np.ndarray) -> tuple[float, np.ndarray]:
    """limma's consensus intra-block correlation and each gene's ``atanh`` correlation (NaN where a gene has too
    few arrays or blocks), from ``X (n, p)`` (NaN: missing), ``design (n, k)`` and ``block (n,)``."""
    X = np.asarray(X, dtype=np.float64)
    Z = block_indicator(block)
    largest = int(Z.sum(0).max())
    p = X.shape[1]
    if largest == 1 or _block_in_design(design, Z):  # limma warns and sets the correlation to zero
        return 0.0, np.zeros(p)
    rho = np.full(p, np.nan)
    for rows, genes in _patterns(np.isfinite(X)):
        Zr = Z[rows][:, Z[rows].any(0)]
        n_obs, n_blocks = int(rows.sum()), Zr.shape[1]
        if n_obs > design.shape[1] + 2 and 1 < n_blocks < n_obs - 1:
            rho[genes] = _block_share(_cells(X, rows, genes), design[rows], Zr)
    rho = np.clip(rho, 1 / (1 - largest) + 0.01, RHO_MAX)
    arho = np.arctanh(rho)
    finite = arho[np.isfinite(arho)]
    return (float(np.tanh(stats.trim_mean(finite, TRIM))) if finite.size else 0.0), arho


def _block_in_design(design: np.ndarray, Z: np.ndarray) -> bool:
    """Whether the design already spans the blocks (then there is no correlation left to estimate)."""
    return float(np.abs(_residuals(design, Z[:, 1:])[0]).max(initial=0)) < 1e-8


def _block_share(Y: np.ndarray, design: np.ndarray, Z: np.ndarray) -> np.ndarray:
    """Each gene's block variance over the total, ``(g,)``, from statmod's ``mixedModel2Fit`` on the columns of
    ``Y (m, g)``: REML of the residual and block variance components. The residuals, in the eigenvectors of the
    blocks' indicator projected off the design, have variances ``σ²_e + d_i σ²_b``; the directions of one ``d_i``
    (zero among them) enter as one row of their mean square, weighted by their number: the fit depends on them only
    so."""
    R, rank = _residuals(design, Y)
    mq = Y.shape[0] - rank
    if mq == 0:
        return np.full(Y.shape[1], np.nan)
    RZ = _residuals(design, Z)[0]
    d2, W = np.linalg.eigh(RZ.T @ RZ)  # squared singular values of the projected indicator, ascending
    nonzero = d2 > d2.max(initial=0) * max(Z.shape) * np.finfo(float).eps
    d2, W = d2[nonzero], W[:, nonzero]
    squares = ((W.T @ (Z.T @ R)) / np.sqrt(d2)[:, None]) ** 2  # (r_z, g)
    rest = mq - len(d2)
    d = np.concatenate([d2, np.zeros(rest)])
    # directions of one eigenvalue (equal to 1e-9: blocks of one size give many) enter as one row, as the zero ones
    starts = np.concatenate([[0], np.flatnonzero(np.diff(d2) > 1e-9 * d2.max(initial=0)) + 1]).astype(int)
    weight = np.diff(np.concatenate([starts, [len(d2)]])).astype(float)
    rows = np.add.reduceat(d2, starts) / weight if len(d2) else d2
    dy = np.add.reduceat(squares, starts, axis=0) / weight[:, None] if len(d2) else squares
    if rest:
        residual = np.maximum((R**2).sum(0) - squares.sum(0), 0) / rest
        dy = np.vstack([dy, residual[None, :]])
        rows, weight = np.append(rows, 0.0), np.append(weight, rest)
    dx = np.column_stack([np.ones(len(rows)), rows])
    sw = np.sqrt(weight)[:, None]
    start = np.linalg.lstsq(sw * dx, sw * dy, rcond=None)[0]  # (2, g), the unweighted fit on all mq rows
    if mq > 2 and (np.abs(d) > 1e-15).sum() > 1 and np.var(d, ddof=1) > 1e-15:
        negative = (dx @ start < 0).any(0)
        start[:, negative] = np.stack([(weight @ dy[:, negative]) / mq, np.zeros(int(negative.sum()))])
        start = gamma_identity_fit(dx, dy, start, weight)
    with np.errstate(invalid="ignore", divide="ignore"):
        return start[1] / start.sum(0)


@dataclass
class _Scoring:
    """statmod's ``glmgam.fit`` state for every column at once."""

    beta: np.ndarray  # (2, g)
    mu: np.ndarray  # (m, g)
    dev: np.ndarray  # (g,)
    lam: np.ndarray  # (g,)
    live: np.ndarray  # (g,) bool


def _gamma_deviance(y: np.ndarray, mu: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """statmod's gamma deviance per column (rows weighted by their multiplicity); infinite where a fitted value is
    negative."""
    skip = (y < 1e-15) & (mu < 1e-15)
    with np.errstate(invalid="ignore", divide="ignore"):
        terms = np.where(skip, 0.0, (y - mu) / mu - np.log(y / mu))
    return np.where((mu < 0).any(0), np.inf, 2 * (weight @ terms))


def gamma_identity_fit(dx: np.ndarray, dy: np.ndarray, start: np.ndarray, weight: np.ndarray, tol: float = TOL,
                       maxit: int = MAXIT) -> np.ndarray:
    """statmod's ``glmgam.fit`` (a gamma GLM with identity link by Levenberg-damped Fisher scoring) of every
    column of ``dy (m, g)`` on ``dx (m, 2)`` from ``start (2, g)``, row ``i`` standing for ``weight[i]`` equal
    rows; returns the coefficients ``(2, g)``."""
    mu = dx @ start
    st = _Scoring(start.copy(), mu, _gamma_deviance(dy, mu, weight), np.zeros(dy.shape[1]),
                  np.ones(dy.shape[1], bool))
    for iteration in range(1, maxit + 2):
        if not st.live.any():
            break
        _scoring_step(st, dx, dy, weight, first=iteration == 1, tol=tol)
    return st.beta


def _scoring_step(st: _Scoring, dx: np.ndarray, dy: np.ndarray, weight: np.ndarray, first: bool,
                  tol: float) -> None:
    """One outer iteration of ``glmgam.fit`` for the live columns: the damped step, the damping's update, and
    the convergence test (``dlᵀ dβ < tol``)."""
    idx = np.flatnonzero(st.live)
    y, mu = dy[:, idx], st.mu[:, idx]
    v = mu**2
    v = np.maximum(v, v.max(0) / 1e3)
    info = np.einsum("mi,mg,mj->gij", dx, weight[:, None] / v, dx)  # (g, 2, 2)
    maxinfo = np.max(np.diagonal(info, axis1=1, axis2=2), axis=1)
    if first:
        st.lam[idx] = np.abs(np.diagonal(info, axis1=1, axis2=2).mean(1)) / 2
    dl = np.einsum("mi,mg->gi", dx, weight[:, None] * (y - mu) / v)  # (g, 2)
    old, devold = st.beta[:, idx].copy(), st.dev[idx]
    lam, pending = st.lam[idx].copy(), np.ones(len(idx), bool)
    levels = np.zeros(len(idx), int)
    beta, new_mu, dev, dbeta = old.copy(), mu.copy(), devold.copy(), np.zeros((len(idx), 2))
    damped_out = np.zeros(len(idx), bool)
    while pending.any():
        j = np.flatnonzero(pending)
        levels[j] += 1
        step = np.linalg.solve(info[j] + lam[j, None, None] * np.eye(2), dl[j][..., None])[..., 0]
        dbeta[j] = step
        beta[:, j] = old[:, j] + step.T
        new_mu[:, j] = dx @ beta[:, j]
        dev[j] = _gamma_deviance(y[:, j], new_mu[:, j], weight)
        with np.errstate(invalid="ignore", divide="ignore"):
            accept = (dev[j] <= devold[j]) | (dev[j] / new_mu[:, j].max(0) < 1e-15)
        too_damped = ~accept & (lam[j] / maxinfo[j] > 1e15)
        beta[:, j[too_damped]] = old[:, j[too_damped]]
        damped_out[j[too_damped]] = True
        lam[j[~accept & ~too_damped]] *= 2
        pending[j[accept | too_damped]] = False
    lam = np.where(levels == 1, lam / 10, lam)
    with np.errstate(invalid="ignore", divide="ignore"):
        done = damped_out | ((dl * dbeta).sum(1) < tol) | (dev / new_mu.max(0) < 1e-15)
    st.beta[:, idx], st.mu[:, idx], st.dev[idx], st.lam[idx] = beta, new_mu, dev, lam
    st.live[idx[done]] = False


@dataclass
class GlsFit:
    """``lmFit``'s GLS fit per gene: coefficients ``(p, k)`` (NaN where not estimable), their unscaled standard
    deviations, residual variances and degrees of freedom, and the whole design's unscaled covariance ``(k, k)``."""

    coefficients: np.ndarray
    stdev_unscaled: np.ndarray
    s2: np.ndarray
    df_residual: np.ndarray
    cov_coefficients: np.ndarray


def gls_fit(X: np.ndarray, design: np.ndarray, block: np.ndarray, rho: float) -> GlsFit:
    """``lmFit(x, design, block=block, correlation=rho)`` (limma's ``gls.series``) on ``X (n, p)``, NaN missing:
    every gene by generalised least squares on the arrays where it was measured."""
    X = np.asarray(X, dtype=np.float64)
    Z = block_indicator(block)
    p, k = X.shape[1], design.shape[1]
    whole, estimable = _precision_products(design, design, Z, rho), _estimable(design)
    cov = np.full((k, k), np.nan)
    cov[np.ix_(estimable, estimable)] = np.linalg.inv(whole[np.ix_(estimable, estimable)])
    fit = GlsFit(np.full((p, k), np.nan), np.full((p, k), np.nan), np.full(p, np.nan), np.zeros(p), cov)
    for rows, genes in _patterns(np.isfinite(X)):
        if rows.any():
            _fit_pattern(fit, _cells(X, rows, genes), design[rows], Z[rows], rho, genes)
    return fit


def _precision_products(A: np.ndarray, B: np.ndarray, Z: np.ndarray, rho: float) -> np.ndarray:
    """``Aᵀ V⁻¹ B`` for the block correlation matrix ``V`` (1 on the diagonal, ``rho`` within a block), whose
    inverse within a block of ``m`` arrays is ``(I - c 11ᵀ) / (1 - rho)`` with ``c = rho / (1 - rho + m rho)``."""
    c = rho / (1 - rho + Z.sum(0) * rho)
    return (A.T @ B - (Z.T @ A).T @ (c[:, None] * (Z.T @ B))) / (1 - rho)


def _fit_pattern(fit: GlsFit, Y: np.ndarray, design: np.ndarray, Z: np.ndarray, rho: float,
                 genes: np.ndarray) -> None:
    """GLS of the genes ``genes`` that share the arrays of ``Y (m, g)`` (one missing-value pattern)."""
    estimable = _estimable(design)
    X = design[:, estimable]
    cov = np.linalg.inv(_precision_products(X, X, Z, rho))
    beta = cov @ _precision_products(X, Y, Z, rho)  # (r, g)
    df = Y.shape[0] - len(estimable)
    fit.coefficients[np.ix_(genes, estimable)] = beta.T
    fit.stdev_unscaled[np.ix_(genes, estimable)] = np.sqrt(np.diag(cov))
    fit.df_residual[genes] = df
    if df > 0:
        R = Y - X @ beta
        c = rho / (1 - rho + Z.sum(0) * rho)
        fit.s2[genes] = ((R**2).sum(0) - c @ (Z.T @ R) ** 2) / (1 - rho) / df
