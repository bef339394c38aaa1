"""spred against the linear baselines on the real benchmarks in ../shared/data, on the pipeline's splits.

    genesel prepare ../shared/data/GDS_COLON_full.soft.gz --label "disease state" --min-class-size 3 \\
        --splits 20 --seed 0 --dataset-out .bench/COLON.npz --splits-out .bench/COLON.splits.tsv   # each set
    python benchmarks/bench_real.py .bench/*.npz --methods spred spred_linear --out real.csv
    python benchmarks/bench_real.py .bench/COLON.npz --methods l1_logistic svc_all --device cpu
    python benchmarks/bench_real.py .bench/COLON.npz --permute-labels 0     # a set without signal
    python benchmarks/bench_real.py .bench/COLON.npz --rules best 1se       # one path, kappa chosen two ways
    python benchmarks/bench_real.py .bench/COLON.npz --rules best --alphas 0.05 none --margins none 1 \\
        --save-paths paths/      # the test over splits and the per-split margin, on and off
    python benchmarks/bench_real.py .bench/COLON.npz --methods spred_linear --paired l1.csv   # paired differences

Each ``NAME.npz`` is a dataset written by ``genesel prepare`` and ``NAME.splits.tsv`` beside it its splits,
so every method sees the splits (and the per-split preprocessing) that the pipeline gives it. Settings per
method are ``SETTINGS`` below, overridable with ``--params METHOD='{"key": value}'``. Prints one row per
(set, method): test accuracy mean ± sd and its standard error over splits, median genes kept, the share of
chosen models that are certified (converged for the SGD grid), and seconds; writes the per-split metrics
to ``--out``. ``--paired`` adds each pair of methods' accuracy difference over the splits, with a t-test
corrected for the arrays the splits share. Not a test.
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


def path_rules(path: Path, method: str, params: dict, device: str, choices: list[tuple], permute: int | None = None,
               save: Path | None = None):
    """One κ path of ``method`` (spred or spred_linear), κ then chosen for each ``(rule, margin, alpha)`` of
    ``choices`` (PathConfig.choose, .prior_margin_se, .signal_alpha; None: off): per-split metrics as
    :func:`run_one` gives them, the method named ``method[rule,margin,alpha]``, with each head's test accuracy
    at the chosen κ (``acc_linear``, ``acc_mlp``) and the test over splits (``signal_p``). ``save``: a
    directory for the path's arrays (``SET.METHOD.npz``)."""
    from genesel.solver import CLASS_PRIOR, PathConfig, solve_path

    dataset, st = load(path, permute)
    settings = {k: v for k, v in params.items() if k not in ("solver", "choose", "prior_margin_se", "signal_alpha")}
    start = time.perf_counter()
    result = solve_path(st.X["train"], st.y["train"], st.X["val"], st.y["val"], st.X["test"],
                        len(dataset.class_names), PathConfig(variant=method, device=device, **settings))
    seconds, frames, S = time.perf_counter() - start, [], st.n_splits
    result.val_index, result.groups = st.index["val"], dataset.groups  # the signal test's shared permutation
    if save:
        save.mkdir(parents=True, exist_ok=True)
        np.savez_compressed(save / f"{dataset.name}.{method}.npz", y_test=st.y["test"], seconds=seconds,
                            **{k: getattr(result, k) for k in SAVED},
                            **{f"head_test_proba_{h}": a for h, a in result.head_test_proba.items()},
                            **{f"head_val_proba_{h}": a for h, a in result.head_val_proba.items()})
    for rule, margin, alpha in choices:
        result.rule, result.prior_margin_se, result.signal_alpha = rule, margin, alpha
        g = result.choose()
        on_path, idx = g >= 0, np.maximum(g, 0)
        heads = {f"acc_{h}": chosen_accuracy(a[np.arange(S), idx], g, result.prior, st.y["test"])
                 for h, a in result.head_test_proba.items() if np.isfinite(a).any()}  # the variant's heads
        frames.append(pd.DataFrame({
            "dataset": dataset.name, "method": f"{method}[{rule},{margin},{alpha}]", "split": np.arange(S),
            "accuracy": chosen_accuracy(result.chosen_test_proba(g), g, result.prior, st.y["test"]), **heads,
            "n_selected": np.where(on_path, result.n_selected[np.arange(S), idx], 0),
            "converged": np.where(on_path, result.certified[np.arange(S), idx], True),
            "fell_back": g == CLASS_PRIOR, "kappa": np.where(on_path, result.kappas[idx], np.nan),
            "signal_p": result.signal()[1], "wall_seconds": seconds, "majority": prior_accuracy(st)}))
    return pd.concat(frames)


