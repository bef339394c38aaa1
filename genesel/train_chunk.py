"""One chunk of the batched trainer's models (:func:`genesel.train.train_grid`), trained together: the epoch
loop, the checks (validation accuracy, active set, pruning of dead genes), the two stopping rules (the settled
active set of :class:`LiveModels`; early stopping on validation loss, :class:`BestWeights`) and the
:class:`Sink` that collects every finished model, indexed ``[split, grid point]``."""

from __future__ import annotations

import logging

import numpy as np
import torch

from genesel.models import BatchedNet
from genesel.progress import progress

log = logging.getLogger(__name__)


class LiveModels:
    """Per-model state of the models of one chunk still training: which (split, grid point) each
    is, its step size, penalty and bookkeeping for the stopping rule. :meth:`keep` drops the
    finished ones from every field at once."""

    def __init__(self, ids, model_split, model_grid, grid, lr_used, p: int, device) -> None:
        M = len(ids)
        self.gid = np.asarray(ids)  # global id of each live model
        self.local = np.arange(M)  # position in the chunk-wide arrays below
        self.didx = torch.as_tensor(model_split[ids], dtype=torch.long, device=device)
        self.lr = torch.as_tensor([lr_used[model_split[m], model_grid[m]] for m in ids], dtype=torch.float32,
                                  device=device)
        self.kappa = torch.as_tensor([grid[model_grid[m]][1] for m in ids], dtype=torch.float32, device=device)
        self.bad = torch.zeros(M, dtype=torch.bool, device=device)
        self.prev_support = torch.zeros(M, p, dtype=torch.bool, device=device)
        self.below = torch.zeros(M, p, dtype=torch.long, device=device)  # checks spent under the threshold
        # chunk-wide, indexed by ``local``
        self.best_val = np.full(M, -1.0)
        self.best_epoch = np.zeros(M, dtype=int)
        self.stable = np.zeros(M, dtype=int)
        self.prev_objective = np.full(M, np.inf)
        self.still = np.zeros(M, dtype=bool)

    def keep(self, keep_np: np.ndarray) -> None:
        keep = torch.as_tensor(keep_np, dtype=torch.long, device=self.didx.device)
        self.gid, self.local = self.gid[keep_np], self.local[keep_np]
        for name in ("didx", "lr", "kappa", "bad", "prev_support", "below"):
            setattr(self, name, getattr(self, name)[keep])

    def keep_features(self, keep_cols: torch.Tensor) -> None:
        self.prev_support = self.prev_support.index_select(1, keep_cols)
        self.below = self.below[:, keep_cols]

    def track(self, same, objective, val_acc, epoch: int, config) -> np.ndarray:
        """Update the stopping bookkeeping after a check; True where a model has settled."""
        for j, m in enumerate(self.local):
            self.stable[m] = self.stable[m] + 1 if same[j] else 0
            previous = self.prev_objective[m]
            self.still[m] = abs(objective[j] - previous) <= config.rel_tol * max(abs(previous), 1e-8)
            self.prev_objective[m] = objective[j]
            if val_acc[j] > self.best_val[m]:
                self.best_val[m], self.best_epoch[m] = val_acc[j], epoch
        loc = self.local
        return ((epoch >= config.warmup_epochs) & (self.stable[loc] >= config.stable_checks) & self.still[loc]
                & (epoch - self.best_epoch[loc] >= config.patience))


def _prune(net, live: LiveModels, score, cols, data, config):
    """Zero genes that stayed under the threshold for ``stable_checks`` checks (U_i = 0 and W_in[i] = 0
    is a fixed point of the gradient step, so they stay zero); genes zero in every live model leave the
    matmuls, which changes nothing, so results do not depend on how models are chunked."""
    live.below = torch.where(score < config.threshold, live.below + 1, torch.zeros_like(live.below))
    dead = live.below >= config.stable_checks
    net.zero_genes(dead)
    score = torch.where(dead, torch.zeros_like(score), score)
    gone = dead.all(0)
    if gone.float().mean().item() > 0.05:
        keep_cols = torch.nonzero(~gone).squeeze(1)
        net = net.select_features(keep_cols)
        cols = cols[keep_cols]
        live.keep_features(keep_cols)
        data = {k: (t.index_select(2, keep_cols) if k.startswith("X") else t) for k, t in data.items()}
        score = score.index_select(1, keep_cols)
    return net, score, cols, data


