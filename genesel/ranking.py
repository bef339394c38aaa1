"""Per-split gene scores -> one ranked gene table with stability and per-gene statistics."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from genesel.dataset import Dataset
from genesel.preprocess import display_log2


def split_ranks(scores: np.ndarray) -> np.ndarray:
    """Rank of every gene within each split (1 = highest score, ties averaged), ``(S, p)``."""
    return stats.rankdata(-np.asarray(scores, dtype=np.float64), axis=1, method="average")


def class_statistics(dataset: Dataset) -> pd.DataFrame:
    """Descriptive per-gene statistics on log2 expression over all arrays (not used for selection).

    Per-class means, log2 fold change (two classes: second minus first class) or the largest
    between-class difference, one-way ANOVA p-value and Benjamini-Hochberg q-value.
    """
    X = display_log2(dataset.X, value_type=dataset.metadata.get("value_type"))
    out = {}
    groups = []
    for c, name in enumerate(dataset.class_names):
        values = X[dataset.y == c]
        out[f"mean_log2_{name}"] = np.nanmean(values, axis=0) if len(values) else np.nan
        groups.append(values)
    means = np.vstack([out[f"mean_log2_{n}"] for n in dataset.class_names])
    if len(dataset.class_names) == 2:
        out["log2_fold_change"] = means[1] - means[0]
    else:
        out["max_log2_difference"] = np.nanmax(means, axis=0) - np.nanmin(means, axis=0)
    with np.errstate(all="ignore"):
        pvalue = stats.f_oneway(*groups, axis=0, nan_policy="omit").pvalue
    pvalue = np.asarray(pvalue, dtype=np.float64)
    finite = np.isfinite(pvalue)
    qvalue = np.full_like(pvalue, np.nan)
    if finite.any():
        qvalue[finite] = stats.false_discovery_control(pvalue[finite], method="bh")
    out["anova_p"] = pvalue
    out["anova_q_bh"] = qvalue
    return pd.DataFrame(out)


def rank_genes(scores: np.ndarray, selected: np.ndarray, dataset: Dataset, statistics: bool = True) -> pd.DataFrame:
    """Consensus ranking over splits.

    ``score`` is the mean per-split score, ``selection_frequency`` the share of splits that
    selected the gene, ``median_rank`` its median within-split rank. Genes are ordered by
    selection frequency, then median rank, then mean score: a within-split rank is on one scale
    in every split, while raw scores are not (each split chooses its own κ). Probes of one gene
    stay separate rows.
    """
    scores = np.asarray(scores, dtype=np.float64)
    columns = {"probe_id": dataset.probe_ids, "gene_symbol": dataset.gene_symbols}
    for column, values in (("entrez_id", dataset.entrez_ids), ("gene_title", dataset.gene_titles)):
        if np.char.str_len(values).any():  # annotated from the platform (GPL)
            columns[column] = values
    table = pd.DataFrame({
        **columns,
        "score": scores.mean(axis=0),
        "selection_frequency": np.asarray(selected, dtype=float).mean(axis=0),
        "median_rank": np.median(split_ranks(scores), axis=0),
    })
    if statistics:
        table = pd.concat([table, class_statistics(dataset)], axis=1)
    table = table.sort_values(["selection_frequency", "median_rank", "score"], ascending=[False, True, False], kind="stable")
    table.insert(0, "rank", np.arange(1, len(table) + 1))
    return table.reset_index(drop=True)