def chosen_accuracy(proba: np.ndarray, chosen: np.ndarray, prior: np.ndarray, y_test: np.ndarray) -> np.ndarray:
    """Per split, the test accuracy of ``proba (S, n_test, C)`` at the chosen models; the training majority
    class where a split fell back to the class prior, NaN where it has no model."""
    from genesel.solver import CLASS_PRIOR, NO_MODEL

    acc = (proba.argmax(-1) == y_test).mean(1)
    majority = (prior.argmax(1)[:, None] == y_test).mean(1)
    return np.where(chosen == NO_MODEL, np.nan, np.where(chosen == CLASS_PRIOR, majority, acc))


#: the PathResult arrays ``--save-paths`` writes (enough to choose κ again by any rule without refitting)
SAVED = ("kappas", "kappa_max", "val_proba", "y_val", "prior", "test_proba", "n_selected", "linear_share",
         "kkt_residual", "certified", "iterations", "diverged")


def summarise(metrics: pd.DataFrame) -> pd.DataFrame:
    g = metrics.groupby(["dataset", "method"], sort=False)
    heads = {f"{c}": g[c].mean() for c in ("acc_linear", "acc_mlp", "fell_back", "signal_p") if c in metrics}
    return pd.DataFrame({
        "test_acc": g.accuracy.mean(), "sd": g.accuracy.std(), "se": g.accuracy.sem(), **heads,
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
                        help="spred/spred_linear: one path, κ chosen by each rule (rows named method[rule,margin,alpha])")
    parser.add_argument("--margins", nargs="+", default=["none"], metavar="SE",
                        help="with --rules: per-split class-prior margins in standard errors, 'none' for none")
    parser.add_argument("--alphas", nargs="+", default=["0.05"], metavar="ALPHA",
                        help="with --rules: levels of the test over splits (signal_alpha), 'none' for no test")
    parser.add_argument("--save-paths", type=Path, metavar="DIR", help="with --rules: write each path's arrays here")
    parser.add_argument("--permute-labels", type=int, metavar="SEED",
                        help="shuffle the labels across arrays first: no method should beat the majority class")
    parser.add_argument("--paired", nargs="*", type=Path, metavar="CSV",
                        help="compare the methods pairwise over the splits (corrected t-test), with the per-split "
                        "metrics of earlier runs (their --out files) added")
    args = parser.parse_args()
    settings = {m: dict(p) for m, p in SETTINGS.items()}
    for item in args.params:
        method, _, text = item.partition("=")
        settings[method].update(json.loads(text))
    value = lambda text: None if text == "none" else float(text)  # noqa: E731
    choices = [(r, value(m), value(a)) for r in args.rules or [] for m in args.margins for a in args.alphas]
    frames = []
    for path in args.datasets:
        for method in args.methods:
            if args.rules and method in ("spred", "spred_linear"):
                frames.append(path_rules(path, method, settings[method], args.device, choices,
                                         args.permute_labels, args.save_paths))
            else:
                frames.append(run_one(path, method, settings[method], args.device, args.permute_labels))
            print(summarise(frames[-1]).to_string(header=len(frames) == 1), flush=True)
            if args.out:
                pd.concat(frames).to_csv(args.out, index=False)
    print("\n" + summarise(pd.concat(frames)).to_markdown())
    if args.paired is not None:
        print("\n" + paired(pd.concat(frames + [pd.read_csv(f) for f in args.paired]), args.datasets,
                             args.permute_labels).to_markdown(index=False))


def paired(metrics: pd.DataFrame, paths: list[Path], permute: int | None) -> pd.DataFrame:
    """Each pair of methods once per dataset (:func:`genesel.summary.paired_differences`: the mean test-accuracy
    difference over the splits, with a t-test corrected for the arrays the splits share)."""
    from genesel.summary import paired_differences

    held_out = {}
    for path in paths:
        dataset, stacked = load(path, permute)
        held_out[dataset.name] = stacked.X["test"].shape[1] / stacked.X["train"].shape[1]
    table = paired_differences(metrics[metrics.dataset.isin(held_out)], held_out)
    order = {m: i for i, m in enumerate(metrics.method.unique())}
    table = table[table.method.map(order) < table.versus.map(order)]
    return table.round({"difference": 3, "se": 3, "ci_low": 3, "ci_high": 3, "p": 3})


if __name__ == "__main__":
    main()
