"""The batched group-lasso objective of spred on a working set of genes (:class:`Problem`), and the
accelerated proximal steps that minimise it (:class:`Fista`); :mod:`genesel.solver` runs them along a κ path."""

from __future__ import annotations

import math

import torch

from genesel.models import Architecture, BatchedNet, first_layer, head_logits, heads_cross_entropy


class Problem:
    """The batched objective: one model per split, on the genes of the current working set."""

    def __init__(self, arch: Architecture, n_classes: int, X: torch.Tensor, y: torch.Tensor, seed: int,
                 per_split: bool = False) -> None:
        self.arch, self.C = arch, n_classes
        self.X, self.y = X, y  # (M, n, p), (M, n)
        M, n, p = X.shape
        self.M, self.n, self.p = M, n, p
        # the deeper layers as nn.Linear would start them; the first layer is V (zero at κ_max), so it is
        # initialised for one input and its bias rescaled to the fan-in p (no p x K weights drawn to be discarded)
        net = BatchedNet.init(arch, 1, n_classes, M, [seed * 1_000_003 + m for m in range(M)],
                              torch.arange(M), X.device)
        K = net.params["W_in"].shape[2]
        self.params = {k: v.detach() for k, v in net.params.items() if k not in ("U", "W_in")}
        if "b_in" in self.params:
            self.params["b_in"] = self.params["b_in"] / math.sqrt(p)
        if arch.linear_head:
            self.params["b_lin"] = torch.zeros(M, n_classes, device=X.device)
        self.radius = {k: v.flatten(1).norm(dim=1) for k, v in self.params.items() if k.startswith("W_")}
        # the working set: column j of model m is gene cols[m, j]. "union": every model computes on the union of the
        # models' genes (identical rows of cols); "per_split": each model on its own genes only, padded to the widest
        # model with rows that hold no gene (valid False), so a batch of splits costs M n w K, w the largest model's set
        self.per_split = per_split
        self.cols = torch.zeros(M, 0, dtype=torch.long, device=X.device)
        self.valid = torch.zeros(M, 0, dtype=torch.bool, device=X.device)  # column j of model m holds a gene
        self.allowed = torch.zeros(M, 0, dtype=torch.bool, device=X.device)  # per model, on the working set
        self.params["V"] = torch.zeros(M, 0, K, device=X.device)
        self.XW = self.gather(X)

    def take(self, idx: torch.Tensor) -> Problem:
        """The models ``idx`` as a problem of their own on their current working sets, for proximal steps on
        fewer models (the expression matrix stays here: no working-set change or full KKT check there);
        :meth:`put` writes their parameters back."""
        sub = object.__new__(Problem)
        sub.arch, sub.C, sub.per_split, sub.X = self.arch, self.C, self.per_split, None
        sub.M, sub.n, sub.p = len(idx), self.n, self.p
        sub.y, sub.XW, sub.cols, sub.valid, sub.allowed = (t[idx] for t in (self.y, self.XW, self.cols, self.valid, self.allowed))
        sub.params = {k: v[idx] for k, v in self.params.items()}
        sub.radius = {k: v[idx] for k, v in self.radius.items()}
        return sub

    def put(self, idx: torch.Tensor, sub: Problem) -> None:
        """Write the parameters of the models ``idx`` back from :meth:`take`'s problem."""
        self.params = {k: v.index_copy(0, idx, sub.params[k]) for k, v in self.params.items()}

    # -- forward -----------------------------------------------------------------------------
    def logits_from_z(self, P: dict, z: torch.Tensor) -> tuple[torch.Tensor | None, torch.Tensor | None]:
        return head_logits(self.arch, self.C, P, z)

    def first_layer(self, P: dict, X: torch.Tensor) -> torch.Tensor:
        return first_layer(P["V"], X)

    def cross_entropy(self, P: dict, z: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return heads_cross_entropy(self.logits_from_z(P, z), y)

    def loss(self, P: dict, z: torch.Tensor | None = None) -> torch.Tensor:
        """Per-model smooth loss ``(M,)`` on the training arrays: the sum over heads of the mean CE (``z``: the first
        layer's output, where ``V`` is held fixed)."""
        return self.cross_entropy(P, self.first_layer(P, self.XW) if z is None else z, self.y)

    def value_and_grad(self, P: dict, names: tuple[str, ...] | None = None, z: torch.Tensor | None = None,
                       ) -> tuple[torch.Tensor, dict]:
        """Loss ``(M,)`` and its gradients with respect to the parameters ``names`` (default: all); ``z`` as in
        :meth:`loss`, only where ``V`` is not among ``names``.

        ``V``'s gradient is ``X_wᵀ δ``, ``δ`` the gradient at the first layer's output, computed in ``V``'s own
        ``(M, w, K)`` layout: autograd's through :func:`first_layer` is its transpose, and the proximal step's
        elementwise passes over two tensors of ``V``'s size in different layouts ran up to 10x slower at hidden
        1,024 (``benchmarks/RESULTS.md``)."""
        names = tuple(P) if names is None else names
        with torch.enable_grad():
            leaves = {k: v.detach().requires_grad_(k in names) for k, v in P.items() if k != "V"}
            z = (self.first_layer(P, self.XW) if z is None else z).detach().requires_grad_("V" in names)
            value = self.cross_entropy(leaves, z, self.y)
            wanted = [leaves[k] if k != "V" else z for k in names]
            if value.requires_grad:
                grads = torch.autograd.grad(value.sum(), wanted, allow_unused=True)
            else:  # nothing to differentiate (no gene in the working set, or no parameter asked for)
                grads = [None] * len(wanted)
        grads = dict(zip(names, grads))
        if "V" in grads:
            delta = grads["V"]
            grads["V"] = torch.bmm(self.XW.transpose(1, 2), delta) if delta is not None and P["V"].shape[1] else None
        grads = {k: (g if g is not None else torch.zeros_like(P[k])) for k, g in grads.items()}
        return value.detach(), grads

    def penalty(self, P: dict, kappa: torch.Tensor) -> torch.Tensor:
        return 2 * kappa * P["V"].norm(dim=2).sum(1)

    # -- proximal operator -------------------------------------------------------------------
    def prox(self, P: dict, step: torch.Tensor, kappa: torch.Tensor) -> None:
        """In place: group soft-thresholding of V's rows (threshold ``2 κ step``), genes outside a
        model's screened set held at zero, deeper layers projected onto their norm balls."""
        if "V" in P:
            V = P["V"]
            norms = V.norm(dim=2)
            shrink = torch.clamp(1 - (2 * kappa * step).unsqueeze(1) / norms.clamp_min(1e-30), min=0.0)
            V.mul_((shrink * self.allowed).unsqueeze(2))
        for name, radius in self.radius.items():
            if name not in P:
                continue
            W = P[name]
            scale = torch.clamp(radius / W.flatten(1).norm(dim=1).clamp_min(1e-30), max=1.0)
            W.mul_(scale.view(-1, *([1] * (W.dim() - 1))))

    # -- working set -------------------------------------------------------------------------
    def gather(self, X: torch.Tensor) -> torch.Tensor:
        """Each model's working-set columns of ``X (M, n, p)``: ``(M, n, w)``."""
        if not self.per_split:
            return X.index_select(2, self.cols[0] if len(self.cols) else self.cols.new_zeros(0))
        return torch.gather(X, 2, self.cols.unsqueeze(1).expand(-1, X.shape[1], -1))

    def to_full(self, mask: torch.Tensor) -> torch.Tensor:
        """A per-model mask on the working set ``(M, w)`` as a mask over every gene ``(M, p)``."""
        full = torch.zeros(self.M, self.p, dtype=torch.int32, device=self.X.device)
        full.scatter_add_(1, self.cols, (mask & self.valid).to(torch.int32))  # padding repeats a gene: add, not set
        return full > 0

    def active_full(self) -> torch.Tensor:
        return self.to_full(self.params["V"].norm(dim=2) > 0)

    def allowed_full(self) -> torch.Tensor:
        return self.to_full(self.allowed)

    def dense_start(self, seed: int, allowed: torch.Tensor | None = None) -> None:
        """Every gene (or, per model, the genes ``allowed (M, p)``: the screened start) in the working set with
        a random row of ``V`` (nn.Linear's scale ``1/sqrt(fan-in)``, the fan-in being the genes in)."""
        if allowed is None:
            self.set_working_set(torch.ones(self.M, self.p, dtype=torch.bool, device=self.X.device))
            generator = torch.Generator().manual_seed(seed * 1_000_003 + 7)
            K = self.params["V"].shape[2]
            V = (torch.rand(self.M, self.p, K, generator=generator) * 2 - 1) / math.sqrt(self.p)
            self.params["V"] = V.to(self.X.device)
            return
        self.set_working_set(allowed)
        # one row per (model, gene) in the models' gene order, so both layouts draw the same start
        generator = torch.Generator().manual_seed(seed * 1_000_003 + 7)
        M, width, K = self.params["V"].shape
        n_in = self.allowed.sum(1)
        rows = (torch.rand(int(n_in.sum()), K, generator=generator) * 2 - 1).to(self.X.device)
        fan_in = n_in.clamp_min(1).float().sqrt().repeat_interleave(n_in)
        V = self.params["V"].new_zeros(M, width, K)
        V[self.allowed] = rows / fan_in.unsqueeze(1)
        self.params["V"] = V

    def set_working_set(self, allowed_full: torch.Tensor) -> None:
        """Restrict the matmuls to the genes allowed (per model, or in any model: ``per_split``); active genes
        always stay."""
        V = self.params["V"]
        allowed_full = allowed_full | self.active_full()
        if self.per_split:
            counts = allowed_full.sum(1)
            width = int(counts.max()) if self.M else 0
            # each model's genes in increasing order, then padding (gene 0, never valid)
            order = torch.sort((~allowed_full).to(torch.int8), dim=1, stable=True).indices[:, :width]
            valid = torch.arange(width, device=V.device).unsqueeze(0) < counts.unsqueeze(1)
            cols = torch.where(valid, order, torch.zeros_like(order))
        else:
            union = torch.nonzero(allowed_full.any(0)).squeeze(1)
            cols = union.unsqueeze(0).expand(self.M, -1)
            valid = torch.ones(self.M, len(union), dtype=torch.bool, device=V.device)
        pos = torch.full((self.M, self.p), -1, dtype=torch.long, device=V.device)  # gene -> its column, per model
        m_idx, j_idx = torch.nonzero(valid, as_tuple=True)
        pos[m_idx, cols[m_idx, j_idx]] = j_idx
        V_new = V.new_zeros(self.M, cols.shape[1], V.shape[2])
        if self.cols.shape[1]:
            m_old, j_old = torch.nonzero(self.valid, as_tuple=True)
            j_new = pos[m_old, self.cols[m_old, j_old]]
            kept = j_new >= 0  # every active gene is kept, so only zero rows are dropped
            V_new[m_old[kept], j_new[kept]] = V[m_old[kept], j_old[kept]]
        self.params["V"] = V_new
        self.cols, self.valid = cols.contiguous(), valid
        self.allowed = torch.gather(allowed_full, 1, cols) & valid
        self.XW = self.gather(self.X)

    def full_group_grad_norms(self, P: dict, chunk: int = 4096) -> torch.Tensor:
        """``‖∇_i CE‖`` for every gene, ``(M, p)``: one backward to ``z = X V``, then ``‖X_i^T δ‖`` in chunks.

        ``δ`` is ``(n, d)``, ``d`` the first layer's width (both heads). Where ``d > n`` (hidden 1024 on a
        hundred arrays) the norms come from the triangular factor of ``δ^T = Q R``: ``‖δ^T x_i‖ = ‖R x_i‖``,
        ``n`` numbers a gene instead of ``d``, a sum of squares as before (no Gram-matrix cancellation)."""
        with torch.enable_grad():
            z = self.first_layer(P, self.XW).detach().requires_grad_(True)
            (delta,) = torch.autograd.grad(self.cross_entropy(P, z, self.y).sum(), [z])
        left = delta.transpose(1, 2)  # (M, d, n)
        if left.shape[1] > left.shape[2]:
            left = torch.linalg.qr(left.double(), mode="r").R.to(delta.dtype)  # (M, n, n)
        out = torch.empty(self.M, self.p, device=delta.device)
        for start in range(0, self.p, chunk):
            out[:, start:start + chunk] = torch.bmm(left, self.X[:, :, start:start + chunk]).norm(dim=1)
        return out

    def kkt_residual(self, P: dict, G: dict, kappa: torch.Tensor, step: torch.Tensor) -> torch.Tensor:
        """Largest violation of the group-lasso optimality conditions over the working set, relative to ``2κ``.

        Per gene, the norm of the proximal-gradient mapping ``(v_i - prox(v_i - s g_i)) / s`` at a fixed
        step ``s``: zero exactly at a KKT point; for an inactive gene it is ``max(0, ‖g_i‖ - 2κ)``, for
        an active one ``‖g_i + 2κ v_i/‖v_i‖‖`` once ``‖v_i‖ ≥ 2κ s``. Unlike that last expression alone,
        it does not count the direction of a vanishing row (a gene on its way to zero) as a violation.
        """
        V, g = P["V"], G["V"]
        if V.shape[1] == 0:
            return torch.zeros(self.M, device=V.device)
        thr = (2 * kappa).unsqueeze(1)
        s = step.view(-1, 1, 1)
        u = V - s * g
        nu = u.norm(dim=2, keepdim=True)
        prox = u * torch.clamp(1 - thr.unsqueeze(2) * s / nu.clamp_min(1e-30), min=0.0)
        r = ((V - prox) / s).norm(dim=2) * self.allowed
        return r.max(1).values / thr.squeeze(1)


def lipschitz_linear(X: torch.Tensor, iters: int = 30) -> torch.Tensor:
    """Per-model bound ``σ_max(X)² / (2n)`` of the multinomial CE's curvature in the linear weights."""
    M, n, p = X.shape
    v = torch.ones(M, p, 1, device=X.device) / math.sqrt(p)
    for _ in range(iters):
        v = torch.bmm(X.transpose(1, 2), torch.bmm(X, v))
        v = v / v.norm(dim=1, keepdim=True).clamp_min(1e-30)
    sigma2 = torch.bmm(X, v).pow(2).sum(dim=(1, 2))
    return sigma2 / (2 * n)


def top_per_model(score: torch.Tensor, k: int) -> torch.Tensor:
    """Mask of the ``k`` highest-scoring genes of each model ``(M, p)``."""
    k = min(k, score.shape[1])
    mask = torch.zeros_like(score, dtype=torch.bool)
    mask.scatter_(1, score.topk(k, dim=1).indices, True)
    return mask


def _per_model(v: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    return v.view(-1, *([1] * (like.dim() - 1)))


def _where(mask: torch.Tensor, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return torch.where(mask.view(-1, *([1] * (a.dim() - 1))), a, b)


class Fista:
    """Batched FISTA with backtracking and gradient restart on one block of a :class:`Problem`'s
    parameters (``names``); the other blocks are held fixed during its steps."""

    def __init__(self, problem: Problem, step: torch.Tensor, names: tuple[str, ...]) -> None:
        self.pb, self.names = problem, names
        self.step = step  # (M,) current step size of each model
        self.reset()

    def reset(self) -> None:
        """Forget momentum (a new κ, or a changed working set)."""
        self.prev = {k: self.pb.params[k].clone() for k in self.names}
        self.t = torch.ones_like(self.step)

    def take(self, idx: torch.Tensor, sub: Problem) -> Fista:
        """This block's state for the models ``idx``, stepping on ``sub`` (:meth:`Problem.take`)."""
        out = object.__new__(Fista)
        out.pb, out.names, out.step, out.t = sub, self.names, self.step[idx], self.t[idx]
        out.prev = {k: v[idx] for k, v in self.prev.items()}
        return out

    def put(self, idx: torch.Tensor, sub: Fista) -> None:
        """Take the step sizes of the models ``idx`` back from :meth:`take`'s block (momentum is reset anyway)."""
        self.step = self.step.index_copy(0, idx, sub.step)

    def _candidate(self, pb: Problem, y: dict, g: dict, kappa: torch.Tensor, step: torch.Tensor,
                   ) -> tuple[dict, torch.Tensor]:
        """The proximal step from ``y`` on ``pb``'s models and the quadratic model's increase ``gᵀd + ‖d‖²/2s``,
        ``(M,)``."""
        cand = {k: torch.addcmul(y[k], _per_model(step, y[k]), g[k], value=-1) for k in y}
        pb.prox(cand, step, kappa)
        model = torch.zeros_like(step)
        for k in y:
            d = cand[k] - y[k]
            model = model + _vdot(g[k], d) + _vdot(d, d) / (2 * step)
        return cand, model

    @torch.no_grad()
    def iterate(self, kappa: torch.Tensor, live: torch.Tensor, max_backtracks: int = 40) -> None:
        """One accelerated proximal step for the models marked ``live``; the others do not move.

        A backtracking round after the first computes only the models that still backtrack (a batch of their
        own, :meth:`Problem.take`): each model's candidate and loss are its own, so the steps are the same."""
        pb, x = self.pb, {k: self.pb.params[k] for k in self.names}
        t_next = (1 + torch.sqrt(1 + 4 * self.t**2)) / 2
        beta = torch.where(live, (self.t - 1) / t_next, torch.zeros_like(t_next))
        # x + β (x - prev) in one pass; after a restart (every β zero) the point itself
        y = dict(x) if not bool(beta.any()) else {k: torch.lerp(x[k], self.prev[k], _per_model(-beta, x[k])) for k in x}
        # the deeper layers' steps hold V, so the first layer's output (most of a step's matmuls) is computed once
        fixed = None if "V" in self.names else pb.first_layer(pb.params, pb.XW)
        f_y, g_y = pb.value_and_grad({**pb.params, **y}, self.names, fixed)
        cand, model = self._candidate(pb, y, g_y, kappa, self.step)
        f_c = pb.loss({**pb.params, **cand}, fixed)
        ok = live & _decrease(f_c, f_y, model)
        pending = live & ~ok
        if not pending.any():
            accepted = cand if bool(ok.all()) else {k: _where(ok, cand[k], x[k]) for k in x}
        else:
            accepted, pending = self._backtrack(x, y, g_y, f_y, fixed, kappa, pending, ok, cand, max_backtracks - 1)
        moved = live & ~pending
        restart = sum(_vdot(y[k] - accepted[k], accepted[k] - x[k]) for k in x) > 0
        self.prev = x if bool(moved.all()) else {k: _where(moved, x[k], self.prev[k]) for k in x}
        pb.params.update(accepted)
        self.t = torch.where(moved & ~restart, t_next, torch.ones_like(t_next))
        self.step = torch.where(moved, self.step * 1.25, self.step)  # let the step grow back

    def _backtrack(self, x: dict, y: dict, g: dict, f_y: torch.Tensor, fixed: torch.Tensor | None,
                   kappa: torch.Tensor, pending: torch.Tensor, ok: torch.Tensor, cand: dict, rounds: int,
                   ) -> tuple[dict, torch.Tensor]:
        """Halve the step of the models ``pending`` until their candidates decrease the loss enough, for at most
        ``rounds`` rounds; returns the accepted point of every model (``x`` where none was) and the models still
        pending."""
        accepted = {k: _where(ok, cand[k], x[k]) for k in x}
        for _ in range(rounds):
            self.step = torch.where(pending, self.step * 0.5, self.step)
            idx = torch.nonzero(pending).squeeze(1)
            sub = self.pb.take(idx)
            cand, model = self._candidate(sub, {k: v[idx] for k, v in y.items()}, {k: v[idx] for k, v in g.items()},
                                          kappa[idx], self.step[idx])
            f_c = sub.loss({**sub.params, **cand}, None if fixed is None else fixed[idx])
            ok = _decrease(f_c, f_y[idx], model)
            if bool(ok.any()):
                took = idx[ok]
                accepted = {k: v.index_copy(0, took, cand[k][ok]) for k, v in accepted.items()}
                pending = pending.index_fill(0, took, False)
            if not pending.any():
                break
        else:  # the last round failed too: its models' steps are halved once more, as after every failed round
            self.step = torch.where(pending, self.step * 0.5, self.step)
        return accepted, pending


def _decrease(f_c: torch.Tensor, f_y: torch.Tensor, model: torch.Tensor) -> torch.Tensor:
    """Per model: the candidate's loss is finite and within the quadratic model's bound (sufficient decrease)."""
    return torch.isfinite(f_c) & (f_c <= f_y + model + 1e-6 * f_y.abs())


def _vdot(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Per-model inner product ``(M,)`` of two batched tensors; on a CPU one BLAS dot per model, without a
    temporary of their size (3x faster than a product and a sum for a 1,024 x 1,024 layer)."""
    a, b = a.flatten(1), b.flatten(1)
    if a.is_cuda:
        return (a * b).sum(1)
    return torch.stack([torch.dot(u, v) for u, v in zip(a, b)]) if len(a) else a.new_zeros(0)


class full_precision:
    """Context: no TF32 in matmuls (the KKT checks compare gradients with 2κ to a few digits)."""

    def __enter__(self):
        self.saved = torch.backends.cuda.matmul.allow_tf32
        torch.backends.cuda.matmul.allow_tf32 = False

    def __exit__(self, *exc):
        torch.backends.cuda.matmul.allow_tf32 = self.saved


