"""Running one method on every split of one dataset: one per-split result for every method."""

from __future__ import annotations

import numpy as np
import pandas as pd

from genesel import registry
from genesel.dataset import Dataset
from genesel.preprocess import StackedSplits
from genesel.results import MethodResult


def _metric_row(k: int, y_true, y_pred) -> dict:
    from sklearn.metrics import accuracy_score, balanced_accuracy_score, f1_score

    return {
        "split": k,
        "accuracy": accuracy_score(y_true, y_pred),
        "balanced_accuracy": balanced_accuracy_score(y_true, y_pred),
        "macro_f1": f1_score(y_true, y_pred, average="macro", zero_division=0),
    }


def run_method(method: str, dataset: Dataset, stacked: StackedSplits, params: dict | None = None,
               device: str = "auto", seed: int = 0, unit: str = "splits") -> MethodResult:
    """Fit ``method`` on the training part of every split, choose its hyperparameters on the
    validation part, and evaluate on the test part. ``params`` are the method's settings; ``unit`` names
    the splits in the progress lines (stability selection's are halves)."""
    params = dict(params or {})
    relaxed = bool(params.pop("relaxed", False))
    solver = registry.method(method).solver(params)
    params.pop("solver", None)
    rows, scores, selected, preds, history, share = RUNNERS[solver](method, dataset, stacked, params, device, seed,
                                                                    unit)
    metrics = pd.DataFrame(rows)
    if relaxed:
        metrics = relaxed_refit(stacked, selected, metrics)
    metrics.insert(0, "method", method)
    metrics.insert(0, "dataset", dataset.name)
    predictions = pd.concat(preds, ignore_index=True) if preds else pd.DataFrame(
        columns=["split", "sample_id", "true", "predicted"])
    return MethodResult(method, metrics, scores, selected, predictions, history, share)


#: the penalties a relaxed refit chooses from on validation (inverse strength C of an L2 logistic regression)
RELAXED_CS = (0.01, 0.1, 1.0, 10.0)


def relaxed_refit(stacked: StackedSplits, selected: np.ndarray, metrics: pd.DataFrame) -> pd.DataFrame:
    """The relaxed fit of every split: an L2 logistic regression on the genes the split selected (the
    penalty of the selection removed, a small one chosen on validation from :data:`RELAXED_CS`), as the
    relaxed lasso does. Adds ``accuracy_relaxed`` and ``relaxed_C``; the method's own accuracy stays."""
    from sklearn.linear_model import LogisticRegression

    metrics = metrics.copy()
    metrics["accuracy_relaxed"], metrics["relaxed_C"] = np.nan, np.nan
    for i, k in enumerate(metrics["split"].to_numpy()):
        cols = np.flatnonzero(selected[k])
        if metrics["failed"].iloc[i] or not len(cols):
            continue
        fits = []
        for C in RELAXED_CS:
            model = LogisticRegression(C=C, max_iter=2000).fit(stacked.X["train"][k][:, cols], stacked.y["train"][k])
            fits.append((model.score(stacked.X["val"][k][:, cols], stacked.y["val"][k]), -C, model))
        score, negC, model = max(fits, key=lambda f: f[:2])  # ties: the stronger penalty
        metrics.loc[metrics.index[i], "accuracy_relaxed"] = model.score(stacked.X["test"][k][:, cols], stacked.y["test"][k])
        metrics.loc[metrics.index[i], "relaxed_C"] = -negC
    return metrics


def _run_estimator(method: str, dataset: Dataset, stacked: StackedSplits, params: dict, device: str, seed: int,
                   unit: str = "splits"):
    """A scikit-learn selector (the table's ``selector`` class) fitted split by split, chosen on validation,
    tested on test."""
    from genesel.progress import progress

    rows, preds = [], []
    scores = np.zeros((stacked.n_splits, dataset.n_probes), dtype=np.float32)
    selected = np.zeros((stacked.n_splits, dataset.n_probes), dtype=bool)
    for k in progress(range(stacked.n_splits), desc=unit):
        selector, row, y_pred = _fit_selector(method, dataset, stacked, k, params, device, seed)
        rows.append(row)
        if selector is None:
            continue
        scores[k] = selector.scores_
        selected[k] = selector.get_support()
        preds.append(_prediction_rows(k, dataset, stacked, y_pred))
    return rows, scores, selected, preds, pd.DataFrame(), None


