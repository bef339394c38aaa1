"""Per-split gene scores -> one ranked gene table with stability and per-gene statistics."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from scipy import stats

from genesel.dataset import Dataset
from genesel.limma import moderated_test
from genesel.preprocess import display_log2

NOT_SELECTED = "not selected"
#: the status of a gene some split selected but no half of stability selection kept (selection probability 0):
#: it has no rank and follows the ranked genes
NO_HALF = "no half kept it"
#: the status of a method's ranked genes where its test over splits (genesel.signal) found no signal
NO_SIGNAL = "no evidence of class signal"


def split_ranks(scores: np.ndarray) -> np.ndarray:
    """Rank of every gene within each split (1 = highest score, ties averaged), ``(S, p)``."""
    return stats.rankdata(-np.asarray(scores, dtype=np.float64), axis=1, method="average")


def _log2(dataset: Dataset) -> np.ndarray:
    return display_log2(dataset.X, value_type=dataset.metadata.get("value_type"))


def bh(pvalues: np.ndarray) -> np.ndarray:
    """Benjamini-Hochberg q-values of the finite p-values (NaN elsewhere)."""
    pvalues = np.asarray(pvalues, dtype=np.float64)
    q = np.full_like(pvalues, np.nan)
    finite = np.isfinite(pvalues)
    if finite.any():
        q[finite] = stats.false_discovery_control(pvalues[finite], method="bh")
    return q


def patient_blocks(dataset: Dataset) -> np.ndarray | None:
    """Each array's patient where some patient has several arrays (limma then treats a patient's arrays as
    correlated, :mod:`genesel.limma_blocks`), else None."""
    return dataset.groups if dataset.grouped else None


def patient_correlation(dataset: Dataset) -> float | None:
    """limma's consensus correlation of one patient's arrays over all arrays (``duplicateCorrelation``), where
    some patient has several; else None."""
    from genesel.limma_blocks import duplicate_correlation, one_way_design

    blocks = patient_blocks(dataset)
    if blocks is None:
        return None
    design = one_way_design(dataset.y, len(dataset.class_names))
    return duplicate_correlation(_log2(dataset), design, blocks)[0]


def class_statistics(dataset: Dataset) -> pd.DataFrame:
    """Descriptive per-gene statistics on log2 expression over **all** arrays (never used to select).

    Per-class means; ``log2fc_{class}_vs_{reference}`` for every class against the reference
    (class 0, ``reference_class`` in the config): positive means higher than in the reference;
    with more than two classes each contrast's moderated t p-value and q-value (``p_`` / ``q_{class}_vs_{reference}``);
    limma's moderated t (two classes) or F (more), its p-value and Benjamini-Hochberg q-value,
    suffixed ``_descriptive``: the arrays that selected a gene are among them, so they do not test
    a selection (see :func:`heldout_pvalues` for that). Where a patient gave several arrays, limma's fit treats
    them as correlated (``duplicateCorrelation`` with the patient as block, then GLS).
    """
    X = _log2(dataset)
    fit = moderated_test(X, dataset.y, len(dataset.class_names), block=patient_blocks(dataset))
    out = {}
    for c, name in enumerate(dataset.class_names):
        values = X[dataset.y == c]
        with np.errstate(all="ignore"):
            out[f"mean_log2_{name}"] = np.nanmean(values, axis=0) if len(values) else np.nan
    reference = dataset.reference_class
    for j, name in enumerate(dataset.class_names[1:]):
        out[f"log2fc_{name}_vs_{reference}"] = fit.log2_fold_change[:, j]
    if len(dataset.class_names) > 2:  # each contrast's own moderated t test (with two classes: the gene's test)
        for j, name in enumerate(dataset.class_names[1:]):
            out[f"p_{name}_vs_{reference}"] = fit.p_t[:, j]
            out[f"q_{name}_vs_{reference}"] = bh(fit.p_t[:, j])
    if len(dataset.class_names) == 2:
        out["moderated_t"] = fit.t[:, 0]
    else:
        out["moderated_F"] = fit.F
    out["p_descriptive"] = fit.p_value
    out["q_descriptive"] = bh(fit.p_value)
    return pd.DataFrame(out)


def heldout_pvalues(dataset: Dataset, test_rows: list[np.ndarray], selected: np.ndarray) -> np.ndarray:
    """p-values of a method's selections on arrays that did not select them (multi-split p-values,
    Meinshausen, Meier & Bühlmann 2009).

    In split ``s`` the genes the method selected on its training arrays are tested on that split's
    test arrays with limma's moderated t/F; a selected gene's p-value is multiplied by the number of
    genes selected in the split (Bonferroni over the selection), an unselected gene's is 1. The
    splits are combined as ``min(1, 2 * median)``, which bounds the family-wise error over all genes
    at the stated level. ``test_rows``: each split's test arrays (row indices).
    """
    X = _log2(dataset)
    S, p = selected.shape
    per_split = np.ones((S, p))
    for s, rows in enumerate(test_rows):
        chosen = np.asarray(selected[s], dtype=bool)
        y = dataset.y[rows]
        if not chosen.any() or len(np.unique(y)) < 2:
            continue
        present = np.unique(y)
        codes = np.searchsorted(present, y)  # classes absent from this test part drop out of the test
        block = None if (blocks := patient_blocks(dataset)) is None else blocks[rows]
        pvalue = moderated_test(X[rows], codes, len(present), block=block).p_value
        per_split[s, chosen] = np.minimum(1.0, np.nan_to_num(pvalue[chosen], nan=1.0) * chosen.sum())
    return np.minimum(1.0, 2 * np.median(per_split, axis=0))


def rank_genes(scores: np.ndarray, selected: np.ndarray, dataset: Dataset, statistics: bool = True,
               heldout_p: np.ndarray | None = None, linear_share: np.ndarray | None = None) -> pd.DataFrame:
    """Consensus ranking over splits.

    ``score`` is the mean per-split score, ``selection_frequency`` the share of splits that
    selected the gene, ``median_rank`` its median within-split rank (a split that did not select the
    gene ranks it among the tied last). Genes are ordered by selection frequency, then median rank,
    then mean score: a within-split rank is on one scale in every split, while raw scores are not
    (each split chooses its own κ). Only genes selected in some split get a ``rank``; the others
    read ``not selected`` in ``status``. Probes of one gene stay separate rows.

    ``heldout_p`` (see :func:`heldout_pvalues`) and ``linear_share`` (``(S, p)``: the linear head's
    share of each gene's weight, NaN where unselected) add the columns ``heldout_p`` and
    ``linear_share`` / ``head``.
    """
    scores = np.asarray(scores, dtype=np.float64)
    selected = np.asarray(selected, dtype=bool)
    columns = {"probe_id": dataset.probe_ids, "gene_symbol": dataset.gene_symbols}
    for column, values in (("entrez_id", dataset.entrez_ids), ("gene_title", dataset.gene_titles)):
        if np.char.str_len(values).any():  # annotated from the platform (GPL)
            columns[column] = values
    table = pd.DataFrame({
        **columns,
        "score": scores.mean(axis=0),
        "selection_frequency": selected.mean(axis=0),
        "median_rank": np.median(split_ranks(scores), axis=0),
    })
    if heldout_p is not None:
        table["heldout_p"] = heldout_p
    if linear_share is not None:
        table = pd.concat([table, _head_columns(linear_share, selected)], axis=1)
    if statistics:
        table = pd.concat([table, class_statistics(dataset)], axis=1)
    table = table.sort_values(["selection_frequency", "median_rank", "score"], ascending=[False, True, False], kind="stable")
    chosen = table.selection_frequency.to_numpy() > 0
    table.insert(0, "rank", pd.array(np.where(chosen, np.cumsum(chosen), 0), dtype="Int64"))
    table.loc[~chosen, "rank"] = pd.NA
    table.insert(1, "status", np.where(chosen, "selected", NOT_SELECTED))
    return table.reset_index(drop=True)


def _head_columns(linear_share: np.ndarray, selected: np.ndarray) -> pd.DataFrame:
    """Mean linear-head share of a gene's weight over the splits that selected it, and the head that
    carries it (``linear`` at a share of one half or more, else ``nonlinear``)."""
    share = np.where(selected, np.asarray(linear_share, dtype=np.float64), np.nan)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # genes never selected: mean of nothing
        mean = np.nanmean(share, axis=0)
    head = np.where(np.isnan(mean), "", np.where(mean >= 0.5, "linear", "nonlinear"))
    return pd.DataFrame({"linear_share": mean, "head": head})


def ranks(table: pd.DataFrame) -> pd.Series:
    """A gene table's ranks by probe id (NaN for genes never selected, or that no stability half kept)."""
    return pd.to_numeric(table.set_index("probe_id")["rank"], errors="coerce").astype(float)


def no_half_kept(table: pd.DataFrame) -> pd.Series:
    """Genes some split selected but no half of stability selection kept (selection probability 0): no rank."""
    if "selection_probability" not in table:
        return pd.Series(False, index=table.index)
    return (table["selection_frequency"] > 0) & (table["selection_probability"] == 0)


def gene_table(result, dataset: Dataset, splits: pd.DataFrame | None = None, stability=None) -> pd.DataFrame:
    """The gene CSV of one method: :func:`rank_genes` with held-out p-values (from ``splits``), the head
    share (spred with both heads) and, from a :class:`~genesel.stability.StabilityResult`, each gene's
    ``selection_probability`` and ``stable`` flag (``status`` then reads ``stable`` for those). A gene no
    stability half kept has no rank (:func:`_rank_kept`), as in the report's candidate table. A method with
    a test over splits (spred) adds its ``signal_p``; where that test found no signal, every gene it ranked
    reads :data:`NO_SIGNAL` in ``status``: the list is kept, to be treated as noise."""
    from genesel.splits import n_splits_in, split_indices

    heldout = None
    if splits is not None:
        tests = [split_indices(splits, k, dataset.sample_ids)["test"] for k in range(n_splits_in(splits))]
        heldout = heldout_pvalues(dataset, tests, result.selected)
    table = rank_genes(result.scores, result.selected, dataset, heldout_p=heldout, linear_share=result.linear_share)
    if stability is not None:
        by_probe = pd.Series(stability.probability, index=dataset.probe_ids)
        probability = table.probe_id.map(by_probe).to_numpy()
        at = table.columns.get_loc("median_rank") + 1
        table.insert(at, "selection_probability", probability)
        table.insert(at + 1, "stable", probability >= stability.threshold)
        table.loc[table.stable, "status"] = "stable"
        table = _rank_kept(table)
    return _mark_signal(table, result.metrics)


def _rank_kept(table: pd.DataFrame) -> pd.DataFrame:
    """Ranks 1, 2, ... in consensus order for the genes with a selection probability above 0; the genes some
    split selected but no half kept lose theirs, read :data:`NO_HALF` and follow the ranked genes."""
    unkept = no_half_kept(table).to_numpy()
    table.loc[unkept, "status"] = NO_HALF
    ranked = table["rank"].notna().to_numpy() & ~unkept
    table = pd.concat([table[ranked], table[~ranked]])
    table["rank"] = pd.array([*range(1, ranked.sum() + 1), *[pd.NA] * (~ranked).sum()], dtype="Int64")
    return table.reset_index(drop=True)


def _mark_signal(table: pd.DataFrame, metrics: pd.DataFrame) -> pd.DataFrame:
    """``signal_p`` after ``status`` and, where the test found no signal, :data:`NO_SIGNAL` as the ranked genes' status."""
    if "signal_p" not in metrics or metrics["signal_p"].isna().all():
        return table
    table.insert(table.columns.get_loc("status") + 1, "signal_p", float(metrics["signal_p"].dropna().iloc[0]))
    if "signal" in metrics and (metrics["signal"] == NO_SIGNAL).any():
        table.loc[~table["status"].isin([NOT_SELECTED, NO_HALF]), "status"] = NO_SIGNAL
    return table


def no_signal_note(genes: dict[str, pd.DataFrame]) -> str:
    """One sentence per method whose gene table is marked :data:`NO_SIGNAL` (empty where none is)."""
    notes = [f"{method}: {NO_SIGNAL} (signal p {table['signal_p'].iloc[0]:.3g}): treat these genes as noise."
             for method, table in genes.items() if "status" in table and (table["status"] == NO_SIGNAL).any()]
    return " ".join(notes)
