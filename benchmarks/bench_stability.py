"""Does stability selection keep its promise? Realised false stable genes against the bound, over seeds.

    python benchmarks/bench_stability.py                          # 20 seeds, 120 arrays x 500 probes
    python benchmarks/bench_stability.py --seeds 20 --methods limma l1_logistic spred_linear

Each seed simulates a GDS (genesel's simulator: planted linear, XOR and variance genes; every other
probe carries no class information), chooses each method's regularisation on ``--splits`` splits as the
pipeline does, then runs stability selection (complementary pairs) at the stated error level. A stable
gene that is not planted is a false selection. The bound says the *expected* number of false stable
genes is at most ``max_false``; the table gives the realised mean over seeds (and its maximum), the
recall of planted genes, and the same for the pipeline's other criterion (selected in at least half of
the splits), which has no error bound. Prints a table; not a test.
"""

from __future__ import annotations

import argparse
import tempfile
import time
import warnings

import pandas as pd

from genesel.experiment import run_method
from genesel.preprocess import stack_splits
from genesel.simulate import simulate_gds
from genesel.sources.load import load_dataset
from genesel.splits import make_splits
from genesel.stability import run_stability

SETTINGS = {"l1_logistic": {"Cs": [0.03, 0.1, 0.3, 1.0]}, "limma": {}, "spred_linear": {"solver": "path"},
            "hsic_lasso": {"n_features": 20}, "spred": {"solver": "sgd", "hidden": 32, "lrs": [0.1],
                                                           "kappas": [0.03, 0.01], "max_epochs": 800}}


def one_seed(seed: int, args, out: str) -> list[dict]:
    sim = simulate_gds(out, name=f"GDSSTAB{seed}", n_samples=args.samples, n_probes=args.probes, n_classes=2,
                       n_linear=args.linear, n_xor_pairs=args.xor_pairs, n_variance=args.variance,
                       effect=args.effect, seed=seed)
    dataset = load_dataset(sim.soft_path).drop_control_probes()
    planted = set(sim.truth.probe_id)
    kinds = sim.truth.set_index("probe_id").kind
    splits = make_splits(dataset.sample_ids, dataset.y, n_splits=args.splits, seed=seed)
    stacked = stack_splits(dataset, splits)
    rows = []
    for method in args.methods:
        start = time.perf_counter()
        params = SETTINGS[method]
        main = run_method(method, dataset, stacked, dict(params), device="cpu", seed=seed)
        result = run_stability(method, dataset, params, main.metrics, pairs=args.pairs, threshold=args.threshold,
                               max_false=args.max_false, device="cpu", seed=seed)
        stable = set(dataset.probe_ids[result.stable])
        frequent = set(dataset.probe_ids[main.selected.mean(axis=0) >= 0.5])
        linear = {p for p in planted if kinds[p] == "linear"}
        rows.append({
            "seed": seed, "method": method, "bound": result.bound, "q": result.q, "stable": len(stable),
            "false_stable": len(stable - planted), "recall_stable": len(stable & planted) / max(len(planted), 1),
            "recall_stable_linear": len(stable & linear) / max(len(linear), 1),
            "frequent": len(frequent), "false_frequent": len(frequent - planted),
            "recall_frequent": len(frequent & planted) / max(len(planted), 1), "seconds": time.perf_counter() - start,
        })
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--samples", type=int, default=120)
    parser.add_argument("--probes", type=int, default=500)
    parser.add_argument("--linear", type=int, default=6)
    parser.add_argument("--xor-pairs", type=int, default=1)
    parser.add_argument("--variance", type=int, default=2)
    parser.add_argument("--effect", type=float, default=1.0)
    parser.add_argument("--splits", type=int, default=5)
    parser.add_argument("--pairs", type=int, default=25)
    parser.add_argument("--threshold", type=float, default=0.75)
    parser.add_argument("--max-false", type=float, default=1.0)
    parser.add_argument("--methods", nargs="+", default=["limma", "l1_logistic", "spred_linear"])
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    out = tempfile.mkdtemp()
    rows = []
    for seed in range(args.seeds):
        rows += one_seed(seed, args, out)
        print(pd.DataFrame(rows[-len(args.methods):]).round(3).to_string(index=False), flush=True)
    table = pd.DataFrame(rows)
    summary = table.groupby("method", sort=False).agg(
        seeds=("seed", "count"), bound=("bound", "mean"), false_stable_mean=("false_stable", "mean"),
        false_stable_max=("false_stable", "max"), stable_mean=("stable", "mean"),
        recall_stable=("recall_stable", "mean"), recall_stable_linear=("recall_stable_linear", "mean"),
        false_frequent_mean=("false_frequent", "mean"), recall_frequent=("recall_frequent", "mean"),
        seconds=("seconds", "mean"))
    print(f"\n{args.samples} arrays x {args.probes} probes, {args.linear} linear + {2 * args.xor_pairs} XOR + "
          f"{args.variance} variance planted genes (effect {args.effect}), threshold {args.threshold}, "
          f"max_false {args.max_false}, {args.pairs} pairs, {args.seeds} seeds")
    print(summary.round(3).to_markdown())


if __name__ == "__main__":
    main()
