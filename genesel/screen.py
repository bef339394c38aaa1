"""The screened dense start of spred's κ path: a working set of genes that cheap screens rank high.

With the MLP head the path runs up from a dense model, which at GDS scale (54,675 probes x 1,026 first-layer
columns) costs seconds a step on a CPU. The screened start trains that dense model on a working set only: per
split, on its training arrays, the union of the genes the screens below rank highest, ``start_genes`` in all
(the genes at the best rank of any screen first, as a round robin over the screens). Genes outside it enter at
every κ through the first-layer KKT check over all genes (:meth:`genesel.solver.PathSolver.solve`): a gene
with zero weights violates its optimality condition when ``‖X_iᵀ δ‖ > 2κ``, one product ``δᵀ X`` per check, and
the partner of an interaction gene that is in has a non-zero gradient once the model uses its partner.

Screens (each a score per gene, higher = more likely kept; NaN or 0 = not kept):

- ``limma``: limma's moderated F (:mod:`genesel.limma`): a mean shift between classes;
- ``variance``: Brown-Forsythe's test, a one-way ANOVA on the absolute deviations from each class's median:
  a spread shift with the same mean, which mean tests miss;
- ``coexpression``: per class against the rest, how much the gene's correlations with all other genes
  differ (``Σ_j (ΔC_ij)²``, from two ``n x n`` Gram matrices, ``O(n² p)``): sees a gene of an interaction pair
  (XOR) that no marginal test sees;
- ``hsic``: the marginal HSIC of the gene with the class (Gaussian kernel, bandwidth 1 on standardised data);
- ``linear``: the genes of spred's linear head at the end of its own (convex, screened) κ path.
"""

from __future__ import annotations

import logging
import warnings

import numpy as np
import torch

log = logging.getLogger(__name__)

SCREENS = ("limma", "variance", "coexpression", "hsic", "linear")
#: start_genes unset: every gene up to this many (the dense start), else this many screened genes
AUTO_START = 2000


def check_start_genes(start_genes: int | None, p: int) -> int | None:
    """The working set's size for ``p`` genes; None: the dense start. One line for a size out of range."""
    if start_genes is None:
        return None if p <= AUTO_START else AUTO_START
    if isinstance(start_genes, bool) or not isinstance(start_genes, (int, np.integer)) or start_genes < 1:
        raise ValueError(f"spred setting start_genes = {start_genes!r}: it must be a whole number of genes, at least 1 "
                         "(or unset for the automatic size)")
    if start_genes > p:
        raise ValueError(f"spred setting start_genes = {start_genes} is larger than the {p} genes of the training "
                         f"arrays; choose at most {p}, or leave it unset")
    return None if start_genes == p else int(start_genes)


def check_screens(screens) -> tuple[str, ...]:
    unknown = [s for s in screens if s not in SCREENS]
    if unknown or not len(screens):
        raise ValueError(f"spred setting screens = {list(screens)!r}: choose one or more of {', '.join(SCREENS)}")
    return tuple(screens)


def start_sets(X: np.ndarray, y: np.ndarray, n_classes: int, size: int, screens: tuple[str, ...],
               linear_path=None) -> np.ndarray:
    """Per split, the working set of the screened start ``(S, p)`` bool; a split where no screen keeps a gene
    gets every gene (the dense start), with a warning. ``linear_path(X, y) -> (S, p)`` gives the linear head's
    gene scores (the ``linear`` screen)."""
    S, _, p = X.shape
    scores = {name: np.stack([_SCORES[name](X[s], y[s], n_classes) for s in range(S)])
              for name in screens if name != "linear"}
    if "linear" in screens:
        scores["linear"] = linear_path(X, y)
    out = np.zeros((S, p), dtype=bool)
    for s in range(S):
        out[s] = union_of_top({name: v[s] for name, v in scores.items()}, size)
        if not out[s].any():
            warnings.warn(f"split {s}: no screen ({', '.join(screens)}) keeps a gene; the path starts dense on every "
                          "gene", stacklevel=3)
            out[s] = True
    return out


