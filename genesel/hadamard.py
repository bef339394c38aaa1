"""The Hadamard reparametrisation behind spred: sparsity by redundancy, shown on the lasso.

For one weight, ``min_{u w = v} kappa (u^2 + w^2) = 2 kappa |v|``: an L1 penalty on ``v`` equals,
at every minimum, plain weight decay ``kappa`` on the two factors of ``v = u * w``. So smooth
gradient descent on ``(u, w)`` with weight decay finds the sparse L1 solution. For a group
``v = u * w`` (one scalar ``u`` times a vector ``w``), ``min kappa (u^2 + ||w||^2) = 2 kappa ||v||``:
a group lasso. genesel uses one ``u`` per gene, shared by every weight that leaves that gene.

Scaling to scikit-learn: :class:`sklearn.linear_model.Lasso` minimises
``(1 / (2 n)) ||y - X b||^2 + alpha ||b||_1``; :func:`hadamard_lasso` minimises
``(1 / (2 n)) ||y - X (u * w)||^2 + kappa (||u||^2 + ||w||^2)``, whose minima are the lasso's
with ``alpha = 2 * kappa``.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn


class GroupMask(nn.Module):
    """Multiply input feature ``i`` by a learnable scalar ``u_i`` (structured sparsity).

    Followed by a dense layer ``W``, the effective weights of feature ``i`` are
    ``u_i * W[:, i]``; weight decay ``kappa`` on ``u`` and ``W`` is a group lasso
    ``2 kappa ||u_i W[:, i]||`` over features.
    """

    def __init__(self, n_features: int, init: float = 1.0) -> None:
        super().__init__()
        self.u = nn.Parameter(torch.full((n_features,), float(init)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.u


def kappa_param_groups(
    model: nn.Module, sparse_params: list[nn.Parameter], kappa: float, other_decay: float = 1e-5
) -> list[dict]:
    """Optimizer groups: ``kappa`` on the spred factors, ``other_decay`` on other weights, none on biases.

    ``torch.optim.SGD``'s ``weight_decay=lam`` adds ``lam * p`` to the gradient, the gradient
    of ``(lam / 2) ||p||^2``; the penalty ``kappa ||p||^2`` therefore needs ``lam = 2 kappa``.
    """
    sparse_ids = {id(p) for p in sparse_params}
    others = [p for n, p in model.named_parameters() if id(p) not in sparse_ids and not n.endswith("bias")]
    biases = [p for n, p in model.named_parameters() if id(p) not in sparse_ids and n.endswith("bias")]
    return [
        {"params": list(sparse_params), "weight_decay": 2 * kappa},
        {"params": others, "weight_decay": 2 * other_decay},
        {"params": biases, "weight_decay": 0.0},
    ]


def hadamard_lasso(
    X: np.ndarray,
    y: np.ndarray,
    kappa: float,
    max_iter: int = 500_000,
    tol: float = 1e-13,
) -> np.ndarray:
    """Lasso by spred: full-batch gradient descent on ``b = u * w`` with weight decay ``kappa``.

    Minimises ``(1/(2n)) ||y - X b||^2 + kappa (||u||^2 + ||w||^2)``, equivalent to
    scikit-learn's ``Lasso(alpha=2 * kappa, fit_intercept=False)``. Plain gradient descent,
    no proximal step and no thresholding: the zeros come from the reparametrisation alone.
    The step follows the local curvature (``||X'X/n|| * max(u^2 + w^2) + 2 kappa``).
    Returns ``b``.
    """
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    n, p = X.shape
    gram = X.T @ X / n
    xty = X.T @ y / n
    top = np.linalg.eigvalsh(gram)[-1]
    u = np.ones(p)
    w = np.full(p, 1e-2)
    for it in range(max_iter):
        if it % 100 == 0:
            lr = 0.9 / (top * np.max(u * u + w * w) + 2 * kappa + np.max(np.abs(gram @ (u * w) - xty)))
        g = gram @ (u * w) - xty  # gradient of the data term with respect to b
        du = g * w + 2 * kappa * u
        dw = g * u + 2 * kappa * w
        u -= lr * du
        w -= lr * dw
        if it % 100 == 0 and max(np.abs(du).max(), np.abs(dw).max()) < tol:
            break
    return u * w
