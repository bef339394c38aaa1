"""Block HSIC-Lasso (Yamada et al.) in torch, with bounded memory.

Same estimator as pyHSICLasso 1.4.2's ``classification``: each gene standardised by its
standard deviation, a Gaussian kernel (width 1) per gene and a normalised delta kernel on the
classes, computed on blocks of ``B`` arrays under ``M`` permutations (the same permutations as
pyHSICLasso), each block kernel centred and scaled to unit Frobenius norm; then the
non-negative LARS path until ``n_features`` genes are active.

What differs is how it is computed: kernels are built for chunks of genes in torch (GPU when
present), each symmetric block is stored once (its upper triangle, off-diagonal entries scaled
by sqrt(2) so that dot products stay exact), in float32 (float16 only if the memory budget
demands it); the LARS path needs one pass over the stored kernels per gene that enters the
path, and solves its small systems robustly (least squares when singular).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import torch

from genesel.device import resolve_device
from genesel.progress import progress


@dataclass
class HsicPath:
    """Result of :func:`block_hsic_lasso`."""

    selected: np.ndarray  # gene indices, ordered by coefficient (largest first)
    coefficients: np.ndarray  # their coefficients on the path's last step
    storage_dtype: str


def block_layout(n: int, block_size: int, n_permutations: int) -> np.ndarray:
    """Sample indices of every block, ``(n_blocks_total, B)``, as pyHSICLasso draws them."""
    B = block_size
    n_blocks = n // B
    if n_blocks < 1:
        raise ValueError(f"block size {B} exceeds the number of arrays ({n})")
    M = 1 + (n_blocks > 1) * (n_permutations - 1)
    index = np.arange(n)
    blocks = []
    for m in range(M):
        index = np.random.RandomState(m).permutation(index)
        for i in range(0, n - n % B, B):
            blocks.append(index[i:i + B])
    return np.asarray(blocks)


class _Packing:
    """Index helpers for the upper triangle (diagonal included) of a symmetric B x B block."""

    def __init__(self, B: int, device) -> None:
        rows, cols = torch.triu_indices(B, B, device=device)
        self.rows, self.cols = rows, cols
        off = rows != cols
        t = torch.arange(len(rows), device=device)
        # row sums of the full block from its packed pairs: pair (i, j) adds to rows i and j
        self.incidence = torch.zeros(len(rows), B, device=device)
        self.incidence[t, rows] = 1.0
        self.incidence[t[off], cols[off]] += 1.0
        # row_i + row_j for every pair in one product
        self.spread = torch.zeros(B, len(rows), device=device)
        self.spread[rows, t] += 1.0
        self.spread[cols, t] += 1.0
        self.weight = torch.where(off, 2.0, 1.0).to(device)  # pair multiplicity in the full block
        self.scale = torch.where(off, 2.0**0.5, 1.0).to(device)  # so packed dot products are exact
        self.B = B

    def finish(self, pairs: torch.Tensor) -> torch.Tensor:
        """Centre (H K H), scale to unit Frobenius norm, and scale off-diagonal pairs by sqrt(2),
        given the raw kernel on the packed pairs ``(..., T)``."""
        row = (pairs @ self.incidence) / self.B  # (..., B) row means of the full block
        pairs = pairs - row @ self.spread
        pairs += row.mean(-1, keepdim=True)
        norm = (pairs.square() @ self.weight).sqrt_().add_(1e-9).unsqueeze(-1)
        return pairs.mul_(self.scale).div_(norm)


def _pack(k: torch.Tensor, B: int) -> torch.Tensor:
    """Centre, normalise and pack full symmetric block kernels ``(..., B, B)``."""
    packing = _Packing(B, k.device)
    return packing.finish(k[..., packing.rows, packing.cols].to(packing.incidence.dtype))


def _label_kernel(y: np.ndarray, blocks: np.ndarray, device) -> torch.Tensor:
    yb = torch.as_tensor(y[blocks], device=device)  # (nb, B)
    same = (yb.unsqueeze(-1) == yb.unsqueeze(-2)).double()
    counts = same.sum(-1, keepdim=True)  # per row: size of its class within the block
    k = same / counts  # 1/count for pairs of one class, as pyHSICLasso's normalised delta kernel
    return _pack(k, blocks.shape[1]).reshape(-1)


def gene_kernels(X: np.ndarray, blocks: np.ndarray, device, storage: torch.dtype, chunk: int) -> torch.Tensor:
    """Packed kernels of every gene, ``(p, D)`` on ``device`` in ``storage`` dtype.

    Only the B(B+1)/2 distinct pairs of each block are ever computed."""
    n, p = X.shape
    nb, B = blocks.shape
    packing = _Packing(B, device)
    T = len(packing.rows)
    out = torch.empty((p, nb * T), dtype=storage, device=device)
    bidx = torch.as_tensor(blocks, device=device)
    left = bidx[:, packing.rows].flatten()  # sample index of each pair's first member, (nb * T,)
    right = bidx[:, packing.cols].flatten()
    for start in progress(range(0, p, chunk), desc=f"HSIC gene kernels (chunks of {chunk} genes)"):
        x = torch.as_tensor(np.ascontiguousarray(X[:, start:start + chunk]), device=device, dtype=torch.float32)
        x = (x / (x.std(0, unbiased=False, keepdim=True) + 1e-19)).T  # (c, n)
        diff = x.index_select(1, left).sub_(x.index_select(1, right))
        pairs = diff.square_().mul_(-0.5).exp_().view(x.shape[0], nb, T)
        out[start:start + chunk] = packing.finish(pairs).reshape(x.shape[0], -1).to(storage)
    return out


def block_hsic_lasso(
    X: np.ndarray,
    y: np.ndarray,
    n_features: int = 50,
    block_size: int = 20,
    n_permutations: int = 3,
    memory_budget_gb: float = 2.0,
    device: str = "auto",
    seed: int = 0,
) -> HsicPath:
    """Select ``n_features`` genes by block HSIC-Lasso; ``X`` is ``(n, p)``, ``y`` class labels.

    Peak memory is about the stored kernels (``p * n/B * M * B(B+1)/2`` values) plus one chunk
    of work; the chunk size follows ``memory_budget_gb``. ``seed`` is unused (the block
    permutations are fixed, as in pyHSICLasso) and kept for a uniform selector interface.
    """
    X = np.asarray(X, dtype=np.float32)
    _, y = np.unique(np.asarray(y), return_inverse=True)
    n, p = X.shape
    if n_features > p:
        raise ValueError(f"asked for {n_features} genes but only {p} are available")
    dev = resolve_device(device)
    B = min(block_size, n)
    blocks = block_layout(n, B, n_permutations)
    nb = len(blocks)
    T = B * (B + 1) // 2
    budget = int(memory_budget_gb * 2**30)
    store_bytes = p * nb * T * 4
    storage = torch.float32
    if store_bytes > 0.7 * budget:
        storage = torch.float16
        warnings.warn(f"HSIC-Lasso kernels ({store_bytes / 2**30:.1f} GB in float32) exceed 70% of the memory "
                      f"budget ({memory_budget_gb:g} GB): stored in float16 (metrics column kernel_dtype); raise "
                      "memory_budget_gb to keep float32", stacklevel=2)
    work_per_gene = nb * T * 4 * 6  # a few float32 temporaries per gene
    stored = store_bytes * (0.5 if storage == torch.float16 else 1.0)
    work_budget = min(32 * 2**20, max(budget - stored, 0) * 0.5)  # larger chunks gain no speed
    chunk = min(p, max(1, int(work_budget // work_per_gene)))
    K = gene_kernels(X, blocks, dev, storage, chunk)
    scale = 1.0 / (n // B * (len(blocks) // (n // B)))  # 1 / (numblocks * M), as pyHSICLasso
    L = _label_kernel(y, blocks, dev)
    KtL = (_matvec(K, L.float(), chunk) * scale).double()
    selected, beta = _nonnegative_lars(K, KtL, n_features, scale, chunk)
    if len(selected) < n_features:
        warnings.warn(
            f"HSIC-Lasso path ended after {len(selected)} of {n_features} genes: no remaining gene has a "
            "positive residual HSIC with the labels", stacklevel=2,
        )
    order = np.argsort(-beta[selected], kind="stable")
    selected = np.asarray(selected)[order]
    return HsicPath(selected, beta[selected], str(storage).replace("torch.", ""))


def _matvec(K: torch.Tensor, v: torch.Tensor, chunk: int) -> torch.Tensor:
    """``K @ v`` for stored kernels ``K (p, D)``, in float32 whatever the storage dtype."""
    if K.dtype == torch.float32:
        return K @ v
    return torch.cat([K[i:i + chunk].float() @ v for i in range(0, K.shape[0], chunk)])


def _nonnegative_lars(K: torch.Tensor, KtL: torch.Tensor, n_features: int, scale: float, chunk: int):
    """Non-negative LARS (pyHSICLasso's ``nlars`` path) with Gram columns computed on demand."""
    p = K.shape[0]
    c_full = KtL.cpu().numpy()
    gram: dict[int, np.ndarray] = {}  # gene -> K^T K[:, gene] * scale, float64

    def column(a: int) -> np.ndarray:
        if a not in gram:
            gram[a] = (_matvec(K, K[a].float(), chunk) * scale).double().cpu().numpy()
        return gram[a]

    beta = np.zeros(p)
    inactive = np.ones(p, dtype=bool)
    c = c_full.copy()
    j = int(np.argmax(c))
    C = c[j]
    A = [j]
    inactive[j] = False
    while np.sum(c[A]) / len(A) >= 1e-9 and len(A) < n_features + 1:
        GA = np.stack([column(a) for a in A], axis=1)  # (p, |A|)
        GAA = GA[A]
        ones = np.ones(len(A))
        try:
            w = np.linalg.solve(GAA, ones)
        except np.linalg.LinAlgError:
            w = np.linalg.lstsq(GAA, ones, rcond=None)[0]
        XtXw = GA @ w
        idle = np.flatnonzero(inactive)
        with np.errstate(divide="ignore", invalid="ignore"):
            gamma1 = (C - c[idle]) / (XtXw[A[0]] - XtXw[idle])
            gamma2 = -beta[A] / w
            gamma3 = np.array([c[A[0]] / XtXw[A[0]]])
        gamma = np.concatenate([gamma1, gamma2, gamma3])
        gamma[~np.isfinite(gamma) | (gamma <= 1e-9)] = np.inf
        t = int(np.argmin(gamma))
        mu = gamma[t]
        if not np.isfinite(mu):
            break
        beta[A] += mu * w
        dropped = len(idle) <= t < len(idle) + len(A)
        if dropped:
            gone = A.pop(t - len(idle))
            beta[gone] = 0.0
            inactive[gone] = True
        used = [a for a in gram if beta[a] != 0]
        c = c_full - (np.stack([gram[a] for a in used], 1) @ beta[used] if used else 0.0)
        idle = np.flatnonzero(inactive)
        if len(idle) == 0:
            break
        j = int(idle[np.argmax(c[idle])])
        C = c[j]
        if not dropped:
            A.append(j)
            inactive[j] = False
    if len(A) > n_features:
        A.pop()
    return A, beta
