"""limma's moderated t and F statistics for a one-way design (one label per array).

The per-gene linear model is a mean per class, with the reference class as the baseline: each
coefficient is a log2 fold change "class minus reference". Residual variances are shrunk towards a
common prior by empirical Bayes (Smyth 2004, limma's ``squeezeVar``/``fitFDist``), which gives
moderated t statistics for each class against the reference and a moderated F statistic for any
difference between classes, as ``lmFit(x, model.matrix(~ class))`` -> ``eBayes`` -> ``topTable``
does. ``tests/fixtures/limma/`` holds Bioconductor limma's numbers and the R script that made them.

Missing values are allowed: each gene uses the arrays where it was measured (its own residual degrees
of freedom), as limma does. The moderated F is limma's (``classifyTestsF``): the gene's moderated t
statistics combined through the correlation of the coefficients of the *whole* design, so with missing
values it is not the one-way ANOVA F of the gene's own arrays (it differs by up to 20% on the synthetic
fixture, ``tests/test_limma.py``). A gene that misses a whole class, where limma gives NA, gets the F of
the classes it has.

Where a patient gave several arrays (``block``), the arrays of one patient are correlated: the fit is then
``duplicateCorrelation`` followed by ``lmFit(block=, correlation=)`` (:mod:`genesel.limma_blocks`), and the same
empirical Bayes step.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import special, stats

from genesel.limma_blocks import duplicate_correlation, gls_fit, one_way_design, repeated


@dataclass
class ModeratedFit:
    """limma's statistics per gene (rows) for classes 1..K-1 against class 0 (columns)."""

    log2_fold_change: np.ndarray  # (p, K-1) class mean minus reference mean
    average: np.ndarray  # (p,) mean log2 expression over all arrays (limma's AveExpr)
    t: np.ndarray  # (p, K-1) moderated t
    p_t: np.ndarray  # (p, K-1) two-sided p of the moderated t
    F: np.ndarray  # (p,) moderated F for any difference between classes
    p_F: np.ndarray  # (p,)
    df_residual: np.ndarray  # (p,)
    df_prior: float
    s2_prior: float
    df_total: np.ndarray  # (p,)
    #: the consensus intra-block correlation where arrays were blocked (``duplicateCorrelation``), else None
    block_correlation: float | None = None

    @property
    def p_value(self) -> np.ndarray:
        """The p-value of the gene's test: the moderated t with two classes, else the moderated F
        (with two classes the two are the same test)."""
        return self.p_t[:, 0] if self.t.shape[1] == 1 else self.p_F


def trigamma_inverse(y: np.ndarray) -> np.ndarray:
    """x with trigamma(x) = y (Newton's method from limma's ``trigammaInverse``)."""
    y = np.asarray(y, dtype=np.float64)
    x = 0.5 + 1.0 / y
    for _ in range(50):
        tri = special.polygamma(1, x)
        step = tri * (1 - tri / y) / special.polygamma(2, x)
        x = x + step
        if np.all(-step / x < 1e-8):
            break
    return np.where(y > 1e7, 1 / np.sqrt(y), np.where(y < 1e-6, 1 / y, x))


def fit_f_dist(s2: np.ndarray, df: np.ndarray) -> tuple[float, float]:
    """Prior degrees of freedom and scale of the residual variances (limma's ``fitFDist``, no
    covariate): moments of log variances matched to a scaled F distribution."""
    ok = np.isfinite(s2) & (df > 0)
    s2, df = s2[ok], df[ok]
    if len(s2) < 2:
        return 0.0, float(np.nan)
    s2 = np.maximum(s2, 0)
    median = np.median(s2)
    s2 = np.maximum(s2, 1e-5 * (median if median > 0 else 1.0))
    e = np.log(s2) - special.digamma(df / 2) + np.log(df / 2)
    e_mean = e.mean()
    e_var = np.sum((e - e_mean) ** 2) / (len(e) - 1) - np.mean(special.polygamma(1, df / 2))
    if e_var > 0:
        df_prior = float(2 * trigamma_inverse(np.array([e_var]))[0])
        s2_prior = float(np.exp(e_mean + special.digamma(df_prior / 2) - np.log(df_prior / 2)))
    else:  # no spread beyond sampling noise: the pooled variance (limma >= 3.27.6)
        df_prior, s2_prior = float(np.inf), float(np.mean(s2))
    return df_prior, s2_prior


