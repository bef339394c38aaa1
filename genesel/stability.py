"""Stability selection with complementary pairs (Shah & Samworth 2013): a stated bound on the expected
number of falsely selected genes.

The arrays are halved ``pairs`` times into two disjoint halves (stratified by class, patients whole);
the method is fitted on each half with its regularisation fixed (what most of the main splits chose),
and keeps its ``q`` highest-scoring genes there. A gene's selection probability is the share of the
``2 * pairs`` halves that kept it; it is *stable* at threshold ``τ`` when that share is at least ``τ``.
For genes no better than random among the noise genes, the expected number of stable noise genes is
at most ``q² / ((2τ - 1) p)`` (Meinshausen & Bühlmann 2010, shown by Shah & Samworth to hold for
complementary pairs with no further assumption on the halves); ``q`` is set from the error level the
user states (``max_false``), so the bound holds at that level, and the realised bound (with the mean
number of genes a half kept) is reported.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from genesel import registry
from genesel.dataset import Dataset
from genesel.results import MethodResult
from genesel.splits import check_sizes, equalise_parts, split_column, stratified_group_split, stratified_split

#: defaults of the config's ``stability`` block
PAIRS = 25
THRESHOLD = 0.75
MAX_FALSE = 1.0


def genes_per_half(n_genes: int, threshold: float = THRESHOLD, max_false: float = MAX_FALSE) -> int:
    """The largest ``q`` with ``q² / ((2τ - 1) p) <= max_false`` (at least 1); a bound that meets the level
    exactly counts as within it (2 * 0.6 - 1 is 0.19999999999999996 in floating point, which made q = 8 at
    τ = 0.6, EV = 2, p = 160 come out as 7)."""
    if not 0.5 < threshold <= 1:
        raise ValueError(f"a stability threshold must lie in (0.5, 1], got {threshold}")
    return max(1, int(math.floor(math.sqrt(max_false * n_genes * (2 * threshold - 1)) * (1 + 1e-12))))


def error_bound(q: float, n_genes: int, threshold: float) -> float:
    """Bound on the expected number of stable noise genes: ``q² / ((2τ - 1) p)``."""
    return q * q / ((2 * threshold - 1) * n_genes)


def complementary_pairs(dataset: Dataset, pairs: int = PAIRS, seed: int = 0) -> pd.DataFrame:
    """A splits table of ``2 * pairs`` pseudo-splits: pair ``b`` halves the arrays into A and B
    (stratified, a patient's arrays in one half); split ``2b`` trains on A, ``2b + 1`` on B, and the
    other half fills that split's val/test parts (unused with fixed settings). Part sizes are made
    equal over splits, a surplus array being ``unused`` there, so every half has the same size."""
    rng = np.random.default_rng(seed)
    table = pd.DataFrame({"sample_id": dataset.sample_ids, "group": dataset.groups})
    fractions = (0.5, 0.25, 0.25)
    for b in range(pairs):
        if dataset.grouped:
            parts = stratified_group_split(dataset.y, dataset.groups, fractions, rng)
        else:
            parts = stratified_split(dataset.y, fractions, rng)
        half_a = parts == "train"
        other = np.where(rng.random(len(parts)) < 0.5, "val", "test")
        _fill_both(other, np.flatnonzero(half_a))
        table[split_column(2 * b)] = parts
        table[split_column(2 * b + 1)] = np.where(half_a, other, "train")
    return equalise_parts(table, dataset.y, rng, whole=("train",))  # val/test of a half are not used


def _fill_both(other: np.ndarray, half: np.ndarray) -> None:
    """Where the coin flips left the val or the test part of a half empty (a small study), move one
    array there: every split's parts are made equal in size, so an empty part would empty them all."""
    for part, donor in (("val", "test"), ("test", "val")):
        if not (other[half] == part).any():
            other[half[other[half] == donor][0]] = part


def fixed_settings(method: str, params: dict, metrics: pd.DataFrame, q: int) -> dict | None:
    """The method's settings with its regularisation fixed to what the main splits chose (the most
    frequent choice; for a κ path, the median κ of the splits that kept a model; with early stopping, also
    the median epoch the splits stopped at), so a half is fitted without the other half. None where every
    split of spred fell back to the class prior. How it is fixed follows the method's solver
    (:data:`FIXERS`; a scikit-learn selector's class says it)."""
    chosen = [json.loads(h) for h, failed in zip(metrics["hyperparameters"], metrics.get("failed", False)) if not failed]
    chosen = [c for c in chosen if c]
    if not chosen:
        raise ValueError(f"{method}: no split was fitted, so there is no regularisation to fix")
    row = registry.method(method)
    return FIXERS[row.solver(params)](row, dict(params), pd.DataFrame(chosen), q)


def _fix_path(row, params: dict, table: pd.DataFrame, q: int) -> dict | None:
    """The κ path: the median κ of the splits that kept a model. Down the path (the convex linear head) a half
    is solved at that κ alone. Up the path (the MLP head, from a dense start) it climbs to it through the last
    :data:`CLIMB_STEPS` steps of the path below it and keeps the model at that κ (``choose: top``): the head
    learns genes that act only together during the climb, as the others leave, and a dense start at one κ
    learns them only by chance (benchmarks/RESULTS.md, issue 29)."""
    from genesel.kappa_path import CLIMB_STEPS, PathConfig

    kappas = pd.to_numeric(table["kappa"]).dropna()  # None where a split chose the class prior
    if not len(kappas):
        return None
    kappa = float(np.median(kappas))
    defaults = PathConfig()
    direction = params.get("direction") or ("up" if row.nonlinear else "down")
    if direction != "up":
        return {**params, "kappas": [kappa]}
    step = params.get("kappa_ratio", defaults.kappa_ratio) ** (1 / (params.get("n_kappas", defaults.n_kappas) - 1))
    return {**params, "kappas": [kappa * step**j for j in range(CLIMB_STEPS + 1)], "choose": "top"}


def _fix_grid(row, params: dict, table: pd.DataFrame, q: int) -> dict | None:
    """The SGD grid: the most frequent (lr, κ); with early stopping, the median epoch too."""
    if "lr" not in table or table["lr"].isna().all():  # every split chose the class prior
        return None
    fitted = table.dropna(subset=["lr"])
    lr, kappa = fitted.astype(str).agg(lambda column: column.value_counts().index[0])[["lr", "kappa"]]
    params.update(lrs=[float(lr)], kappas=[float(kappa)])
    if params.get("early_stopping") and "epochs" in fitted:  # the halves' validation part is the other half:
        epochs = int(np.median(fitted["epochs"]))  # the number of epochs is fixed too, like the penalty
        params.update(early_stopping=False, max_epochs=epochs, min_epochs=epochs)
    return params


def _fix_selector(row, params: dict, table: pd.DataFrame, q: int) -> dict:
    """A scikit-learn selector: its class fixes the most frequent choice."""
    mode = table.astype(str).agg(lambda column: column.value_counts().index[0])
    pick = {key: table[key][table[key].astype(str) == mode[key]].iloc[0] for key in table.columns}
    return row.selector_class().fixed_settings(params, pick, q)


#: how stability selection fixes the regularisation of each solver of the table of methods
FIXERS = {"path": _fix_path, "sgd": _fix_grid, "selector": _fix_selector}


def top_q(scores: np.ndarray, selected: np.ndarray, q: int) -> np.ndarray:
    """Per half, its ``q`` highest-scoring selected genes ``(H, p)`` bool (fewer where it selected fewer)."""
    scores = np.where(selected, np.asarray(scores, dtype=np.float64), -np.inf)
    order = np.argsort(-scores, axis=1, kind="stable")[:, :q]
    kept = np.zeros_like(selected, dtype=bool)
    np.put_along_axis(kept, order, True, axis=1)
    return kept & selected


@dataclass
class StabilityResult:
    """A method's stability selection on one dataset."""

    method: str
    probability: np.ndarray  # (p,) share of halves that kept the gene among their q best
    path: np.ndarray  # (q, p): the same share when each half keeps its 1, 2, ..., q best genes
    q: int
    mean_kept: float  # mean genes a half kept (<= q)
    threshold: float
    max_false: float
    pairs: int
    settings: dict

    @property
    def stable(self) -> np.ndarray:
        return self.probability >= self.threshold

    @property
    def bound(self) -> float:
        """The bound on expected false stable genes with the realised mean number kept per half."""
        return error_bound(self.mean_kept, len(self.probability), self.threshold)

    def summary(self) -> dict:
        return {"method": self.method, "pairs": self.pairs, "threshold": self.threshold, "q": self.q,
                "max_false": self.max_false, "mean_kept": self.mean_kept, "bound": self.bound,
                "n_stable": int(self.stable.sum()), "settings": json.dumps(self.settings, sort_keys=True)}

    def save(self, path) -> None:
        from genesel.io import atomic_path

        with atomic_path(Path(path)) as tmp:
            np.savez_compressed(tmp, probability=self.probability, path=self.path.astype(np.float32),
                                summary=np.array(json.dumps(self.summary())))

    @classmethod
    def load(cls, path) -> StabilityResult:
        with np.load(path, allow_pickle=False) as data:
            info = json.loads(str(data["summary"]))
            return cls(info["method"], data["probability"], data["path"], info["q"], info["mean_kept"],
                       info["threshold"], info["max_false"], info["pairs"], json.loads(info["settings"]))


def stability_from_fits(result: MethodResult, q: int, threshold: float, max_false: float, pairs: int,
                        settings: dict) -> StabilityResult:
    """Selection probabilities (and their path over q) from the fits on the ``2 * pairs`` halves."""
    failed = result.metrics.get("failed", pd.Series(False, index=result.metrics.index)).fillna(False).to_numpy(bool)
    scores, selected = result.scores[~failed], result.selected[~failed]
    if not len(scores):
        raise ValueError(f"{result.method}: every half failed to fit; no selection probability")
    path = np.stack([top_q(scores, selected, k).mean(axis=0) for k in range(1, q + 1)])
    kept = top_q(scores, selected, q)
    return StabilityResult(result.method, kept.mean(axis=0), path, q, float(kept.sum(axis=1).mean()), threshold,
                           max_false, pairs, settings)


def run_stability(method: str, dataset: Dataset, params: dict, metrics: pd.DataFrame, preprocess: dict | None = None,
                  pairs: int = PAIRS, threshold: float = THRESHOLD, max_false: float = MAX_FALSE,
                  device: str = "auto", seed: int = 0) -> StabilityResult:
    """Stability selection of ``method`` on ``dataset``: fit every half of ``pairs`` complementary pairs
    with the regularisation the main splits chose (``metrics``), each half preprocessed on its own
    arrays; see the module docstring for the bound."""
    from genesel.errors import DatasetError
    from genesel.experiment import run_method
    from genesel.preprocess import stack_splits

    q = genes_per_half(dataset.n_probes, threshold, max_false)
    try:
        settings = fixed_settings(method, params, metrics, q)
    except ValueError as exc:
        raise DatasetError(dataset.name, f"stability selection: {exc}") from None
    if settings is None:  # no split beat the class prior: no gene can be stable, and no κ to fit halves at
        p = dataset.n_probes
        return StabilityResult(method, np.zeros(p), np.zeros((q, p)), q, 0.0, threshold, max_false, pairs,
                               {"model": "class prior"})
    try:
        check_sizes(dataset.y, dataset.groups if dataset.grouped else None, dataset.class_names, dataset.name)
        halves = complementary_pairs(dataset, pairs, seed)
    except (ValueError, DatasetError) as exc:  # too few arrays or groups of a class to halve
        problem = exc.problem if isinstance(exc, DatasetError) else str(exc)
        raise DatasetError(dataset.name, f"stability selection: the study is too small to halve: {problem}") from None
    stacked = stack_splits(dataset, halves, **(preprocess or {}), unit="stability halves")
    fits = run_method(method, dataset, stacked, dict(settings), device=device, seed=seed, unit="stability halves")
    settings.pop("preprocess", None)
    return stability_from_fits(fits, q, threshold, max_false, pairs, settings)