def train_chunk(ids, model_split, model_grid, lr_used, arch, config, device, n_classes, data, sink) -> None:
    """Train the models ``ids`` of the grid (split-major ids) together, model ``m`` with step
    ``lr_used[split, grid point]``, until each settles (or, with ``early_stopping``, its validation loss
    stops improving), diverges or reaches ``max_epochs``; finished models go to ``sink``."""
    grid = config.grid()
    Xtr, ytr, Xva, yva, Xte = data
    data = {"Xtr": Xtr, "Xva": Xva, "Xte": Xte, "yva": yva}
    p_full = Xtr.shape[2]
    cols = torch.arange(p_full, device=device)  # genes still in the computation
    splits_here = sorted(set(model_split[ids].tolist()))
    group_of = {s: i for i, s in enumerate(splits_here)}
    seeds = [config.seed * 1_000_003 + s for s in splits_here]
    group_of_model = torch.as_tensor([group_of[s] for s in model_split[ids]], dtype=torch.long)
    net = BatchedNet.init(arch, p_full, n_classes, len(ids), seeds, group_of_model, device)
    live = LiveModels(ids, model_split, model_grid, grid, lr_used, p_full, device)
    best = BestWeights(net, config.min_delta) if config.early_stopping else None
    for epoch in progress(range(1, config.max_epochs + 1), desc=f"SGD grid ({len(ids)} models), epochs at most"):
        loss = net.data_loss(data["Xtr"], ytr, live.didx)
        finite = torch.isfinite(loss)
        live.bad |= ~finite
        torch.where(finite, loss, torch.zeros_like(loss)).sum().backward()
        ramp = min(1.0, epoch / config.warmup_epochs) if config.warmup_epochs else 1.0
        net.sgd_step(live.lr * (~live.bad), live.kappa * ramp, config.other_decay, config.momentum, config.optimizer)
        if epoch % config.check_every and epoch != config.max_epochs:
            continue
        net, cols, data, check = _check(net, live, cols, data, loss, epoch, config, sink, best)
        finished = ~check["ok"] | (check["settled"] & (epoch >= config.min_epochs)) | (epoch == config.max_epochs)
        if finished.any():
            _finish(np.flatnonzero(finished), net, live, cols, data, epoch, check, sink, best, config)
            if finished.all():
                break
            keep = torch.as_tensor(np.flatnonzero(~finished), dtype=torch.long, device=device)
            net = net.select(keep)
            live.keep(keep.cpu().numpy())
            if best is not None:
                best.keep(keep)
    log.info("chunk of %d models done after %d epochs", len(ids), epoch)


def _check(net, live: LiveModels, cols, data: dict, loss, epoch: int, config, sink, best):
    """A check of the live models: validation accuracy (and loss), active set, pruning, the history rows and
    the stopping rule; returns the (pruned) net, genes and data and the check's per-model values."""
    ok = (~live.bad & net.finite()).cpu().numpy()
    val_proba = net.predict_proba(data["Xva"], live.didx)["ensemble"]
    y_val = data["yva"].index_select(0, live.didx)
    val_acc = (val_proba.argmax(-1) == y_val).float().mean(1).cpu().numpy()
    score = net.gene_scores()
    if config.prune and net.arch.mask and best is None:
        net, score, cols, data = _prune(net, live, score, cols, data, config)
    support = score > config.threshold
    same = (support == live.prev_support).all(1).cpu().numpy()
    live.prev_support = support
    n_active = support.sum(1).cpu().numpy()
    objective = (loss.detach() + net.penalty(live.kappa, config.other_decay)).cpu().numpy()
    rows = {"val_acc": val_acc, "n_active": n_active, "objective": objective}
    if best is not None:
        rows["val_loss"] = _log_loss(val_proba, y_val).cpu().numpy()
    for j in range(len(live.gid)):
        sink.history.append({"split": int(sink.model_split[live.gid[j]]), "grid": int(sink.model_grid[live.gid[j]]),
                             "epoch": epoch, **{k: v[j].item() for k, v in rows.items()}, "n_computed": len(cols)})
    settled = live.track(same, objective, val_acc, epoch, config)
    if best is not None:  # early stopping replaces the settled rule
        settled = best.update(net, rows["val_loss"].astype(float), epoch, config.patience)
    check = {"ok": ok, "settled": settled, "val_proba": val_proba, "val_acc": val_acc, "score": score,
             "n_active": n_active}
    return net, cols, data, check


def _finish(done: np.ndarray, net, live: LiveModels, cols, data: dict, epoch: int, check: dict, sink, best,
            config) -> None:
    """Record the finished live models ``done``: as they are, or with early stopping their best weights."""
    src, best_epoch = net, np.full(len(live.gid), epoch)
    if best is not None:  # the best check's weights, and what they predict
        src, best_epoch = best.net(net), best.epoch
        check = dict(check, val_proba=src.predict_proba(data["Xva"], live.didx)["ensemble"], score=src.gene_scores())
        check["val_acc"] = (check["val_proba"].argmax(-1) == data["yva"].index_select(0, live.didx)).float().mean(1)
        check["val_acc"] = check["val_acc"].cpu().numpy()
        check["n_active"] = (check["score"] > config.threshold).sum(1).cpu().numpy()
    probas = src.predict_proba(data["Xte"], live.didx)
    for j in done:
        sink.record(live.gid[j], src, j, bool(check["ok"][j]), bool(check["settled"][j]), epoch, check["val_acc"][j],
                    check["n_active"][j], check["score"][j], cols, {h: prob[j] for h, prob in probas.items()},
                    check["val_proba"][j], int(best_epoch[j]))


