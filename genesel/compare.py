"""Apples-to-apples comparison of gene lists, and the genes two methods agree on."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.svm import SVC

from genesel.errors import DatasetError
from genesel.preprocess import StackedSplits
from genesel.ranking import ranks
from genesel.results import MethodResult

TOP_KS = (5, 10, 20, 50, 100)
CLASSIFIERS = {
    "RBF SVC": lambda: SVC(kernel="rbf", C=1.0, gamma="scale"),
    "logistic regression": lambda: LogisticRegression(C=1.0, max_iter=2000),
}


def topk_accuracy(results: dict[str, MethodResult], stacked: StackedSplits, ks=TOP_KS) -> pd.DataFrame:
    """Retrain the same classifiers on each method's top-k genes of each split.

    The genes come from that split's own scores (fitted on its training arrays), the
    classifiers are fitted on the same training arrays and scored on its test arrays, so no
    gene list has seen the arrays it is tested on. One row per method x split x classifier x k;
    a split the method could not fit (``failed`` in its metrics) has no gene order and no row, and a
    k larger than the number of genes the split selected has no row (never padded with unselected
    genes).
    """
    rows = []
    p = stacked.X["train"].shape[2]
    for method, result in results.items():
        failed = set(result.metrics.loc[result.metrics.get("failed", pd.Series(False)).fillna(False).astype(bool), "split"])
        for s in range(stacked.n_splits):
            if s in failed:
                continue
            order = np.argsort(-result.scores[s], kind="stable")
            for k in ks:
                if k > min(p, int(result.selected[s].sum())):
                    continue
                cols = order[:k]
                Xtr, Xte = stacked.X["train"][s][:, cols], stacked.X["test"][s][:, cols]
                for name, make in CLASSIFIERS.items():
                    model = make().fit(Xtr, stacked.y["train"][s])
                    rows.append({"method": method, "split": s, "classifier": name, "k": k,
                                 "accuracy": float(np.mean(model.predict(Xte) == stacked.y["test"][s]))})
    return pd.DataFrame(rows)


def consensus(genes_a: pd.DataFrame, genes_b: pd.DataFrame, name_a: str, name_b: str, min_frequency: float = 0.5) -> pd.DataFrame:
    """Genes that both methods select in at least ``min_frequency`` of the splits, with both ranks."""
    cols = ["probe_id", "gene_symbol", "rank", "selection_frequency", "score"]
    a = genes_a[cols][genes_a.selection_frequency >= min_frequency]
    b = genes_b[cols[:1] + cols[2:]][genes_b.selection_frequency >= min_frequency]
    both = a.merge(b, on="probe_id", suffixes=(f"_{name_a}", f"_{name_b}"))
    both["mean_rank"] = (both[f"rank_{name_a}"] + both[f"rank_{name_b}"]) / 2
    return both.sort_values("mean_rank").reset_index(drop=True)


#: the two methods whose agreement is reported, and the head of each list the overlap figure compares
CONSENSUS_METHODS = ("spred", "hsic_lasso")
OVERLAP_TOP = 50


def spred_hsic_consensus(genes: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """:func:`consensus` of spred and HSIC-Lasso; an empty table with the same columns when either
    was not run."""
    a, b = CONSENSUS_METHODS
    if a in genes and b in genes:
        return consensus(genes[a], genes[b], a, b)
    return pd.DataFrame(columns=["probe_id", "gene_symbol", f"rank_{a}", f"rank_{b}", "mean_rank"])


def top_lists(genes: dict[str, pd.DataFrame], top: int = OVERLAP_TOP) -> dict[str, list[str]]:
    """Each method's first ``top`` probes, for the overlap figure."""
    return {method: table.head(top).probe_id.tolist() for method, table in genes.items()}


PLANTED_KINDS = ("linear", "xor", "variance")


def _median_rank(ranks_: pd.Series) -> float:
    """Median consensus rank, a never-selected gene counting as worse than every rank (NaN when that
    is the median)."""
    median = ranks_.fillna(np.inf).median()
    return float(median) if np.isfinite(median) else float("nan")


def planted_recovery(genes: dict[str, pd.DataFrame], truth: pd.DataFrame, dataset: str | None = None) -> pd.DataFrame:
    """How many planted genes of each kind every method's consensus ranking puts in its top k.

    ``genes``: method -> ranked gene table (``rank``, ``probe_id``); ``truth``: the simulator's
    truth table (``probe_id``, ``kind``). k is the number of planted genes, so a perfect
    selector recovers all of them. One row per method x kind, plus ``all``, with the best and
    median consensus rank of that kind's planted genes and how many were never selected.
    """
    missing = {"probe_id", "kind"} - set(truth.columns)
    if missing:
        raise DatasetError(dataset, f"truth table lacks column(s) {sorted(missing)}")
    k = len(truth)
    rows = []
    for method, table in genes.items():
        absent = sorted(set(truth.probe_id) - set(table.probe_id))
        if absent:
            raise DatasetError(dataset, f"planted probe(s) {absent[:3]} are not in the {method} gene table")
        rank = truth.probe_id.map(ranks(table))  # NaN: never selected
        for kind in (*[kd for kd in PLANTED_KINDS if (truth.kind == kd).any()], "all"):
            these = rank if kind == "all" else rank[truth.kind == kind]
            rows.append({"method": method, "kind": kind, "planted": len(these), "k": k,
                         "recovered_in_top_k": int((these <= k).sum()), "best_rank": these.min(),
                         "median_rank": _median_rank(these), "never_selected": int(these.isna().sum())})
    table = pd.DataFrame(rows)
    table["best_rank"] = table["best_rank"].astype("Int64")
    return table
