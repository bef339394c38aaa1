"""spred against the linear baselines on the real benchmarks in ../shared/data, on the pipeline's splits.

    genesel prepare ../shared/data/GDS_COLON_full.soft.gz --label "disease state" --min-class-size 3 \\
        --splits 20 --seed 0 --dataset-out .bench/COLON.npz --splits-out .bench/COLON.splits.tsv   # each set
    python benchmarks/bench_real.py .bench/*.npz --methods spred spred_linear --out real.csv
    python benchmarks/bench_real.py .bench/COLON.npz --methods l1_logistic svc_all --device cpu
    python benchmarks/bench_real.py .bench/COLON.npz --permute-labels 0     # a set without signal
    python benchmarks/bench_real.py .bench/COLON.npz --rules best 1se       # one path, kappa chosen two ways

Each ``NAME.npz`` is a dataset written by ``genesel prepare`` and ``NAME.splits.tsv`` beside it its splits,
so every method sees the splits (and the per-split preprocessing) that the pipeline gives it. Settings per
method are ``SETTINGS`` below, overridable with ``--params METHOD='{"key": value}'``. Prints one row per
(set, method): test accuracy mean ± sd and its standard error over splits, median genes kept, the share of
chosen models that are certified (converged for the SGD grid), and seconds; writes the per-split metrics
to ``--out``. Not a test.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import pandas as pd

from genesel.dataset import Dataset
from genesel.experiment import run_method
from genesel.preprocess import stack_splits
from genesel.splits import load_splits, make_splits, n_splits_in

SETTINGS = {
    "spred": {"solver": "path", "n_kappas": 20, "kappa_ratio": 0.01},
    "spred_sgd": {"solver": "sgd", "hidden": 256, "lrs": [0.1], "kappas": [0.03, 0.01], "max_epochs": 3000},
    "spred_linear": {"solver": "path", "n_kappas": 20, "kappa_ratio": 0.01},
    "l1_logistic": {"Cs": [0.01, 0.03, 0.1, 0.3, 1.0]},
    "limma": {},
    "hsic_lasso": {"n_features": 50},
    "svc_all": {"Cs": [0.1, 1.0, 10.0, 100.0]},  # a reference, not a selector: RBF SVC on every gene
}


def svc_all(dataset: Dataset, stacked, Cs) -> pd.DataFrame:
    """An RBF SVC on every gene of each split, C chosen on validation (ties to the smaller C)."""
    from sklearn.svm import SVC

    rows = []
    for s in range(stacked.n_splits):
        fits = [SVC(C=C).fit(stacked.X["train"][s], stacked.y["train"][s]) for C in Cs]
        best = int(np.argmax([f.score(stacked.X["val"][s], stacked.y["val"][s]) for f in fits]))
        rows.append({"dataset": dataset.name, "split": s, "accuracy": fits[best].score(stacked.X["test"][s],
                     stacked.y["test"][s]), "n_selected": dataset.n_probes, "converged": True})
    return pd.DataFrame(rows)


def load(path: Path, permute: int | None = None):
    """The dataset and its stacked splits; with ``permute``, the labels shuffled across arrays first
    (seeded) and the splits drawn anew, stratified on the shuffled labels: a set without signal, on
    which the majority class of the training arrays is the best any method can do."""
    dataset = Dataset.load(path)
    splits = load_splits(path.with_suffix(".splits.tsv"))
    if permute is not None:
        dataset.y = np.random.default_rng(permute).permutation(dataset.y)
        dataset.name += "_permuted"
        splits = make_splits(dataset.sample_ids, dataset.y, n_splits=n_splits_in(splits), seed=permute)
    return dataset, stack_splits(dataset, splits)


def prior_accuracy(stacked) -> np.ndarray:
    """Per split, the test accuracy of predicting the training arrays' majority class (the null model)."""
    return np.array([np.mean(yte == np.bincount(ytr).argmax())
                     for ytr, yte in zip(stacked.y["train"], stacked.y["test"])])


