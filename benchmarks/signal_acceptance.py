"""Issue 33's acceptance checks of the signal test (genesel.signal): a planted list kept, noise flagged.

    genesel simulate --name GDSSIM1 --samples 90 --probes 400 --classes 3 --seed 1 --patient-effect 1.0 --out .bench/sim
    genesel prepare .bench/sim/GDSSIM1_full.soft.gz --label "disease state" --group individual --splits 5 --seed 0 \\
        --dataset-out .bench/GDSSIM1.npz --splits-out .bench/GDSSIM1.splits.tsv        # config/demo.yaml's GDSSIM1
    OMP_NUM_THREADS=1 python benchmarks/signal_acceptance.py planted .bench/GDSSIM1.npz --truth .bench/sim/GDSSIM1_truth.tsv
    OMP_NUM_THREADS=1 python benchmarks/signal_acceptance.py permuted .bench/COLON.npz --seeds 0 1 2 3 4

``planted``: each method on the prepared splits with the demo's settings; prints its test accuracy, the signal
test (``signal_p``, whether the list is marked as noise) and how many planted genes of each kind its
consensus ranking puts in its top k (k = number planted, as the pipeline's ``planted_recovery.csv``).
``permuted``: spred_linear on each set with its labels shuffled (``bench_real.py --permute-labels SEED``: the
splits drawn anew on the shuffled labels); prints ``signal_p`` and whether the list is flagged as noise.
Not a test: it prints tables.
"""

from __future__ import annotations

import argparse
import time
import warnings
from pathlib import Path

import pandas as pd

from genesel.compare import planted_recovery
from genesel.dataset import Dataset
from genesel.experiment import run_method
from genesel.preprocess import stack_splits
from genesel.ranking import NO_SIGNAL, rank_genes
from genesel.splits import load_splits

#: config/demo.yaml's settings
SETTINGS = {"spred_linear": {"solver": "path", "n_kappas": 20, "kappa_ratio": 0.01},
            "l1_logistic": {"Cs": [0.1, 0.3, 1.0, 3.0]}, "limma": {}}


def row(dataset: Dataset, method: str, result, seconds: float) -> dict:
    m = result.metrics
    signal = m["signal"].iloc[0] if "signal" in m else ""
    return {"dataset": dataset.name, "method": method, "test acc": round(m.accuracy.mean(), 3),
            "genes kept (median)": m.n_selected.median(), "signal_p": m["signal_p"].iloc[0] if "signal_p" in m else None,
            "flagged as noise": signal == NO_SIGNAL, "seconds": round(seconds)}


def planted(args) -> None:
    path = Path(args.dataset)
    dataset = Dataset.load(path)
    stacked = stack_splits(dataset, load_splits(path.with_suffix(".splits.tsv")))
    truth = pd.read_csv(args.truth, sep="\t")
    rows = []
    for method in args.methods:
        start = time.perf_counter()
        result = run_method(method, dataset, stacked, dict(SETTINGS[method]), device="cpu")
        genes = rank_genes(result.scores, result.selected, dataset, statistics=False)
        found = planted_recovery({method: genes}, truth, dataset.name).set_index("kind")
        rows.append({**row(dataset, method, result, time.perf_counter() - start),
                     **{f"{kind} in top {found.k.iloc[0]}": f"{found.recovered_in_top_k[kind]}/{found.planted[kind]}"
                        for kind in found.index}})
    print(pd.DataFrame(rows).to_markdown(index=False))


def permuted(args) -> None:
    from bench_real import load

    rows = []
    for path in args.datasets:
        for seed in args.seeds:
            dataset, stacked = load(Path(path), seed)
            start = time.perf_counter()
            result = run_method("spred_linear", dataset, stacked, dict(SETTINGS["spred_linear"]), device="cpu")
            rows.append({**row(dataset, "spred_linear", result, time.perf_counter() - start), "seed": seed})
            print(rows[-1], flush=True)
    table = pd.DataFrame(rows)
    print(table.to_markdown(index=False))
    print(f"\nflagged as noise: {table['flagged as noise'].sum()} of {len(table)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("planted")
    p.add_argument("dataset")
    p.add_argument("--truth", required=True)
    p.add_argument("--methods", nargs="+", default=["spred_linear", "l1_logistic"])
    p = sub.add_parser("permuted")
    p.add_argument("datasets", nargs="+")
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    args = parser.parse_args()
    warnings.simplefilter("ignore", UserWarning)
    (planted if args.command == "planted" else permuted)(args)


if __name__ == "__main__":
    main()