def _fit_selector(method: str, dataset: Dataset, stacked: StackedSplits, k: int, params: dict, device: str,
                  seed: int):
    """The fitted selector of split ``k``, its metrics row and its test predictions (None, a flagged row and
    None where it failed)."""
    import json
    import time
    import warnings

    start = time.perf_counter()
    cls = registry.method(method).selector_class()
    selector = cls(random_state=seed, **({"device": device} if cls.uses_device else {}), **params)
    extra = {name: getattr(stacked, name)[k] for name in cls.split_fit_params if getattr(stacked, name) is not None}
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", UserWarning)
            selector.fit(stacked.X["train"][k], stacked.y["train"][k], stacked.X["val"][k], stacked.y["val"][k],
                         **extra)
    except (ArithmeticError, np.linalg.LinAlgError, RuntimeError) as exc:  # numerical failure of one split
        return None, _failed_row(k, dataset, method, f"{type(exc).__name__}: {exc}", "cpu"), None
    for w in caught:  # name the dataset and split in what the selector had to say
        warnings.warn(f"{dataset.name} split {k}: {w.message}", UserWarning, stacklevel=2)
    y_pred = selector.predict(stacked.X["test"][k])
    row = _metric_row(k, stacked.y["test"][k], y_pred)
    row.update({
        "n_selected": int(selector.get_support().sum()), "failed": False,
        "hyperparameters": json.dumps(selector.best_params_),
        "val_accuracy": selector.val_score_, "converged": selector.converged_, "epochs": 0,
        "seconds": time.perf_counter() - start,
        "device": _device_name(device) if cls.uses_device else "cpu",  # scikit-learn runs on the CPU
    })
    return selector, {**row, **selector.run_columns()}, y_pred


def _run_grid(method: str, dataset: Dataset, stacked: StackedSplits, params: dict, device: str, seed: int,
              unit: str = "splits"):
    """The spred family on the paper's lr x κ grid (:mod:`genesel.train`), chosen per split on validation."""
    from genesel.train import TrainConfig, train_grid

    S = stacked.n_splits
    _check_settings(TrainConfig, params, f"{dataset.name} {method} (solver: sgd)")
    config = TrainConfig(variant=method, device=device, seed=seed, **params)
    result = train_grid(stacked.X["train"], stacked.y["train"], stacked.X["val"], stacked.y["val"],
                        stacked.X["test"], len(dataset.class_names), config)
    result.val_index, result.groups = stacked.index["val"], dataset.groups
    chosen = result.choose()
    rows, preds = _sgd_rows(method, dataset, stacked, result, chosen)
    at = np.maximum(chosen, 0)
    scores = np.where((chosen >= 0)[:, None], result.scores[np.arange(S), at], 0.0)
    history = result.history
    if len(history):
        history = history.merge(pd.DataFrame({"split": range(S), "grid": chosen}), on=["split", "grid"], how="left", indicator=True)
        history["chosen"] = history.pop("_merge") == "both"
        history["lr"] = [result.grid[g][0] for g in history["grid"]]
        history["kappa"] = [result.grid[g][1] for g in history["grid"]]
        history["converged"] = result.converged[history["split"].to_numpy(), history["grid"].to_numpy()]
    share = None if result.linear_share is None else np.where(
        (chosen >= 0)[:, None], result.linear_share[np.arange(S), at], np.nan)
    return rows, scores, scores > config.threshold, preds, history, share


def _chosen_rows(method: str, dataset: Dataset, stacked: StackedSplits, result, chosen: np.ndarray, no_model: str,
                 fields) -> tuple[list, list]:
    """Metrics rows and test predictions of each split's chosen model, for the SGD grid and the κ path alike.
    ``fields(k, g)`` gives the solver's columns of split ``k`` at its chosen model ``g`` (``CLASS_PRIOR``: no
    gene, the training majority class predicted); a split with no model (``NO_MODEL``) gets a flagged row
    saying ``no_model``. Each row carries the test over splits; where it found no signal the chosen models
    keep their genes (ranked, marked as noise) and every split predicts its training majority class."""
    import json

    from genesel.ranking import NO_SIGNAL
    from genesel.signal import NO_MODEL

    proba = result.chosen_test_proba(chosen)
    signal = _signal_columns(dataset.name, method, result, chosen)
    rows, preds = [], []
    for k, g in enumerate(chosen):
        if g == NO_MODEL:
            rows.append(_failed_row(k, dataset, method, no_model, result.device))
            continue
        y_pred = proba[k].argmax(-1)
        row = {**_metric_row(k, stacked.y["test"][k], y_pred), **signal, "failed": False,
               "device": result.device, **fields(k, g)}
        if g >= 0 and signal["signal"] == NO_SIGNAL:  # the chosen model's genes, the majority class's predictions
            row["hyperparameters"] = json.dumps({**json.loads(row["hyperparameters"]), "predicts": "majority class"})
        rows.append(row)
        preds.append(_prediction_rows(k, dataset, stacked, y_pred))
    return rows, preds


