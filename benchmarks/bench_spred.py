"""spred (Eq. 8) training throughput: the reference style against genesel's batched trainer,
and the certified kappa path (genesel.solver).

    python benchmarks/bench_spred.py                       # GDS scale: 120 x 54,675, hidden 1024, 5 classes, 20 splits
    python benchmarks/bench_spred.py --probes 5000 --splits 4   # what 2 CPU cores finish in minutes
    python benchmarks/bench_spred.py --path                # 20 splits x the whole kappa path (20 values), GDS scale
    python benchmarks/bench_spred.py --path --threads 2 --device cpu --warm-iter 50   # config.yaml's setting, 2 CPU cores
    python benchmarks/bench_spred.py --path --probes 5000 --compare-unscreened   # screening changes no gene
    python benchmarks/bench_spred.py --path --splits 2 --hidden 128 --threads 2  # per-split cost, screened dense start

(a) reference style: one model per split, ``nn.Module`` + ``torch.optim.SGD``, a Python loop over a
    fixed number of epochs (the published code trains every split this way);
(b) genesel: all splits of one grid point as one batched model (``train_grid``), early stopping on a
    settled active set, dead genes pruned from the matmuls.

Reports ms per epoch (per model), fits per second, peak memory, and achieved TFLOP/s against the
device's peak (dense first-epoch FLOPs; after pruning the work per epoch falls, so (b)'s effective
rate is quoted as dense-equivalent). Prints a table; not a test.
"""

from __future__ import annotations

import argparse
import os
import resource
import time

import numpy as np
import torch
from torch import nn

from genesel.cli.fitting import keep_freed_memory
from genesel.device import resolve_device
from genesel.hadamard import GroupMask, kappa_param_groups
from genesel.simulate import simulate_expression
from genesel.solver import PathConfig, solve_path
from genesel.train import TrainConfig, flops_per_epoch, train_grid

PEAK_TFLOPS = {"cpu": None, "H100": 494.7, "H200": 494.7}  # dense TF32 tensor-core peak (SXM)


class ReferenceEq8(nn.Module):
    """One Eq. 8 model as a plain module: shared mask, linear head, MLP head."""

    def __init__(self, p: int, hidden: int, n_classes: int) -> None:
        super().__init__()
        self.mask = GroupMask(p)
        self.linear = nn.Linear(p, n_classes, bias=False)
        self.first = nn.Linear(p, hidden)
        self.rest = nn.Sequential(nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU(), nn.Linear(hidden, n_classes))

    def forward(self, x):
        xu = self.mask(x)
        return self.linear(xu), self.rest(self.first(xu))


def data(n_total: int, p: int, n_classes: int, splits: int, seed: int = 0):
    """Standardised simulated expression, stacked into per-split train/val/test (60/20/20)."""
    log2, y, _, _ = simulate_expression(n_samples=n_total, n_probes=p, n_classes=n_classes, seed=seed)
    X = ((log2 - log2.mean(0)) / log2.std(0)).astype(np.float32)
    rng = np.random.default_rng(seed)
    parts = {"train": [], "val": [], "test": []}
    n_tr, n_va = int(0.6 * n_total), int(0.2 * n_total)
    for _ in range(splits):
        order = rng.permutation(n_total)
        for name, idx in (("train", order[:n_tr]), ("val", order[n_tr:n_tr + n_va]), ("test", order[n_tr + n_va:])):
            parts[name].append(idx)
    return {k: (X[np.stack(v)], y[np.stack(v)]) for k, v in parts.items()}


def peak_memory_gb(device: torch.device) -> float:
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**30
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20


def reference(parts, hidden, n_classes, epochs, splits, device, lr, kappa) -> float:
    """Seconds per epoch per model, measured over ``epochs`` epochs of ``splits`` models in turn."""
    Xtr, ytr = parts["train"]
    total = 0.0
    for s in range(splits):
        torch.manual_seed(s)
        model = ReferenceEq8(Xtr.shape[2], hidden, n_classes).to(device)
        sparse = [model.mask.u, model.linear.weight, model.first.weight]
        optimiser = torch.optim.SGD(kappa_param_groups(model, sparse, kappa), lr=lr)
        x = torch.as_tensor(Xtr[s], device=device)
        y = torch.as_tensor(ytr[s], device=device, dtype=torch.long)
        _sync(device)
        start = time.perf_counter()
        for _ in range(epochs):
            optimiser.zero_grad()
            lin, mlp = model(x)
            loss = nn.functional.cross_entropy(lin, y) + nn.functional.cross_entropy(mlp, y)
            loss.backward()
            optimiser.step()
        _sync(device)
        total += time.perf_counter() - start
    return total / (epochs * splits)


