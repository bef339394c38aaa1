"""spred's κ path up from the screened dense start against the dense start: the same genes? (issue 29)

    python benchmarks/screened_start.py --sim 1200 500 --start-genes 100 --hidden 64       # GDSSIM3-like
    genesel prepare ../shared/data/GDS_COLON_full.soft.gz --label "disease state" --min-class-size 3 \\
        --splits 20 --seed 0 --dataset-out .bench/COLON.npz --splits-out .bench/COLON.splits.tsv
    python benchmarks/screened_start.py --dataset .bench/COLON.npz --start-genes 500 --hidden 128 --splits 5

Both runs see the same splits, settings and seeds; only ``start_genes`` differs (every gene against a screened
working set plus KKT re-admission, :mod:`genesel.screen`). Per split, κ is chosen on validation as the pipeline
does (the test over splits off: it would pool the two runs' choices differently). Prints per split the genes
each run chose, their Jaccard index, every gene only one of them chose with its KKT ratio ``‖∇_i CE‖ / 2κ`` in
the run that left it out (about 1: on the certificate's boundary, which the tolerance cannot decide) and its
norm in the run that kept it, test accuracy and whether the chosen model is certified; then the summary.
Simulated data also report the planted genes each run chose. Not a test.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from genesel.dataset import Dataset
from genesel.preprocess import stack_splits
from genesel.simulate import simulate_expression
from genesel.solver import PathConfig, solve_path
from genesel.splits import load_splits, make_splits, split_column


def simulated(n_samples: int, n_probes: int, n_splits: int, seed: int):
    """GDSSIM3's design (one XOR pair, two variance genes, no linear gene, 3 classes) at any size."""
    X, y, _, planted = simulate_expression(n_samples, n_probes, 3, n_linear=0, n_xor_pairs=1, n_variance=2, seed=seed)
    ids = np.array([f"GSM{i}" for i in range(n_samples)])
    dataset = Dataset(name=f"SIM{n_samples}x{n_probes}", X=X, y=y, sample_ids=ids, gene_symbols=np.full(n_probes, ""),
                      probe_ids=np.array([f"p{j}" for j in range(n_probes)]), class_names=["c0", "c1", "c2"])
    return dataset, make_splits(ids, y, n_splits=n_splits, seed=seed), planted


def loaded(path: Path, n_splits: int):
    dataset = Dataset.load(path)
    splits = load_splits(path.with_suffix(".splits.tsv"))
    keep = [c for c in splits.columns if not c.startswith("split_")] + [split_column(k) for k in range(n_splits)]
    return dataset, splits[keep], None


def compare(dense, screened, y_test: np.ndarray, planted) -> pd.DataFrame:
    rows = []
    chosen = {"dense": dense.choose(), "screened": screened.choose()}
    acc = {"dense": dense.accuracy(y_test), "screened": screened.accuracy(y_test)}
    for s in range(len(y_test)):
        row, genes = {"split": s}, {}
        for name, run in (("dense", dense), ("screened", screened)):
            k = chosen[name][s]
            genes[name] = set(np.flatnonzero(run.scores[s, k] > 0)) if k >= 0 else set()
            row[f"{name}_genes"] = len(genes[name])
            row[f"{name}_acc"] = acc[name][s, k] if k >= 0 else np.nan
            row[f"{name}_certified"] = bool(run.certified[s, k]) if k >= 0 else True
            row[f"{name}_kappa"] = run.kappas[k] if k >= 0 else np.nan
            if planted is not None:
                row[f"{name}_planted"] = int(np.isin(planted, list(genes[name])).sum())
        union = genes["dense"] | genes["screened"]
        row["jaccard"] = len(genes["dense"] & genes["screened"]) / len(union) if union else 1.0
        row["differing"] = _differing(dense, screened, chosen, s, genes)
        rows.append(row)
    return pd.DataFrame(rows)