def run_one(path: Path, method: str, params: dict, device: str, permute: int | None = None) -> pd.DataFrame:
    """Per-split metrics of ``method`` (a ``SETTINGS`` name; ``spred_sgd`` is spred on the SGD grid)."""
    dataset, stacked = load(path, permute)
    start = time.perf_counter()
    if method == "svc_all":
        metrics = svc_all(dataset, stacked, params["Cs"])
    else:
        metrics = run_method(method.removesuffix("_sgd"), dataset, stacked, dict(params), device=device).metrics
    metrics = metrics.assign(method=method, wall_seconds=time.perf_counter() - start)
    return metrics.assign(majority=prior_accuracy(stacked)[metrics.split.to_numpy()])


def path_rules(path: Path, method: str, params: dict, device: str, rules: list[str], permute: int | None = None):
    """One κ path of ``method`` (spred or spred_linear), κ then chosen by each of ``rules`` (PathConfig.choose):
    per-split metrics as :func:`run_one` gives them, the method named ``method[rule]``."""
    from genesel.solver import NO_MODEL, PathConfig, solve_path

    dataset, st = load(path, permute)
    settings = {k: v for k, v in params.items() if k not in ("solver", "choose")}
    start = time.perf_counter()
    result = solve_path(st.X["train"], st.y["train"], st.X["val"], st.y["val"], st.X["test"],
                        len(dataset.class_names), PathConfig(variant=method, device=device, **settings))
    seconds, frames, S = time.perf_counter() - start, [], st.n_splits
    for rule in rules:
        result.rule = rule
        g = result.choose()
        on_path = g >= 0  # elsewhere the class prior (no gene)
        frames.append(pd.DataFrame({
            "dataset": dataset.name, "method": f"{method}[{rule}]", "split": np.arange(S),
            "accuracy": np.where(g == NO_MODEL, np.nan, (result.chosen_test_proba(g).argmax(-1) == st.y["test"]).mean(1)),
            "n_selected": np.where(on_path, result.n_selected[np.arange(S), g], 0),
            "converged": np.where(on_path, result.certified[np.arange(S), g], True), "wall_seconds": seconds,
            "majority": prior_accuracy(st)}))
    return pd.concat(frames)


def summarise(metrics: pd.DataFrame) -> pd.DataFrame:
    g = metrics.groupby(["dataset", "method"], sort=False)
    return pd.DataFrame({
        "test_acc": g.accuracy.mean(), "sd": g.accuracy.std(), "se": g.accuracy.sem(),
        "genes_median": g.n_selected.median(), "chosen_certified": g.converged.mean(),
        "seconds": g.wall_seconds.first(), "majority": g.majority.mean(),
    }).round(3)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("datasets", nargs="+", type=Path, help="dataset .npz files from genesel prepare")
    parser.add_argument("--methods", nargs="+", default=["spred", "spred_linear"], choices=sorted(SETTINGS))
    parser.add_argument("--params", action="append", default=[], metavar="METHOD=JSON",
                        help="settings that replace the method's SETTINGS keys")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--out", type=Path, help="per-split metrics as CSV")
    parser.add_argument("--rules", nargs="+", choices=["best", "1se"],
                        help="spred/spred_linear: one path, κ chosen by each rule (rows named method[rule])")
    parser.add_argument("--permute-labels", type=int, metavar="SEED",
                        help="shuffle the labels across arrays first: no method should beat the majority class")
    args = parser.parse_args()
    settings = {m: dict(p) for m, p in SETTINGS.items()}
    for item in args.params:
        method, _, text = item.partition("=")
        settings[method].update(json.loads(text))
    frames = []
    for path in args.datasets:
        for method in args.methods:
            if args.rules and method in ("spred", "spred_linear"):
                frames.append(path_rules(path, method, settings[method], args.device, args.rules, args.permute_labels))
            else:
                frames.append(run_one(path, method, settings[method], args.device, args.permute_labels))
            print(summarise(frames[-1]).to_string(header=len(frames) == 1), flush=True)
            if args.out:
                pd.concat(frames).to_csv(args.out, index=False)
    print("\n" + summarise(pd.concat(frames)).to_markdown())


if __name__ == "__main__":
    main()