def _sgd_rows(method: str, dataset: Dataset, stacked: StackedSplits, result, chosen: np.ndarray):
    """:func:`_chosen_rows` of the paper's grid: each split's chosen grid point."""
    import json

    from genesel.signal import CLASS_PRIOR

    heads = {head: result.accuracy(stacked.y["test"], head) for head in ("linear", "mlp")}

    def fields(k: int, g: int) -> dict:
        spent = {"seconds": float(result.seconds[k].sum())}
        if g == CLASS_PRIOR:
            return {**_class_prior_fields(k, stacked, result), **spent, "epochs": int(result.epochs[k].sum())}
        chosen = {"lr": float(result.lr_used[k, g]), "kappa": result.grid[g][1]}
        if result.early_stopping:  # the epoch whose weights it kept (stability selection trains halves that long)
            chosen["epochs"] = int(result.best_epoch[k, g])
        return {**spent, "n_selected": int(result.n_selected[k, g]), "hyperparameters": json.dumps(chosen),
                "val_accuracy": result.val_acc[k, g], "converged": bool(result.converged[k, g]),
                "epochs": int(result.epochs[k, g]),
                "accuracy_linear_head": heads["linear"][k, g], "accuracy_mlp_head": heads["mlp"][k, g],
                "grid_converged": int(result.converged[k].sum()), "grid_diverged": int(result.diverged[k].sum())}

    return _chosen_rows(method, dataset, stacked, result, chosen, "every grid point diverged", fields)


def _run_path(method: str, dataset: Dataset, stacked: StackedSplits, params: dict, device: str, seed: int,
              unit: str = "splits"):
    """spred / spred_linear along a κ path (:mod:`genesel.solver`), κ chosen per split on validation."""
    import time

    from genesel.solver import PathConfig, solve_path

    _check_settings(PathConfig, params, f"{dataset.name} {method} (solver: path)")
    if "kappas" in params:
        params["kappas"] = tuple(params["kappas"])
    config = PathConfig(variant=method, device=device, seed=seed, **params)
    start = time.perf_counter()
    result = solve_path(stacked.X["train"], stacked.y["train"], stacked.X["val"], stacked.y["val"],
                        stacked.X["test"], len(dataset.class_names), config)
    seconds = (time.perf_counter() - start) / stacked.n_splits
    result.val_index, result.groups = stacked.index["val"], dataset.groups
    chosen = result.choose()
    rows, preds = _path_rows(method, dataset, stacked, result, chosen, seconds)
    S, at = stacked.n_splits, np.maximum(chosen, 0)
    scores = np.where((chosen >= 0)[:, None], result.scores[np.arange(S), at], 0.0)
    history = pd.DataFrame({
        "split": np.repeat(np.arange(S), len(result.kappas)), "grid": np.tile(np.arange(len(result.kappas)), S),
        "kappa": np.tile(result.kappas, S), "val_acc": result.val_acc.ravel(), "n_active": result.n_selected.ravel(),
        "certified": result.certified.ravel(), "kkt_residual": result.kkt_residual.ravel(),
        "epoch": result.iterations.ravel(), "n_computed": np.tile(result.n_computed, S),
        "candidate": result.beats_prior().ravel(),
    })
    history["chosen"] = history.grid.to_numpy() == np.repeat(chosen, len(result.kappas))
    share = np.where((chosen >= 0)[:, None], result.linear_share[np.arange(S), at], np.nan)
    return rows, scores, scores > 0, preds, history, share


def _path_rows(method: str, dataset: Dataset, stacked: StackedSplits, result, chosen: np.ndarray, seconds: float):
    """:func:`_chosen_rows` of the κ path: each split's chosen model (the class prior where the test over
    splits, or the per-split margin, found none better; see :meth:`PathResult.choose`)."""
    import json

    from genesel.signal import CLASS_PRIOR

    heads = {head: result.accuracy(stacked.y["test"], head) for head in ("linear", "mlp")}

    def fields(k: int, g: int) -> dict:
        common = {"seconds": seconds, "grid_converged": int(result.certified[k].sum()),
                  "grid_diverged": int(result.diverged[k].sum())}
        if g == CLASS_PRIOR:
            return {**common, **_class_prior_fields(k, stacked, result), "epochs": int(result.iterations[k].sum())}
        return {**common, "n_selected": int(result.n_selected[k, g]),
                "hyperparameters": json.dumps({"kappa": float(result.kappas[g]),
                                               "kappa_over_max": float(result.kappas[g] / result.kappa_max[k])}),
                "val_accuracy": result.val_acc[k, g], "converged": bool(result.certified[k, g]),
                "kkt_residual": float(result.kkt_residual[k, g]), "epochs": int(result.iterations[k, : g + 1].sum()),
                "accuracy_linear_head": heads["linear"][k, g], "accuracy_mlp_head": heads["mlp"][k, g],
                "mlp_share_of_selected": _mlp_share(result.linear_share[k, g])}

    return _chosen_rows(method, dataset, stacked, result, chosen, "no model on the kappa path could be fitted", fields)


