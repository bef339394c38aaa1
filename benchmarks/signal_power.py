"""Power and size of the signal test (genesel.signal) on simulated sets, old test against new.

    OMP_NUM_THREADS=1 python benchmarks/signal_power.py                       # the full grid, 20 seeds
    OMP_NUM_THREADS=1 python benchmarks/signal_power.py --sizes 60 90 --seeds 5   # a quick look

Each cell: ``n`` arrays x ``--probes`` probes (genesel.simulate: shared modules, array offsets), 2 or 4
classes, ungrouped or grouped (patients of about four arrays, each with a profile of its own; grouped
splits), ``--planted`` linear genes with a mean shift of ``effect`` noise SDs (0: no gene planted, and the
labels are permuted: the test's size). ``--splits`` stratified 60/20/20 splits. The method is an
L1-penalised logistic regression (liblinear, one-vs-rest) over a grid of ``--cs`` penalties, chosen per
split on validation by the pipeline's rule (accuracy, then log-loss, then the sparser model), so the test
sees what it sees in the pipeline: each split's validation probabilities at every penalty. Printed per cell:
the share of seeds in which each test finds signal at 0.05:

- ``old``: the test used until 2026-12-04 (per split against its own validation-part permutations; corrected
  t-test of the standardised gains, or twice the median per-split p-value, Bonferroni over the two);
- ``new acc`` / ``new bal`` / ``new prob``: the pooled statistic of every (split, validation array) pair
  (accuracy gain over the majority class, balanced accuracy gain over the majority class's, or probability
  gain over the class frequency) against one permutation of the labels shared by all splits (patients together).

A benchmark, not a test: it prints a table.
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
import pandas as pd

from genesel.signal import ValidationScores, class_prior, corrected_t, signal_pvalue, validation_scores
from genesel.simulate import _add_patients, simulate_expression
from genesel.solver import choose_kappa
from genesel.splits import make_splits, split_indices


def simulated(n: int, classes: int, grouped: bool, effect: float, probes: int, planted: int, seed: int):
    """Standardised-later log2 values, labels (permuted where ``effect`` is 0) and patients (or None)."""
    log2, y, _, columns = simulate_expression(n_samples=n, n_probes=probes, n_classes=classes,
                                              n_linear=planted if effect > 0 else 0, n_xor_pairs=0, n_variance=0,
                                              effect=max(effect, 1e-9), seed=seed)
    groups = None
    if grouped:
        log2, groups = _add_patients(log2, y, columns, 1.0, seed)
    if effect == 0:  # label permutation: patients keep one label each
        rng = np.random.default_rng(seed + 7)
        if grouped:
            g_label = {g: y[groups == g][0] for g in np.unique(groups)}
            keys = np.array(list(g_label))
            new = dict(zip(keys, rng.permutation([g_label[g] for g in keys])))
            y = np.array([new[g] for g in groups])
        else:
            y = rng.permutation(y)
    return log2, y, groups


def validation_grid(log2, y, groups, n_splits: int, cs, seed: int):
    """Per split and penalty: validation probabilities ``(S, K, n_val, C)``, labels, rows, training priors."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.multiclass import OneVsRestClassifier
    from sklearn.preprocessing import StandardScaler

    ids = np.array([f"s{i}" for i in range(len(y))])
    splits = make_splits(ids, y, n_splits=n_splits, seed=seed, groups=None if groups is None else groups.astype(str))
    C = int(y.max()) + 1
    parts = [split_indices(splits, k, ids) for k in range(n_splits)]
    n_val = min(len(p["val"]) for p in parts)
    proba = np.full((n_splits, len(cs), n_val, C), np.nan)
    nsel = np.zeros((n_splits, len(cs)))
    for k, p in enumerate(parts):
        scaler = StandardScaler().fit(log2[p["train"]])
        Xt, Xv = scaler.transform(log2[p["train"]]), scaler.transform(log2[p["val"][:n_val]])
        for j, c in enumerate(cs):
            model = LogisticRegression(penalty="l1", C=c, solver="liblinear")
            model = (model if C == 2 else OneVsRestClassifier(model)).fit(Xt, y[p["train"]])
            proba[k, j][:, model.classes_] = model.predict_proba(Xv)
            coef = model.coef_ if C == 2 else np.vstack([e.coef_ for e in model.estimators_])
            nsel[k, j] = (np.abs(coef).sum(0) > 0).sum()
        proba[k][np.isnan(proba[k])] = 0.0
    y_val = np.stack([y[p["val"][:n_val]] for p in parts])
    index = np.stack([p["val"][:n_val] for p in parts])
    prior = class_prior(np.stack([y[p["train"][: min(len(q["train"]) for q in parts)]] for p in parts]), C)
    return proba, y_val, index, prior, nsel, min(len(q["train"]) for q in parts)