def _differing(dense, screened, chosen, s: int, genes: dict) -> str:
    """``gene:ratio/norm`` for each gene only one run chose: its KKT ratio where it was left out, its norm
    where it was kept."""
    out = []
    for have, lack, runs in (("dense", "screened", (dense, screened)), ("screened", "dense", (screened, dense))):
        k_have, k_lack = chosen[have][s], chosen[lack][s]
        for g in sorted(genes[have] - genes[lack])[:8]:
            ratio = float(runs[1].grad_ratio[s, k_lack, g]) if k_lack >= 0 else np.nan
            out.append(f"{g}({have[0]}):{ratio:.3f}/{runs[0].scores[s, k_have, g]:.2g}")
        if len(genes[have] - genes[lack]) > 8:
            out.append(f"+{len(genes[have] - genes[lack]) - 8} more")
    return " ".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sim", nargs=2, type=int, metavar=("SAMPLES", "PROBES"))
    parser.add_argument("--dataset", type=Path, help="a dataset .npz from genesel prepare (its .splits.tsv beside)")
    parser.add_argument("--splits", type=int, default=5)
    parser.add_argument("--start-genes", type=int, required=True)
    parser.add_argument("--hidden", type=int, default=128)
    parser.add_argument("--n-kappas", type=int, default=20)
    parser.add_argument("--kappa-ratio", type=float, default=0.01)
    parser.add_argument("--max-iter", type=int, default=500)
    parser.add_argument("--max-above", type=int, default=10)
    parser.add_argument("--screens", nargs="+", default=None)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    dataset, splits, planted = (simulated(*args.sim, args.splits, args.seed) if args.sim
                                else loaded(args.dataset, args.splits))
    st = stack_splits(dataset, splits)
    p = st.X["train"].shape[2]
    config = PathConfig(hidden=args.hidden, n_kappas=args.n_kappas, kappa_ratio=args.kappa_ratio, max_iter=args.max_iter,
                        max_above=args.max_above, signal_alpha=None, device="cpu", seed=args.seed)
    if args.screens:
        config = replace(config, screens=tuple(args.screens))
    data = (st.X["train"], st.y["train"], st.X["val"], st.y["val"], st.X["test"], len(dataset.class_names))
    runs, seconds = {}, {}
    for name, size in (("screened", args.start_genes), ("dense", p)):
        start = time.perf_counter()
        runs[name] = solve_path(*data, replace(config, start_genes=size))
        seconds[name] = time.perf_counter() - start
    table = compare(runs["dense"], runs["screened"], st.y["test"], planted)
    pd.set_option("display.width", 250, "display.max_colwidth", 120)
    print(f"{dataset.name}: {st.X['train'].shape[1]} training arrays x {p} genes, {st.n_splits} splits, hidden "
          f"{args.hidden}, {args.n_kappas} kappa to {args.kappa_ratio} kappa_max, {args.max_iter} steps; start_genes "
          f"{args.start_genes}; seconds: dense {seconds['dense']:.0f}, screened {seconds['screened']:.0f}")
    print(table.to_string(index=False))
    se = lambda v: v.std(ddof=1) / np.sqrt(len(v)) if len(v) > 1 else np.nan  # noqa: E731
    summary = {
        "jaccard_median": table.jaccard.median(), "jaccard_min": table.jaccard.min(),
        "acc_dense": f"{table.dense_acc.mean():.3f} ± {se(table.dense_acc):.3f}",
        "acc_screened": f"{table.screened_acc.mean():.3f} ± {se(table.screened_acc):.3f}",
        "certified_dense": f"{table.dense_certified.sum()}/{len(table)}",
        "certified_screened": f"{table.screened_certified.sum()}/{len(table)}",
        "genes_in_matmuls_screened_max": int(runs["screened"].n_computed.max()),
        "genes_in_matmuls_dense_max": int(runs["dense"].n_computed.max()),
    }
    if planted is not None:
        summary["planted_dense"] = f"{(table.dense_planted == len(planted)).sum()}/{len(table)} splits all {len(planted)}"
        summary["planted_screened"] = f"{(table.screened_planted == len(planted)).sum()}/{len(table)} splits all {len(planted)}"
        summary["planted_in_start_set"] = f"{runs['screened'].start_set[:, planted].sum(1).tolist()}"
    for key, value in summary.items():
        print(f"{key}: {value}")
    if args.out:
        table.assign(**{k: str(v) for k, v in summary.items()}).to_csv(args.out, index=False)


if __name__ == "__main__":
    main()