def _sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def bench_path(parts, args, device, name) -> None:
    """20 splits x the whole kappa path in one batch; optionally against the unscreened solver."""
    def run(screen: bool):
        config = PathConfig(variant=args.variant, hidden=args.hidden, n_kappas=args.n_kappas,
                            kappa_ratio=args.kappa_ratio, max_iter=args.max_iter, screen=screen, device=str(device),
                            kkt_tol=args.kkt_tol, start_genes=args.start_genes, max_above=args.max_above,
                            working_sets=args.working_sets, warm_iter=args.warm_iter, obj_tol=args.obj_tol)
        _sync(device)
        start, cpu = time.perf_counter(), time.process_time()
        result = solve_path(*parts["train"], *parts["val"], parts["test"][0], args.classes, config)
        _sync(device)
        run.cpu = time.process_time() - cpu
        return result, time.perf_counter() - start

    result, wall = run(True)
    chosen = result.choose()
    S = len(chosen)
    print(f"device: {name}; {args.n_train} training arrays x {args.probes} probes, {args.variant}, hidden {args.hidden}, "
          f"{args.classes} classes, {S} splits x {len(result.kappas)} kappas (ratio {args.kappa_ratio}), max_iter {args.max_iter}, "
          f"warm_iter {args.warm_iter}, obj_tol {args.obj_tol}")
    steps = result.iterations.sum(1)
    start = "every gene" if result.start_set is None else f"{int(np.median(result.start_set.sum(1)))} screened genes"
    print(f"kappa path, screened: {wall:.1f} s wall for all {S} splits x {len(result.kappas)} kappas ({wall / S:.1f} s per "
          f"split); peak {peak_memory_gb(device):.2f} GB; dense start on {start}; proximal steps per split: median "
          f"{int(np.median(steps))}; {wall / max(result.iterations.max(0).sum(), 1):.3f} s per step of the batch; load {os.getloadavg()[0]:.1f}")
    print(f"  CPU: {run.cpu:.1f} s (this process, all threads); working sets: {args.working_sets or 'default'}")
    print(f"  genes in the matmuls per kappa (the widest split's working set, or the union): {result.n_computed.tolist()}")
    print(f"  proximal steps of the batch per kappa: {result.iterations.max(0).tolist()}")
    print(f"  certified (KKT within tolerance): {int(result.certified.sum())}/{result.certified.size} models on the path, "
          f"{int(result.certified[np.arange(S), chosen].sum())}/{S} chosen; chosen genes: median "
          f"{int(np.median(result.n_selected[np.arange(S), chosen]))}; test accuracy "
          f"{np.mean([(result.test_proba[s, g].argmax(-1) == parts['test'][1][s]).mean() for s, g in enumerate(chosen)]):.3f}")
    if args.compare_unscreened:
        full, full_wall = run(False)
        same = (result.scores > 0) == (full.scores > 0)
        ran = np.isfinite(result.val_acc) & np.isfinite(full.val_acc)
        agree = same.all(axis=2)[ran]
        both = ran & result.certified & full.certified  # a gene list means something once certified
        print(f"unscreened: {full_wall:.1f} s wall, {int(full.certified.sum())}/{full.certified.size} certified; same "
              f"selected genes at {int(agree.sum())}/{agree.size} (split, kappa) models; genes differing where not: "
              f"{int((~same).sum())}; among the {int(both.sum())} models certified by both: same genes at "
              f"{int(same.all(axis=2)[both].sum())}, {int((~same)[both].sum())} genes differ")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n-train", type=int, default=120)
    parser.add_argument("--probes", type=int, default=54675)
    parser.add_argument("--hidden", type=int, default=1024)
    parser.add_argument("--classes", type=int, default=5)
    parser.add_argument("--splits", type=int, default=20)
    parser.add_argument("--reference-epochs", type=int, default=3, help="epochs timed per reference model")
    parser.add_argument("--reference-splits", type=int, default=2, help="reference models timed (then per model)")
    parser.add_argument("--fixed-epochs", type=int, default=1000, help="epochs the reference style trains each split")
    parser.add_argument("--max-epochs", type=int, default=1000)
    parser.add_argument("--lr", type=float, default=0.1)
    parser.add_argument("--kappa", type=float, default=0.05)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--path", action="store_true", help="bench the kappa-path solver instead")
    parser.add_argument("--variant", default="spred", choices=["spred", "spred_linear"])
    parser.add_argument("--n-kappas", type=int, default=20)
    parser.add_argument("--kappa-ratio", type=float, default=0.01)
    parser.add_argument("--max-iter", type=int, default=500)
    parser.add_argument("--compare-unscreened", action="store_true")
    parser.add_argument("--start-genes", type=int, help="genes in the dense start up the path (default: the solver's)")
    parser.add_argument("--max-above", type=int, default=10)
    parser.add_argument("--working-sets", choices=["per_split", "union"],
                        help="each split computes on its own genes, or all on their union (default: the solver's)")
    parser.add_argument("--threads", type=int, help="torch CPU threads (default: torch's)")
    parser.add_argument("--warm-iter", type=int, help="steps per warm-started kappa (default: the solver's)")
    parser.add_argument("--obj-tol", type=float, default=PathConfig.obj_tol, help="a kappa's relative objective change")
    parser.add_argument("--kkt-tol", type=float, help="optimality tolerance relative to 2 kappa (default: the solver's)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    keep_freed_memory()  # as genesel select does

    device = resolve_device(args.device)
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else f"cpu x{torch.get_num_threads()} threads"
    peak = next((v for k, v in PEAK_TFLOPS.items() if k in name), None)
    n_total = int(round(args.n_train / 0.6))
    parts = data(n_total, args.probes, args.classes, args.splits)
    if args.path:
        bench_path(parts, args, device, name)
        return
    flops = flops_per_epoch("spred", args.hidden, args.n_train, args.probes, args.classes)

    ref_s = reference(parts, args.hidden, args.classes, args.reference_epochs, min(args.reference_splits, args.splits),
                      device, args.lr, args.kappa)
    ref_peak = peak_memory_gb(device)
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)

    config = TrainConfig(variant="spred", hidden=args.hidden, lrs=(args.lr,), kappas=(args.kappa,),
                         max_epochs=args.max_epochs, device=str(device))
    _sync(device)
    start = time.perf_counter()
    result = train_grid(parts["train"][0], parts["train"][1], parts["val"][0], parts["val"][1],
                        parts["test"][0], args.classes, config)
    _sync(device)
    ours_wall = time.perf_counter() - start
    ours_peak = peak_memory_gb(device)
    model_epochs = int(result.epochs.sum())
    ours_s = ours_wall / model_epochs

    ref_fit = ref_s * args.fixed_epochs
    ours_fit = ours_wall / args.splits
    print(f"device: {name}; {args.n_train} training arrays x {args.probes} probes, hidden {args.hidden}, "
          f"{args.classes} classes, {args.splits} splits; dense Eq. 8 epoch = {flops / 1e9:.1f} GFLOP per model")
    print(f"{'style':<34} {'ms/epoch':>9} {'epochs/fit':>11} {'fits/s':>8} {'peak GB':>8} {'TFLOP/s':>8} {'of peak':>8}")
    for label, sec, epochs, fit_s, mem in (
        ("(a) reference: 1 model, fixed ep.", ref_s, args.fixed_epochs, ref_fit, ref_peak),
        ("(b) genesel: batched, early stop", ours_s, model_epochs / args.splits, ours_fit, ours_peak),
    ):
        tflops = flops / sec / 1e12
        share = f"{tflops / peak:7.1%}" if peak else "    n/a"
        print(f"{label:<34} {sec * 1e3:9.1f} {epochs:11.0f} {1 / fit_s:8.3f} {mem:8.2f} {tflops:8.2f} {share:>8}")
    print(f"(b) all {args.splits} splits of one grid point: {ours_wall:.1f} s wall; throughput ratio (b)/(a) in fits/s: "
          f"{ref_fit / ours_fit:.1f}x; per epoch: {ref_s / ours_s:.1f}x")
    print(f"(b) converged {int(result.converged.sum())}/{args.splits}, genes kept per split: "
          f"median {int(np.median(result.n_selected))}, test accuracy {np.nanmean(result.accuracy(parts['test'][1])):.3f}")
    print("(a) is timed over", args.reference_epochs, "epochs of", min(args.reference_splits, args.splits),
          "models and extrapolated to", args.fixed_epochs, "epochs per fit")


if __name__ == "__main__":
    main()
