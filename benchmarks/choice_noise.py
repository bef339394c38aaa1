"""How much test accuracy choosing the penalty on a dozen validation arrays costs, and whether more
choice data wins it back.

    python benchmarks/choice_noise.py .bench/COLON.npz --methods spred_linear l1_logistic
    python benchmarks/choice_noise.py .bench/COLON.npz --methods spred --params '{"hidden": 128}'

Per split the final models are fitted on the training part, as the pipeline fits them (spred and spred_linear:
the κ path; l1_logistic: its C grid, warm-started). The penalty is then chosen four ways:

- ``validation``: on the split's validation part (the pipeline's rule: accuracy, ties to lower log-loss for the
  path, then the sparser model);
- ``repeated``: by the mean over ``--replicates`` hold-outs of the validation part's size, drawn (stratified)
  from the split's training and validation arrays, each fitted afresh on the rest (Monte Carlo cross-validation);
- ``repeated+validation``: the mean over those and the validation part;
- ``oracle``: the one penalty best on test over all splits (optimistic: chosen on test).

The test arrays never enter a choice but the oracle's. The hold-outs reuse the split's per-gene scaling, fitted
on its training arrays. The test over splits is off: the four real sets pass it. Prints; not a test.
"""

from __future__ import annotations

import argparse
import json
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from bench_real import SETTINGS, load
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedShuffleSplit

from genesel.signal import ValidationScores, validation_scores
from genesel.solver import PathConfig, choose_kappa, solve_path


def hold_outs(st, replicates: int) -> dict[str, np.ndarray]:
    """``replicates`` stratified hold-outs per split from its training ∪ validation arrays, with the validation
    part's size, stacked split-major: ``X_train (S·R, n_train, p)`` and so on."""
    out = {"X_train": [], "y_train": [], "X_val": [], "y_val": []}
    for s in range(st.n_splits):
        X = np.concatenate([st.X["train"][s], st.X["val"][s]])
        y = np.concatenate([st.y["train"][s], st.y["val"][s]])
        draws = StratifiedShuffleSplit(replicates, test_size=len(st.y["val"][s]), random_state=s)
        for tr, va in draws.split(X, y):
            for key, part in (("X_train", X[tr]), ("y_train", y[tr]), ("X_val", X[va]), ("y_val", y[va])):
                out[key].append(part)
    return {k: np.stack(v) for k, v in out.items()}


def mean_scores(parts: list[ValidationScores]) -> ValidationScores:
    """Scores averaged over hold-outs (each ``(S, K)``), as :func:`choose_kappa` reads them."""
    return ValidationScores(*(np.mean([getattr(p, f) for p in parts], axis=0) for f in ValidationScores.__annotations__))


def path_choices(st, n_classes: int, method: str, params: dict, replicates: int) -> dict:
    """Per rule, each split's test accuracy and genes at the κ it chooses (see the module docstring)."""
    config = PathConfig(variant=method, device="cpu", signal_alpha=None, **params)
    outer = solve_path(st.X["train"], st.y["train"], st.X["val"], st.y["val"], st.X["test"], n_classes, config)
    S, K = outer.n_selected.shape
    h = hold_outs(st, replicates)
    inner_config = PathConfig(variant=method, device="cpu", signal_alpha=None, **{**params, "kappas": tuple(outer.kappas)})
    inner = solve_path(h["X_train"], h["y_train"], h["X_val"], h["y_val"], None, n_classes, inner_config)
    usable = outer.usable()
    rep = [validation_scores(inner.val_proba.reshape(S, replicates, K, *inner.val_proba.shape[2:])[:, r],
                             h["y_val"].reshape(S, replicates, -1)[:, r], outer.prior) for r in range(replicates)]
    chosen = {"validation": outer.validation, "repeated": mean_scores(rep),
              "repeated+validation": mean_scores([*rep, outer.validation])}
    test = (outer.test_proba.argmax(-1) == st.y["test"][:, None]).mean(-1)
    picks = {rule: choose_kappa(sc, usable, outer.n_selected, outer.kappas) for rule, sc in chosen.items()}
    picks["oracle"] = np.full(S, np.nanargmax(np.where(usable, test, np.nan).mean(0)))
    return {rule: (test[np.arange(S), g], outer.n_selected[np.arange(S), g]) for rule, g in picks.items()}


