"""Which planted genes each selector recovers, by kind (linear, XOR pair, variance), on simulated data.

    python benchmarks/recovery.py                              # both designs, 50 and 200 probes
    python benchmarks/recovery.py --design demo --probes 400 --samples 90
    python benchmarks/recovery.py --design needed --samples 600 --probes 200 --solver path   # certified kappa path

Designs (see genesel.simulate for the kinds):
- ``demo``: the demo's layout, 6 linear genes, 3 XOR pairs, 2 variance genes on 3 classes. The
  kinds are redundant there: linear genes mark class 0, any one XOR pair marks class 1, so class 2
  is "neither" and a sparse selector needs neither the other pairs nor the variance genes.
- ``needed``: 1 XOR pair (class 1) and 2 variance genes (class 2), no linear gene; every planted
  gene carries information no other planted gene has.

For each method the consensus ranking over splits (the one the pipeline writes: selection frequency,
then mean score, then median rank) is cut at k = number of planted genes, and the table gives the
share of each kind in that top k (counted as in the pipeline's planted_recovery.csv). The
"oracle" rows fit an RBF SVC on all genes and on the planted genes only: when the two differ a lot,
the nonlinear signal is there but hard to learn among the noise genes. Prints a table; not a test.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import pandas as pd
import torch
from sklearn.svm import SVC

from genesel.compare import PLANTED_KINDS, planted_recovery
from genesel.dataset import Dataset
from genesel.experiment import run_method
from genesel.hsic import block_hsic_lasso
from genesel.preprocess import stack_splits
from genesel.ranking import rank_genes
from genesel.simulate import simulate_expression
from genesel.splits import make_splits
from genesel.train import TrainConfig, train_grid

DESIGNS = {
    "demo": dict(n_classes=3, n_linear=6, n_xor_pairs=3, n_variance=2),
    "needed": dict(n_classes=3, n_linear=0, n_xor_pairs=1, n_variance=2),
}


def simulated_dataset(design: str, n_samples: int, n_probes: int, seed: int) -> tuple[Dataset, pd.DataFrame]:
    """A Dataset of log2 expression with the design's planted genes, and the truth (probe_id, kind)."""
    log2, y, planted, columns = simulate_expression(n_samples=n_samples, n_probes=n_probes, seed=seed, **DESIGNS[design])
    probe_ids = np.array([f"p{j}" for j in range(n_probes)])
    dataset = Dataset(
        name=f"SIM_{design}_{n_probes}", X=log2, probe_ids=probe_ids,
        gene_symbols=np.full(n_probes, ""), sample_ids=np.array([f"s{i}" for i in range(n_samples)]), y=y,
        class_names=[f"class{c}" for c in range(int(y.max()) + 1)],
    )
    truth = pd.DataFrame({"probe_id": probe_ids[np.asarray(columns)], "kind": [g["kind"] for g in planted]})
    return dataset, truth


def recovery_row(method: str, scores: np.ndarray, selected: np.ndarray, dataset: Dataset, truth: pd.DataFrame,
                 accuracy: float, n_genes: float) -> dict:
    """The product's consensus ranking (genesel.ranking) and recovery count (genesel.compare) as one row."""
    genes = rank_genes(scores, selected, dataset, statistics=False)
    recovered = planted_recovery({method: genes}, truth, dataset.name).set_index("kind")
    row = {"method": method, "test acc": round(accuracy, 3), "genes kept": n_genes}
    for kind in ("all", *PLANTED_KINDS):
        row["all planted" if kind == "all" else kind] = (
            f"{recovered.recovered_in_top_k[kind]}/{recovered.planted[kind]}" if kind in recovered.index else "-")
    return row


def spred_on_grid(variant: str, dataset: Dataset, stacked, args):
    """The paper's SGD grid: scores, selection, mean test accuracy, converged and kappa of the chosen models."""
    X, y = stacked.X, stacked.y
    config = TrainConfig(variant=variant, hidden=args.hidden, lrs=(args.lr,), kappas=tuple(args.kappas),
                         max_epochs=args.max_epochs, warmup_epochs=args.warmup, seed=args.seed)
    result = train_grid(X["train"], y["train"], X["val"], y["val"], X["test"], len(dataset.class_names), config)
    chosen = result.choose()
    splits = np.arange(stacked.n_splits)
    scores = result.scores[splits, chosen]
    accuracy = float(result.accuracy(y["test"])[splits, chosen].mean())
    return scores, scores > config.threshold, accuracy, result.converged[splits, chosen], [result.grid[g][1] for g in chosen]


def spred_on_path(variant: str, dataset: Dataset, stacked, args):
    """The certified kappa path (the product's default solver), as the pipeline runs it."""
    params = {"solver": "path", "hidden": args.hidden, "n_kappas": args.n_kappas, "kappa_ratio": args.kappa_ratio,
              "max_iter": args.max_iter, **json.loads(args.path_params)}
    result = run_method(variant, dataset, stacked, params, device="auto", seed=args.seed)
    m = result.metrics
    kappas = [json.loads(h)["kappa"] for h in m.hyperparameters]
    return result.scores, result.selected, float(m.accuracy.mean()), m.converged.to_numpy(), kappas