def union_of_top(scores: dict[str, np.ndarray], size: int) -> np.ndarray:
    """The ``size`` genes at the best rank of any screen (ties: screen order), among the genes some screen keeps
    (finite, positive score); fewer when fewer are kept."""
    ranks = []
    for value in scores.values():
        value = np.where(np.isfinite(value) & (value > 0), value, -np.inf)
        rank = np.empty(len(value))
        rank[np.argsort(-value, kind="stable")] = np.arange(len(value))
        ranks.append(np.where(np.isfinite(value), rank, np.inf))
    best = np.min(ranks, axis=0)
    order = np.argsort(best, kind="stable")[:size]
    mask = np.zeros(len(best), dtype=bool)
    mask[order[np.isfinite(best[order])]] = True
    return mask


def _limma(X: np.ndarray, y: np.ndarray, n_classes: int) -> np.ndarray:
    from genesel.limma import moderated_test

    with np.errstate(all="ignore"):
        return moderated_test(X, y, n_classes).F


def _one_way_f(Z: np.ndarray, y: np.ndarray, n_classes: int) -> np.ndarray:
    groups = [Z[y == c] for c in range(n_classes) if (y == c).sum()]
    grand = Z.mean(0)
    between = sum(len(g) * (g.mean(0) - grand) ** 2 for g in groups) / max(len(groups) - 1, 1)
    within = sum(((g - g.mean(0)) ** 2).sum(0) for g in groups) / max(len(Z) - len(groups), 1)
    with np.errstate(all="ignore"):
        return between / within


def _variance(X: np.ndarray, y: np.ndarray, n_classes: int) -> np.ndarray:
    Z = np.empty_like(X, dtype=np.float64)
    for c in range(n_classes):
        if (y == c).any():
            Z[y == c] = np.abs(X[y == c] - np.median(X[y == c], axis=0))
    return _one_way_f(Z, y, n_classes)


def _standardised(X: np.ndarray) -> torch.Tensor:
    Xt = torch.as_tensor(np.asarray(X, dtype=np.float32))
    Xt = Xt - Xt.mean(0)
    return Xt / Xt.std(0).clamp_min(1e-12)


def _coexpression(X: np.ndarray, y: np.ndarray, n_classes: int) -> np.ndarray:
    """max over classes of ``Σ_j (C_in[i, j] - C_out[i, j])²``, C the correlation-scale second moments inside
    the class and in the rest, each centred on its own means: ``diag(ΔC²) = diag(Wᵀ S W Wᵀ S W)``."""
    Xt, yt = _standardised(X), torch.as_tensor(np.asarray(y))
    best = torch.zeros(Xt.shape[1])
    for c in range(n_classes):
        inside = yt == c
        if inside.sum() < 2 or (~inside).sum() < 2 or (n_classes == 2 and c == 1):
            continue  # with two classes, class 1 against the rest is class 0's test
        parts = [Xt[m] - Xt[m].mean(0) for m in (inside, ~inside)]
        W = torch.cat([parts[0] / inside.sum().sqrt(), parts[1] / (~inside).sum().sqrt()])
        sign = torch.cat([torch.ones(int(inside.sum())), -torch.ones(int((~inside).sum()))])
        M = sign[:, None] * (W @ W.T) * sign[None, :]
        best = torch.maximum(best, ((M @ W) * W).sum(0))
    return best.double().numpy()


def _hsic(X: np.ndarray, y: np.ndarray, n_classes: int, chunk_entries: int = 2**24) -> np.ndarray:
    Xt, n = _standardised(X), len(y)
    onehot = torch.nn.functional.one_hot(torch.as_tensor(np.asarray(y)), n_classes).float()
    counts = onehot.sum(0).clamp_min(1)
    L = (onehot / counts) @ onehot.T  # class kernel, each class weighted by its size
    H = torch.eye(n) - 1.0 / n
    Lc = H @ L @ H
    out = torch.empty(Xt.shape[1])
    step = max(1, chunk_entries // (n * n))
    for start in range(0, Xt.shape[1], step):
        x = Xt[:, start:start + step]  # (n, c)
        K = torch.exp(-0.5 * (x[:, None, :] - x[None, :, :]) ** 2)  # (n, n, c)
        out[start:start + step] = torch.einsum("abc,ab->c", K, Lc) / n**2
    return out.double().numpy()


_SCORES = {"limma": _limma, "variance": _variance, "coexpression": _coexpression, "hsic": _hsic}