def l1_fit_path(X, y, evaluate: list, Cs) -> np.ndarray:
    """``(C, len(evaluate) + 1)``: accuracy on each ``(X, y)`` of ``evaluate`` along the warm-started C grid
    (as :class:`genesel.selectors.L1LogisticSelector` fits it), then the genes kept."""
    model = LogisticRegression(l1_ratio=1.0, solver="saga", max_iter=2000, tol=1e-4, warm_start=True, random_state=0)
    rows = []
    for C in sorted(Cs):
        model.set_params(C=C)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            model.fit(X, y)
        kept = int((np.linalg.norm(model.coef_, axis=0) > 1e-8).sum())
        rows.append([model.score(Xe, ye) for Xe, ye in evaluate] + [kept])
    return np.array(rows)


def l1_choices(st, Cs, replicates: int) -> dict:
    """As :func:`path_choices`, for L1-logistic (ties: fewer genes, then the stronger penalty)."""
    h = hold_outs(st, replicates)
    S, picks, test, genes = st.n_splits, {}, [], []
    val, rep = [], []
    for s in range(S):
        a = l1_fit_path(st.X["train"][s], st.y["train"][s], [(st.X["val"][s], st.y["val"][s]),
                                                             (st.X["test"][s], st.y["test"][s])], Cs)
        val.append(a[:, 0])
        test.append(a[:, 1])
        genes.append(a[:, 2])
        rep.append([l1_fit_path(h["X_train"][i], h["y_train"][i], [(h["X_val"][i], h["y_val"][i])], Cs)[:, 0]
                    for i in range(s * replicates, (s + 1) * replicates)])
    val, test, genes, rep = map(np.array, (val, test, genes, rep))  # (S, C), ..., (S, R, C)
    by_rule = {"validation": val, "repeated": rep.mean(1), "repeated+validation": np.concatenate([rep, val[:, None]], 1).mean(1)}
    C = len(Cs)
    for rule, acc in by_rule.items():  # lexsort: the last key first; Cs ascend, so the stronger penalty wins ties
        picks[rule] = np.lexsort((np.broadcast_to(np.arange(C), acc.shape), genes, -acc), axis=-1)[:, 0]
    picks["oracle"] = np.full(S, test.mean(0).argmax())
    return {rule: (test[np.arange(S), g], genes[np.arange(S), g]) for rule, g in picks.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("datasets", nargs="+", type=Path, help="dataset .npz files from genesel prepare")
    parser.add_argument("--methods", nargs="+", default=["spred_linear", "l1_logistic"],
                        choices=["spred", "spred_linear", "l1_logistic"])
    parser.add_argument("--params", type=json.loads, default={}, help="path settings (spred, spred_linear) as JSON")
    parser.add_argument("--replicates", type=int, default=5)
    args = parser.parse_args()
    rows = []
    for path in args.datasets:
        dataset, st = load(path)
        for method in args.methods:
            start = time.perf_counter()
            if method == "l1_logistic":
                res = l1_choices(st, SETTINGS["l1_logistic"]["Cs"], args.replicates)
            else:
                settings = {k: v for k, v in SETTINGS[method].items() if k != "solver"}
                res = path_choices(st, len(dataset.class_names), method, {**settings, **args.params}, args.replicates)
            seconds = time.perf_counter() - start
            for rule, (acc, genes) in res.items():
                rows.append({"dataset": dataset.name, "method": method, "choice": rule, "test_acc": acc.mean(),
                             "se": acc.std(ddof=1) / np.sqrt(len(acc)), "genes_median": np.median(genes),
                             "seconds": seconds})
            print(pd.DataFrame(rows[-len(res):]).round(3).to_string(index=False), flush=True)
    print(pd.DataFrame(rows).round(3).to_markdown(index=False))


if __name__ == "__main__":
    main()