def old_pvalue(proba, y, prior, n_train, choose, n_permutations, seed) -> float:
    """The test used until 2026-12-04 (genesel/signal.py at commit 31791d1), for comparison."""
    from scipy.stats import t as student

    def gain(scores: ValidationScores):
        chosen = choose(scores)
        g = np.take_along_axis(scores.acc, np.maximum(chosen, 0)[..., None], -1)[..., 0] - scores.majority
        return np.where(chosen >= 0, g, 0.0)

    observed = gain(validation_scores(proba, y, prior))
    rng = np.random.default_rng(seed)
    order = np.argsort(rng.random((n_permutations,) + y.shape), axis=-1)
    null = gain(validation_scores(proba, np.take_along_axis(np.broadcast_to(y, order.shape), order, -1), prior))
    spread = null.std(0)
    ok = np.isfinite(observed) & (spread > 1e-12)
    if not ok.any():
        return 1.0
    excess = observed - null.mean(0)
    per_split = (1 + (null >= observed - 1e-12).sum(0)) / (1 + len(null))
    mean, se, df = corrected_t(excess[ok] / spread[ok], y.shape[-1] / n_train)
    return float(min(1.0, 2 * min(student.sf(mean / se, df=df), 2 * np.median(per_split[ok]))))


def cell_pvalues(args, n, classes, grouped, effect, seed) -> dict:
    log2, y, groups = simulated(n, classes, grouped, effect, args.probes, args.planted, seed)
    proba, y_val, index, prior, nsel, n_train = validation_grid(log2, y, groups, args.splits, args.cs, seed)
    kappas = 1 / np.asarray(args.cs)
    usable = np.ones(proba.shape[:2], dtype=bool)

    def choose(scores):
        return choose_kappa(scores, usable, nsel, kappas, "best")

    group_of = None if groups is None else groups
    B = args.permutations
    return {
        "old": old_pvalue(proba, y_val, prior, n_train, choose, B, seed),
        "new acc": signal_pvalue(proba, y_val, prior, choose, B, seed, val_index=index, groups=group_of,
                                 statistic="accuracy")[1],
        "new bal": signal_pvalue(proba, y_val, prior, choose, B, seed, val_index=index, groups=group_of,
                                 statistic="balanced")[1],
        "new prob": signal_pvalue(proba, y_val, prior, choose, B, seed, val_index=index, groups=group_of,
                                  statistic="probability")[1],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[40, 60, 90, 150])
    parser.add_argument("--classes", type=int, nargs="+", default=[2, 4])
    parser.add_argument("--effects", type=float, nargs="+", default=[0.0, 0.4, 0.7, 1.0])
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--probes", type=int, default=200)
    parser.add_argument("--planted", type=int, default=4)
    parser.add_argument("--splits", type=int, default=5)
    parser.add_argument("--cs", type=float, nargs="+", default=[0.02, 0.05, 0.1, 0.2, 0.5, 1.0])
    parser.add_argument("--permutations", type=int, default=199)
    parser.add_argument("--alpha", type=float, default=0.05)
    parser.add_argument("--out", default=None, help="also write every p-value to this TSV")
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    rows, start = [], time.perf_counter()
    for n in args.sizes:
        for classes in args.classes:
            for grouped in (False, True):
                for effect in args.effects:
                    for seed in range(args.seeds):
                        rows.append({"arrays": n, "classes": classes, "grouped": grouped, "effect": effect, "seed": seed,
                                     **cell_pvalues(args, n, classes, grouped, effect, seed)})
                print(f"# {n} arrays, {classes} classes, grouped={grouped}: {time.perf_counter() - start:.0f} s", flush=True)
    table = pd.DataFrame(rows)
    if args.out:
        table.to_csv(args.out, sep="\t", index=False)
    tests = ["old", "new acc", "new bal", "new prob"]
    rate = table.groupby(["arrays", "classes", "grouped", "effect"])[tests].agg(lambda p: np.mean(p <= args.alpha))
    print(f"\nshare of {args.seeds} seeds found to show signal at {args.alpha} (effect 0: labels permuted, the size)\n")
    print(rate.reset_index().to_markdown(index=False, floatfmt=".2f"))


if __name__ == "__main__":
    main()