def moderated_test(X: np.ndarray, y: np.ndarray, n_classes: int | None = None,
                   block: np.ndarray | None = None) -> ModeratedFit:
    """limma's moderated statistics of every gene (column of ``X``, log2 scale) for the classes ``y``
    (codes, class 0 the reference). ``block``: the patient (or other unit) of each array; where some patient
    has several arrays, their correlation is estimated and the genes fitted by GLS (:mod:`genesel.limma_blocks`)."""
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y)
    K = int(n_classes or y.max() + 1)
    present = np.isfinite(X)
    counts = np.stack([present[y == c].sum(axis=0) for c in range(K)], axis=1).astype(np.float64)  # (p, K)
    sums = np.stack([np.where(present[y == c], X[y == c], 0).sum(axis=0) for c in range(K)], axis=1)
    if repeated(block):
        return _blocked_test(X, y, K, np.asarray(block), counts, sums)
    with np.errstate(invalid="ignore", divide="ignore"):
        means = sums / counts
        squares = sum(np.where(present[y == c], (X[y == c] - means[:, c]) ** 2, 0).sum(axis=0) for c in range(K))
        df = counts.sum(axis=1) - (counts > 0).sum(axis=1)
        s2 = np.where(df > 0, squares / np.where(df > 0, df, 1), np.nan)
        df_prior, s2_prior = fit_f_dist(s2, df)
        post = _squeeze(s2, df, df_prior, s2_prior)
        df_total = np.minimum(df + df_prior, np.nansum(df))
        lfc = means[:, 1:] - means[:, :1]
        t = lfc / np.sqrt(post[:, None] * (1 / counts[:, 1:] + 1 / counts[:, :1]))
        p_t = 2 * stats.t.sf(np.abs(t), df_total[:, None])
        F, groups = _moderated_f(t, one_way_cov(y, K), K, counts, sums, means, post)
        p_F = stats.f.sf(F, groups - 1, df_total)
    return ModeratedFit(lfc, np.nanmean(np.where(present, X, np.nan), axis=0), t, p_t, F, p_F, df, df_prior,
                        s2_prior, df_total)


def _blocked_test(X, y, K, block, counts, sums) -> ModeratedFit:
    """``duplicateCorrelation`` -> ``lmFit(block=, correlation=)`` -> ``eBayes``: the moderated statistics of
    arrays that share patients."""
    design = one_way_design(y, K)
    rho, _ = duplicate_correlation(X, design, block)
    fit = gls_fit(X, design, block, rho)
    df = fit.df_residual
    with np.errstate(invalid="ignore", divide="ignore"):
        df_prior, s2_prior = fit_f_dist(fit.s2, df)
        post = _squeeze(fit.s2, df, df_prior, s2_prior)
        df_total = np.minimum(df + df_prior, np.nansum(df))
        t = fit.coefficients[:, 1:] / (fit.stdev_unscaled[:, 1:] * np.sqrt(post)[:, None])
        p_t = 2 * stats.t.sf(np.abs(t), df_total[:, None])
        F, groups = _moderated_f(t, fit.cov_coefficients[1:, 1:], K, counts, sums, sums / counts, post)
        p_F = stats.f.sf(F, groups - 1, df_total)
    return ModeratedFit(fit.coefficients[:, 1:], np.nanmean(X, axis=0), t, p_t, F, p_F, df, df_prior, s2_prior,
                        df_total, block_correlation=rho)


def one_way_cov(y: np.ndarray, K: int) -> np.ndarray:
    """The unscaled covariance of the class-vs-reference coefficients of a one-way design by least squares."""
    n = np.bincount(y, minlength=K).astype(np.float64)
    return 1 / n[0] + np.diag(1 / n[1:])


def _moderated_f(t, cov, K, counts, sums, means, post) -> tuple[np.ndarray, np.ndarray]:
    """limma's moderated F (``classifyTestsF``: ``t' R⁻¹ t / (K - 1)`` with ``R`` the correlation of the
    class-vs-reference coefficients of the whole design, ``cov`` their unscaled covariance) and the number of
    classes it compares; a gene missing a whole class gets the between-class F of the classes it has (limma: NA;
    with blocked arrays that F ignores the blocks)."""
    sd = np.sqrt(np.diag(cov))
    inverse = np.linalg.inv(cov / np.outer(sd, sd))
    F = np.einsum("pi,ij,pj->p", np.nan_to_num(t), inverse, np.nan_to_num(t)) / (K - 1)
    groups = (counts > 0).sum(axis=1)
    partial = groups < K
    if partial.any():
        grand = np.nansum(sums, axis=1) / counts.sum(axis=1)
        between = np.nansum(counts * (means - grand[:, None]) ** 2, axis=1)
        F = np.where(partial, between / (groups - 1) / post, F)
    return F, groups


def _squeeze(s2: np.ndarray, df: np.ndarray, df_prior: float, s2_prior: float) -> np.ndarray:
    """Posterior residual variances (limma's ``squeezeVar``)."""
    if not np.isfinite(df_prior):
        return np.full_like(s2, s2_prior)
    return (df_prior * s2_prior + df * np.nan_to_num(s2)) / (df_prior + df)