def _class_prior_fields(k: int, stacked: StackedSplits, result) -> dict:
    """The metrics fields of a split that keeps no gene and predicts its training majority class."""
    import json

    return {"failed": False, "n_selected": 0, "hyperparameters": json.dumps({"kappa": None, "model": "class prior"}),
            "val_accuracy": float(np.mean(stacked.y["val"][k] == result.prior[k].argmax())), "converged": True}


def _signal_columns(name: str, method: str, result, chosen: np.ndarray) -> dict:
    """The test over splits as metrics columns (NaN where it is off; ``signal``: ``shown`` or
    :data:`~genesel.ranking.NO_SIGNAL`), with :func:`_warn_fallback`'s warnings."""
    from genesel.ranking import NO_SIGNAL

    gain, p = result.signal() if result.signal_alpha is not None else (np.nan, np.nan)
    _warn_fallback(name, method, result, chosen, gain, p)
    shown = "" if result.signal_alpha is None else "shown" if result.signal_shown() else NO_SIGNAL
    return {"signal_gain": gain, "signal_p": p, "signal": shown}


def _warn_fallback(name: str, method: str, result, chosen: np.ndarray, gain: float, p: float) -> None:
    """One warning where the test over splits found no signal (the genes stay ranked, marked as noise; the
    majority class is predicted), one per split that its own margin (``prior_margin_se``) sent to the class prior."""
    import warnings

    from genesel.signal import CLASS_PRIOR

    per_split = result.choose_per_split()
    if (per_split >= 0).any() and not result.signal_shown():
        beyond = f"accuracy gain beyond chance {gain:+.3f}, " if np.isfinite(gain) else ""
        warnings.warn(f"{name} {method}: over {len(chosen)} splits the chosen models predict the validation arrays "
                      f"no better than the class frequencies ({beyond}p = {p:.3g} > {result.signal_alpha}): no "
                      "evidence of class signal; its genes stay ranked, marked as noise in the gene table, and "
                      "each split predicts the majority class", UserWarning, stacklevel=4)
    margin = getattr(result, "prior_margin_se", None)  # the κ path's per-split margin; the grid has none
    for k in np.flatnonzero(per_split == CLASS_PRIOR):
        warnings.warn(f"{name} {method} split {k}: no model on the kappa path predicts the validation arrays better "
                      f"than the class frequencies by {margin} standard errors; the split keeps no gene and predicts "
                      "the majority class", UserWarning, stacklevel=4)


def _failed_row(k: int, dataset: Dataset, method: str, why: str, device: str) -> dict:
    """The metrics row of a split a method could not fit: flagged, accuracy missing, and a warning
    naming dataset, method and split; the run goes on."""
    import json
    import warnings

    warnings.warn(f"{dataset.name} {method} split {k}: {why}; this split's accuracy is missing", UserWarning,
                  stacklevel=3)
    return {"split": k, "accuracy": np.nan, "balanced_accuracy": np.nan, "macro_f1": np.nan, "n_selected": np.nan,
            "failed": True, "hyperparameters": json.dumps({}), "val_accuracy": np.nan, "converged": False,
            "epochs": 0, "seconds": 0.0, "device": device}


def _check_settings(config_type, params: dict, where: str) -> None:
    """One clear line when a method's settings name something its solver does not take."""
    from dataclasses import fields

    known = {f.name for f in fields(config_type)} - {"variant", "device", "seed"}
    unknown = sorted(set(params) - known)
    if unknown:
        raise ValueError(f"{where}: unknown setting(s) {', '.join(unknown)}; this solver takes {', '.join(sorted(known))}")


def _mlp_share(linear_share: np.ndarray) -> float:
    """Mean share of the MLP head in ``||v_i||^2`` over the selected genes (NaN without genes or MLP head)."""
    selected = np.isfinite(linear_share)
    return float(np.mean(1 - linear_share[selected])) if selected.any() else float("nan")


def _device_name(device: str) -> str:
    from genesel.device import resolve_device

    return str(resolve_device(device))


def _prediction_rows(k: int, dataset: Dataset, stacked: StackedSplits, y_pred) -> pd.DataFrame:
    idx = stacked.index["test"][k]
    return pd.DataFrame({
        "split": k, "sample_id": dataset.sample_ids[idx],
        "true": np.asarray(dataset.class_names)[dataset.y[idx]],
        "predicted": np.asarray(dataset.class_names)[np.asarray(y_pred)],
    })


#: how each solver of the table of methods (:attr:`genesel.registry.Method.solvers`) is run
RUNNERS = {"path": _run_path, "sgd": _run_grid, "selector": _run_estimator}