def run(design: str, n_samples: int, n_probes: int, n_splits: int, args) -> pd.DataFrame:
    dataset, truth = simulated_dataset(design, n_samples, n_probes, args.seed)
    stacked = stack_splits(dataset, make_splits(dataset.sample_ids, dataset.y, n_splits=n_splits, seed=args.seed))
    X, y = stacked.X, stacked.y
    k = len(truth)
    planted_columns = np.flatnonzero(np.isin(dataset.probe_ids, truth.probe_id))
    rows = []
    for variant in ("spred", "spred_linear"):
        start = time.perf_counter()
        fit = spred_on_path if args.solver == "path" else spred_on_grid
        scores, selected, accuracy, converged, kappas = fit(variant, dataset, stacked, args)
        row = recovery_row(variant, scores, selected, dataset, truth, accuracy, float(np.median(selected.sum(1))))
        row["converged"] = f"{int(converged.sum())}/{n_splits}"
        row["kappa chosen"] = " ".join("prior" if k is None else f"{k:.3g}" for k in kappas)  # prior: fell back
        row["seconds"] = round(time.perf_counter() - start)
        rows.append(row)
    scores = np.zeros((n_splits, n_probes))
    accuracy = []
    for s in range(n_splits):
        path = block_hsic_lasso(X["train"][s], y["train"][s], k)
        scores[s, path.selected] = np.arange(len(path.selected), 0, -1)
        svc = SVC(kernel="rbf", gamma="scale").fit(X["train"][s][:, path.selected], y["train"][s])
        accuracy.append(svc.score(X["test"][s][:, path.selected], y["test"][s]))
    rows.append(recovery_row("hsic_lasso + RBF SVC", scores, scores > 0, dataset, truth, float(np.mean(accuracy)), k))
    for label, cols in (("oracle: RBF SVC, all genes", slice(None)), ("oracle: RBF SVC, planted only", planted_columns)):
        acc = [SVC(kernel="rbf", gamma="scale").fit(X["train"][s][:, cols], y["train"][s]).score(X["test"][s][:, cols], y["test"][s])
               for s in range(n_splits)]
        rows.append({"method": label, "test acc": round(float(np.mean(acc)), 3)})
    table = pd.DataFrame(rows)
    table.insert(0, "seed", args.seed)
    table.insert(0, "probes", n_probes)
    table.insert(0, "design", design)
    return table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--design", choices=[*DESIGNS, "all"], default="all")
    parser.add_argument("--probes", type=int, nargs="+", default=[50, 200])
    parser.add_argument("--samples", type=int, default=300)
    parser.add_argument("--splits", type=int, default=5)
    parser.add_argument("--hidden", type=int, default=64)
    parser.add_argument("--lr", type=float, default=0.1)
    parser.add_argument("--kappas", type=float, nargs="+", default=[0.03, 0.01])
    parser.add_argument("--max-epochs", type=int, default=3000)
    parser.add_argument("--warmup", type=int, default=0, help="epochs over which kappa ramps up from 0")
    parser.add_argument("--seed", type=int, nargs="+", default=[1],
                        help="data and split seeds: one table row per seed (which splits learn an interaction varies)")
    parser.add_argument("--solver", choices=["sgd", "path"], default="sgd",
                        help="spred's solver: the paper's SGD grid (--lr, --kappas) or the certified kappa path")
    parser.add_argument("--n-kappas", type=int, default=20, help="solver path: path length")
    parser.add_argument("--kappa-ratio", type=float, default=0.02, help="solver path: the path ends at this x kappa_max")
    parser.add_argument("--max-iter", type=int, default=600, help="solver path: proximal steps per kappa")
    parser.add_argument("--path-params", default="{}", help='solver path: more settings as JSON, e.g. \'{"warm_iter": 100}\'')
    args = parser.parse_args()
    designs = list(DESIGNS) if args.design == "all" else [args.design]
    solver = (f"lr {args.lr}, kappas {args.kappas}" if args.solver == "sgd" else
              f"certified path, {args.n_kappas} kappas to {args.kappa_ratio} kappa_max, {args.max_iter} steps")
    print(f"{args.samples} arrays, {args.splits} splits (60/20/20), spred hidden {args.hidden}, {solver}, "
          f"torch threads {torch.get_num_threads()}")
    tables = [run(d, args.samples, p, args.splits, argparse.Namespace(**{**vars(args), "seed": seed}))
              for d in designs for p in args.probes for seed in args.seed]
    print(pd.concat(tables).fillna("").to_markdown(index=False))


if __name__ == "__main__":
    main()