def _log_loss(proba: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Mean log-loss per model of probabilities ``(M, n, C)`` against labels ``(M, n)``."""
    p_y = proba.gather(-1, y.unsqueeze(-1)).squeeze(-1)
    return -p_y.clamp_min(1e-12).log().mean(1)


class BestWeights:
    """Early stopping on validation loss: each live model's weights at its lowest-validation-loss check so far
    and that check's epoch, and the epoch of its last improvement by at least ``min_delta``."""

    def __init__(self, net: BatchedNet, min_delta: float) -> None:
        self.params = {k: v.detach().clone() for k, v in net.params.items()}
        self.loss = np.full(net.n_models, np.inf)
        self.epoch = np.zeros(net.n_models, dtype=int)
        self.reference = np.full(net.n_models, np.inf)  # the loss at the last improvement by min_delta
        self.improved = np.zeros(net.n_models, dtype=int)  # and its epoch
        self.min_delta = min_delta

    @torch.no_grad()
    def update(self, net: BatchedNet, val_loss: np.ndarray, epoch: int, patience: int) -> np.ndarray:
        """Keep the weights of the models whose validation loss fell; True where a model's loss has not
        fallen by ``min_delta`` for ``patience`` epochs (it stops)."""
        better = np.isfinite(val_loss) & (val_loss < self.loss)
        if better.any():
            index = torch.as_tensor(np.flatnonzero(better), device=self.params["W_in"].device)
            for name, value in net.params.items():
                self.params[name].index_copy_(0, index, value.detach().index_select(0, index))
            self.loss[better], self.epoch[better] = val_loss[better], epoch
        clearly = np.isfinite(val_loss) & (val_loss < self.reference - self.min_delta)
        self.reference[clearly], self.improved[clearly] = val_loss[clearly], epoch
        return epoch - self.improved >= patience

    def keep(self, keep: torch.Tensor) -> None:
        self.params = {k: v.index_select(0, keep) for k, v in self.params.items()}
        at = keep.cpu().numpy()
        for name in ("loss", "epoch", "reference", "improved"):
            setattr(self, name, getattr(self, name)[at])

    def net(self, like: BatchedNet) -> BatchedNet:
        return BatchedNet(like.arch, self.params, like.n_classes)


class Sink:
    """What train_grid collects of every finished model, indexed ``[split, grid point]``."""

    def __init__(self, S: int, G: int, p: int, n_val: int, n_test: int, n_classes: int, model_split, model_grid, arch,
                 keep_models: bool) -> None:
        self.out = {name: np.zeros((S, G)) for name in ("val_acc", "n_selected", "epochs", "seconds", "best_epoch")}
        self.heads = {h: np.full((S, G, n_test, n_classes), np.nan, dtype=np.float32) for h in ("linear", "mlp")}
        self.converged = np.zeros((S, G), dtype=bool)
        self.diverged = np.zeros((S, G), dtype=bool)
        self.scores = np.zeros((S, G, p), dtype=np.float32)
        self.linear_share = np.full((S, G, p), np.nan, dtype=np.float32)
        self.test_proba = np.zeros((S, G, n_test, n_classes), dtype=np.float32)
        self.val_proba = np.full((S, G, n_val, n_classes), np.nan, dtype=np.float32)
        self.history: list[dict] = []
        self.models: dict | None = {} if keep_models else None
        self.model_split, self.model_grid, self.arch, self.p, self.n_classes = model_split, model_grid, arch, p, n_classes

    def forget(self, splits, grid_points) -> None:
        """Drop the history of models about to be restarted."""
        restarted = set(zip(splits.tolist(), grid_points.tolist()))
        self.history = [row for row in self.history if (row["split"], row["grid"]) not in restarted]

    def record(self, gid, net, j, ok, settled, epoch, val_acc, n_active, score, cols, probas, val_proba,
               best_epoch: int) -> None:
        s, g = self.model_split[gid], self.model_grid[gid]
        self.out["best_epoch"][s, g] = best_epoch
        if self.models is not None and ok:
            kept = net.select(torch.as_tensor([j], device=score.device)).expand_features(cols, self.p)
            self.models[(s, g)] = BatchedNet(self.arch, {k: v.detach().cpu() for k, v in kept.params.items()},
                                             self.n_classes)
        self.diverged[s, g] = not ok
        self.converged[s, g] = ok and settled
        self.out["val_acc"][s, g] = val_acc if ok else np.nan
        self.val_proba[s, g] = val_proba.detach().cpu().numpy() if ok else np.nan
        self.out["epochs"][s, g] = epoch
        self.out["n_selected"][s, g] = n_active if ok else 0
        full_score = torch.zeros(self.p, device=score.device)
        full_score[cols] = score
        self.scores[s, g] = full_score.cpu().numpy() if ok else 0.0
        share = net.linear_share()
        if ok and share is not None:
            self.linear_share[s, g, cols.cpu().numpy()] = share[j].cpu().numpy()
        for head, prob in probas.items():
            target = self.test_proba if head == "ensemble" else self.heads[head]
            target[s, g] = prob.cpu().numpy() if ok else np.nan
