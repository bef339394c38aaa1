"""Batched networks for spred (paper's Eq. 8) and its Table-1 variants.

Many independent models (splits x grid points) live in one set of tensors with a leading
model dimension ``M`` and train together with batched matrix products; each model sees its
own split's data through an index into a stacked data tensor.

Eq. 8 for one model::

    L = CE(f_l(W_l (U * x)), y) + CE(f_n(W_n (U * x)), y) + kappa (||W_l||^2 + ||W_n||^2 + ||U||^2)

``W_l`` (no bias) and the first layer of ``f_n`` share the input mask ``U`` and are held as one
matrix ``W_in = [W_l, W_n1]`` of shape ``(p, C + H)``. The gene score is the group norm
``|U_i| * ||W_in[i, :]||``: by the spred identity, weight decay ``kappa`` on ``U`` and ``W_in``
is the group lasso ``2 kappa sum_i |U_i| ||W_in[i, :]||`` over genes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np
import torch
import torch.nn.functional as F


@dataclass(frozen=True)
class Architecture:
    """What a variant is made of."""

    mask: bool  # shared per-gene scalar U in front of every input weight
    linear_head: bool  # f_l: linear, no bias
    hidden: tuple[int, ...]  # hidden widths of f_n; () means no MLP head
    penalty: str  # "spred": kappa on U and W_in; "l2": kappa on all weights; "l1": kappa |W_in| (subgradient)

    def __post_init__(self) -> None:
        if self.penalty not in ("spred", "l2", "l1"):
            raise ValueError(f"unknown penalty {self.penalty!r}")
        if not (self.linear_head or self.hidden):
            raise ValueError("a model needs a linear head, an MLP head, or both")

    def first_layer_width(self, n_classes: int) -> int:
        """Outputs of the first layer per gene: the linear head's classes and the MLP head's first width."""
        return (n_classes if self.linear_head else 0) + (self.hidden[0] if self.hidden else 0)


#: the paper's variants (Table 1) with their default widths, one row each: adding a variant touches only this
#: table (the trainers build from it, :mod:`genesel.costs` counts from it)
VARIANTS = {
    "spred": Architecture(mask=True, linear_head=True, hidden=(1024, 1024), penalty="spred"),  # Eq. 8
    "spred_linear": Architecture(mask=True, linear_head=True, hidden=(), penalty="spred"),  # f_l only
    "mlp_wd": Architecture(mask=False, linear_head=False, hidden=(4096,), penalty="l2"),
    "mlp_l1": Architecture(mask=False, linear_head=False, hidden=(4096,), penalty="l1"),
}


def make_architecture(variant: str, hidden: int | None = None) -> Architecture:
    """The row of :data:`VARIANTS` named ``variant``; ``hidden`` overrides the width of every hidden layer
    (1024 for spred's two, 4096 for the MLPs' one; a variant without an MLP head has none)."""
    if variant not in VARIANTS:
        *others, last = VARIANTS
        raise ValueError(f"unknown variant {variant!r}; choose {', '.join(others)} or {last}")
    arch = VARIANTS[variant]
    return replace(arch, hidden=(hidden,) * len(arch.hidden)) if hidden else arch


class HeldOutPredictions:
    """Test-array class probabilities a trainer returns (``test_proba``, ``(S, M, n_test, C)``, and
    ``head_test_proba`` per head): the trainers never see test labels; accuracy is computed here,
    by the caller that holds them."""

    test_proba: np.ndarray
    head_test_proba: dict

    def accuracy(self, y_test, head: str = "ensemble"):
        """``(S, M)`` test accuracy of every model (NaN for a model without predictions)."""
        import numpy as np

        proba = self.test_proba if head == "ensemble" else self.head_test_proba[head]
        y = np.asarray(y_test)[:, None, :]
        with np.errstate(invalid="ignore"):
            correct = (proba.argmax(-1) == y).mean(-1)
        return np.where(np.isnan(proba).any(axis=(-1, -2)), np.nan, correct)


def heads_cross_entropy(heads, y: torch.Tensor) -> torch.Tensor:
    """Per-model sum over the heads (``None`` skipped) of the mean cross-entropy, ``(M,)``; logits ``(M, n, C)``."""
    total = 0.0
    for head in heads:
        if head is not None:
            M, n, C = head.shape
            ce = F.cross_entropy(head.reshape(M * n, C), y.reshape(M * n), reduction="none")
            total = total + ce.view(M, n).mean(1)
    return total


#: below this many first-layer columns, :func:`first_layer` runs in the transposed orientation
NARROW_FIRST_LAYER = 64


def first_layer(V: torch.Tensor, X: torch.Tensor) -> torch.Tensor:
    """``z = X V`` for stacked models, ``(M, n, K)``; an empty working set gives zeros. With few columns in V
    (the linear head's classes) computed as ``(Vᵀ Xᵀ)ᵀ``, the orientation in which CPU BLAS runs fastest there;
    with the MLP head's width as ``X V``, twice as fast on 2,000 genes x 1,029 columns (measured, RESULTS.md)."""
    if V.shape[1] == 0:
        return X.new_zeros(X.shape[0], X.shape[1], V.shape[2])
    if V.shape[2] >= NARROW_FIRST_LAYER:
        return torch.bmm(X, V)
    return torch.bmm(V.transpose(1, 2), X.transpose(1, 2)).transpose(1, 2)


def head_logits(arch: Architecture, C: int, P: dict, z: torch.Tensor) -> tuple[torch.Tensor | None, torch.Tensor | None]:
    """Per-head logits ``(M, n, C)`` from the first-layer output ``z``: ``f_l`` reads its first ``C``
    columns, the MLP head ``f_n`` the rest. The one forward pass of the heads (the SGD grid's
    :class:`BatchedNet` and the κ path's :mod:`genesel.prox`)."""
    lin = None
    if arch.linear_head:  # the κ path gives f_l a bias; the SGD grid's f_l has none (Eq. 8)
        lin = z[..., :C] + P["b_lin"].unsqueeze(1) if "b_lin" in P else z[..., :C]
    mlp = None
    if arch.hidden:
        h = F.relu((z[..., C:] if arch.linear_head else z) + P["b_in"].unsqueeze(1))
        for i in range(1, len(arch.hidden)):
            h = F.relu(torch.baddbmm(P[f"b_h{i}"].unsqueeze(1), h, P[f"W_h{i}"]))
        mlp = torch.baddbmm(P["b_out"].unsqueeze(1), h, P["W_out"])
    return lin, mlp




def parameter_shapes(arch: Architecture, n_features: int, n_classes: int) -> dict[str, tuple[int, ...]]:
    """The shape of each parameter of one model (``U`` only for a masked variant)."""
    C, p, widths = n_classes, n_features, list(arch.hidden)
    shapes = {"W_in": (p, arch.first_layer_width(C))}
    if widths:
        shapes["b_in"] = (widths[0],)
        for i in range(1, len(widths)):
            shapes[f"W_h{i}"] = (widths[i - 1], widths[i])
            shapes[f"b_h{i}"] = (widths[i],)
        shapes["W_out"] = (widths[-1], C)
        shapes["b_out"] = (C,)
    if arch.mask:
        shapes["U"] = (p,)
    return shapes


def parameter_count(arch: Architecture, n_features: int, n_classes: int) -> int:
    return sum(math.prod(shape) for shape in parameter_shapes(arch, n_features, n_classes).values())


def training_bytes(arch: Architecture, n_features: int, n_classes: int, n_train: int) -> int:
    """Rough training memory of one model: parameters, gradients, momentum, activations and one temporary of
    ``W_in`` in the step (the L1 penalty's sign); counted from the shapes, nothing allocated."""
    p, k = n_features, arch.first_layer_width(n_classes)
    acts = n_train * (2 * p + 2 * k + 4 * sum(arch.hidden))
    return 4 * (3 * parameter_count(arch, p, n_classes) + p * k + acts)


class BatchedNet:
    """``M`` independent networks of one architecture, as plain tensors with a model dimension."""

    def __init__(self, arch: Architecture, params: dict[str, torch.Tensor], n_classes: int,
                 momentum_buffers: dict[str, torch.Tensor] | None = None) -> None:
        self.arch = arch
        self.params = params
        self.n_classes = n_classes
        self.buffers = momentum_buffers or {}

    # -- construction ------------------------------------------------------------------------
    @classmethod
    def init(
        cls,
        arch: Architecture,
        n_features: int,
        n_classes: int,
        n_models: int,
        group_seeds: list[int],
        group_of_model: torch.Tensor,
        device: torch.device,
        dtype: torch.dtype = torch.float32,
    ) -> BatchedNet:
        """Initialise like ``nn.Linear`` (uniform in +-1/sqrt(fan_in)), ``U = 1``.

        Models of one group (one split) share their initial weights, drawn from that group's
        seed, so a model's start does not depend on how the grid is chunked.
        """
        p, widths = n_features, list(arch.hidden)
        shapes = parameter_shapes(arch, p, n_classes)
        shapes.pop("U", None)
        fan_in = {"W_in": p, "b_in": p, "W_out": widths[-1] if widths else 1, "b_out": widths[-1] if widths else 1}
        for i in range(1, len(widths)):
            fan_in[f"W_h{i}"] = fan_in[f"b_h{i}"] = widths[i - 1]
        # drawn where the models live (a CUDA generator on a GPU: the CPU drew 4.5 G numbers per 20-split
        # chunk at the MLP baselines' GDS scale) and written into place, with no stacked copy
        gen_device = device if device.type == "cuda" else torch.device("cpu")
        params = {name: torch.empty((n_models, *shape), device=device, dtype=dtype) for name, shape in shapes.items()}
        for group, seed in enumerate(group_seeds):
            rows = (group_of_model == group).nonzero().flatten().to(device)
            if not len(rows):
                continue
            gen = torch.Generator(device=gen_device).manual_seed(int(seed))
            for name, shape in shapes.items():
                bound = 1.0 / math.sqrt(fan_in[name])
                draw = torch.rand(shape, generator=gen, dtype=torch.float32, device=gen_device).mul_(2).sub_(1).mul_(bound)
                params[name][rows] = draw.to(device=device, dtype=dtype)
        if arch.mask:
            params["U"] = torch.ones(n_models, p, device=device, dtype=dtype)
        for t in params.values():
            t.requires_grad_(True)
        return cls(arch, params, n_classes)

    def select(self, keep: torch.Tensor) -> BatchedNet:
        """The models at indices ``keep`` (drops finished models from the batch)."""
        params = {k: v.detach().index_select(0, keep).requires_grad_(True) for k, v in self.params.items()}
        buffers = {k: v.index_select(0, keep) for k, v in self.buffers.items()}
        net = BatchedNet(self.arch, params, self.n_classes, buffers)
        net.step_count = getattr(self, "step_count", 0)
        return net

    def select_features(self, keep: torch.Tensor) -> BatchedNet:
        """The same models restricted to input genes ``keep`` (rows of ``U`` and ``W_in``)."""
        params = {k: (v.detach().index_select(1, keep) if k in ("U", "W_in") else v.detach()).requires_grad_(True)
                  for k, v in self.params.items()}
        buffers = {k: (v.index_select(1, keep) if k.split("_sq")[0] in ("U", "W_in") else v)
                   for k, v in self.buffers.items()}
        net = BatchedNet(self.arch, params, self.n_classes, buffers)
        net.step_count = getattr(self, "step_count", 0)
        return net

    @torch.no_grad()
    def zero_genes(self, dead: torch.Tensor) -> None:
        """Set ``U`` and ``W_in`` of the genes marked in ``dead (M, p)`` to exactly zero, with
        their optimiser state."""
        for name in ("U", "W_in", "U_sq", "W_in_sq"):
            for store in (self.params, self.buffers):
                t = store.get(name)
                if t is not None:
                    t.masked_fill_(dead if t.dim() == 2 else dead.unsqueeze(-1), 0.0)

    def expand_features(self, cols: torch.Tensor, n_features: int) -> BatchedNet:
        """Inverse of :meth:`select_features`: zeros for the genes that were dropped."""
        params = {}
        for k, v in self.params.items():
            if k in ("U", "W_in"):
                full = torch.zeros((v.shape[0], n_features, *v.shape[2:]), dtype=v.dtype, device=v.device)
                full[:, cols] = v.detach()
                params[k] = full
            else:
                params[k] = v.detach()
        return BatchedNet(self.arch, params, self.n_classes)

    @property
    def n_models(self) -> int:
        return self.params["W_in"].shape[0]

    # -- forward ---------------------------------------------------------------------------
    def logits(self, X: torch.Tensor, data_index: torch.Tensor) -> tuple[torch.Tensor | None, torch.Tensor | None]:
        """Per-head logits ``(M, n, C)`` for stacked data ``X (S, n, p)``; model m reads ``X[data_index[m]]``."""
        P = self.params
        x = X.index_select(0, data_index)
        if not self.arch.mask:
            z = torch.bmm(x, P["W_in"])
        elif P["W_in"].shape[2] <= x.shape[1]:
            # few outputs (linear head alone): scale the weights, (U * x) W = x (U W), cheaper than scaling x
            z = torch.bmm(x, P["U"].unsqueeze(2) * P["W_in"])
        else:
            z = torch.bmm(x * P["U"].unsqueeze(1), P["W_in"])
        return head_logits(self.arch, self.n_classes, P, z)

    def data_loss(self, X: torch.Tensor, y: torch.Tensor, data_index: torch.Tensor) -> torch.Tensor:
        """Per-model sum over heads of the mean cross-entropy, shape ``(M,)``."""
        return heads_cross_entropy(self.logits(X, data_index), y.index_select(0, data_index))

    @torch.no_grad()
    def predict_proba(self, X: torch.Tensor, data_index: torch.Tensor) -> dict[str, torch.Tensor]:
        """Class probabilities per head and for the ensemble (mean of the heads), each ``(M, n, C)``."""
        lin, mlp = self.logits(X, data_index)
        out = {}
        if lin is not None:
            out["linear"] = torch.softmax(lin, -1)
        if mlp is not None:
            out["mlp"] = torch.softmax(mlp, -1)
        out["ensemble"] = sum(out.values()) / len(out)
        return out

    # -- penalties and scores -----------------------------------------------------------------
    def penalty(self, kappa: torch.Tensor, other_decay: float) -> torch.Tensor:
        """Per-model penalty value ``(M,)`` (for monitoring the objective)."""
        P, arch = self.params, self.arch
        total = torch.zeros_like(kappa)
        for name, t in P.items():
            if name.startswith("b_"):
                continue
            sq = t.detach().pow(2).flatten(1).sum(1)
            if arch.penalty == "spred" and name in ("U", "W_in"):
                total = total + kappa * sq
            elif arch.penalty == "l2":
                total = total + kappa * sq
            elif arch.penalty == "l1" and name == "W_in":
                total = total + kappa * t.detach().abs().flatten(1).sum(1)
            else:
                total = total + other_decay * sq
        return total

    @torch.no_grad()
    def sgd_step(self, lr: torch.Tensor, kappa: torch.Tensor, other_decay: float, momentum: float = 0.0,
                 optimizer: str = "sgd") -> None:
        """One optimiser step with the penalties' gradients added to the data gradient;
        ``lr`` is per model (0 = frozen). ``optimizer``: ``sgd`` (heavy-ball ``momentum``,
        0 = plain SGD as in the paper) or ``adam`` (the penalty stays in the gradient, so its
        fixed points are the same stationary points of the spred objective)."""
        arch = self.arch
        self.step_count = getattr(self, "step_count", 0) + 1
        for name, t in self.params.items():
            grad = t.grad
            if grad is None:
                continue
            shape = (-1,) + (1,) * (t.dim() - 1)
            k = kappa.view(shape)
            # in place: t.grad is dropped after the step, and a temporary the size of W_in (36 GB for 40 of the
            # MLP baselines' models at GDS scale) put the H200 out of memory (benchmarks/RESULTS.md)
            if name.startswith("b_"):
                pass
            elif (arch.penalty == "spred" and name in ("U", "W_in")) or arch.penalty == "l2":
                grad.addcmul_(t, k, value=2)
            elif arch.penalty == "l1" and name == "W_in":
                grad.addcmul_(torch.sign(t), k)
            else:
                grad.add_(t, alpha=2 * other_decay)
            if optimizer == "adam":
                m = self.buffers.setdefault(name, torch.zeros_like(t))
                v = self.buffers.setdefault(name + "_sq", torch.zeros_like(t))
                m.mul_(0.9).add_(grad, alpha=0.1)
                v.mul_(0.999).addcmul_(grad, grad, value=0.001)
                step = (m / (1 - 0.9**self.step_count)) / ((v / (1 - 0.999**self.step_count)).sqrt() + 1e-8)
                t.sub_(lr.view(shape) * step)
            else:
                if momentum:
                    buf = self.buffers.setdefault(name, torch.zeros_like(t))
                    buf.mul_(momentum).add_(grad)
                    grad = buf
                t.addcmul_(grad, lr.view(shape), value=-1)
            t.grad = None

    @torch.no_grad()
    def gene_scores(self) -> torch.Tensor:
        """Per-model gene scores ``(M, p)``: ``|U_i| ||W_in[i, :]||`` (or ``||W_in[i, :]||`` without mask)."""
        score = self.params["W_in"].detach().norm(dim=2)
        if self.arch.mask:
            score = score * self.params["U"].detach().abs()
        return score

    @torch.no_grad()
    def linear_share(self) -> torch.Tensor | None:
        """Per model and gene, the linear head's share of ``||W_in[i, :]||^2`` ``(M, p)`` (NaN where the
        row is zero); ``None`` without both heads."""
        if not (self.arch.linear_head and self.arch.hidden):
            return None
        W = self.params["W_in"].detach()
        C = W.shape[2] - self.arch.hidden[0]
        total = W.pow(2).sum(2)
        share = W[:, :, :C].pow(2).sum(2) / total.clamp_min(1e-30)
        return torch.where(total > 0, share, torch.full_like(share, float("nan")))

    @torch.no_grad()
    def finite(self) -> torch.Tensor:
        """Per-model flag: every parameter finite."""
        ok = torch.ones(self.n_models, dtype=torch.bool, device=self.params["W_in"].device)
        for t in self.params.values():
            ok &= torch.isfinite(t.detach().flatten(1)).all(1)
        return ok

    def bytes_per_model(self, n_train: int) -> int:
        """Rough training memory of one model (see :func:`training_bytes`)."""
        return training_bytes(self.arch, self.params["W_in"].shape[1], self.n_classes, n_train)
