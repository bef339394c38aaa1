"""Apples-to-apples comparison of gene lists, and the genes two methods agree on."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.svm import SVC

from genesel.errors import DatasetError
from genesel.preprocess import StackedSplits
from genesel.ranking import no_half_kept, ranks
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
    return pd.DataFrame(rows, columns=["method", "split", "classifier", "k", "accuracy"])


#: tiers of the consensus table, in the order it lists them: which kinds of method found a gene (evidence about
#: the methods, not about the gene's biology: a plain mean shift can be found only by nonlinear methods too)
TIERS = ("found by every method", "found only by methods that can model interactions", "found only by linear methods",
         "found by some methods of each kind")


def found(table: pd.DataFrame) -> pd.Series:
    """By probe id, whether a method's gene table counts the gene as found: ``stable`` under stability
    selection where the table has it, else selected in at least half of the splits."""
    flag = table["stable"] if "stable" in table else table["selection_frequency"] >= 0.5
    return pd.Series(flag.to_numpy(bool), index=table.probe_id)


def consensus_tiers(genes: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Genes found by some method (:func:`found`), in tiers (:data:`TIERS`): found by every method; only by
    methods that can model interactions (spred, the MLPs, HSIC-Lasso); only by linear ones (spred's linear
    head, L1-logistic, limma); by some methods of each kind otherwise.

    Columns: probe, symbol, tier, the methods that found it, spred's head for it (where spred ran with
    both heads) and each method's selection probability (or frequency), then the descriptive
    statistics of the first table."""
    from genesel.registry import NONLINEAR_METHODS

    if not genes:
        return pd.DataFrame(columns=["probe_id", "gene_symbol", "tier", "found_by", "n_methods"])
    methods = list(genes)
    flags = pd.DataFrame({m: found(t) for m, t in genes.items()}).fillna(False).astype(bool)
    flags = flags[flags.any(axis=1)]
    nonlinear = [m for m in methods if m in NONLINEAR_METHODS]
    linear = [m for m in methods if m not in NONLINEAR_METHODS]
    by_nonlinear, by_linear = flags[nonlinear].any(axis=1), flags[linear].any(axis=1)
    tier = np.select([flags.all(axis=1), by_nonlinear & ~by_linear, by_linear & ~by_nonlinear],
                     list(TIERS[:3]), TIERS[3])
    first = next(iter(genes.values())).set_index("probe_id")
    annotation = {c: first.loc[flags.index, c].to_numpy() for c in ("entrez_id",) if c in first}
    out = pd.DataFrame({
        "probe_id": flags.index, "gene_symbol": first.loc[flags.index, "gene_symbol"].to_numpy(), **annotation,
        "tier": tier,
        "found_by": [", ".join(m for m in methods if row[m]) for _, row in flags.iterrows()],
        "n_methods": flags.sum(axis=1).to_numpy(),
    })
    if "spred" in genes and "head" in genes["spred"]:
        out["spred_head"] = out.probe_id.map(genes["spred"].set_index("probe_id")["head"]).fillna("").to_numpy()
    for m, table in genes.items():
        column = "selection_probability" if "selection_probability" in table else "selection_frequency"
        out[f"{column}_{m}"] = out.probe_id.map(table.set_index("probe_id")[column]).to_numpy()
    statistics = [c for c in first.columns if c.startswith(("log2fc_", "moderated_", "p_", "q_"))]
    out = out.join(first[statistics], on="probe_id")
    out["tier_order"] = out.tier.map({t: i for i, t in enumerate(TIERS)})
    out = out.sort_values(["tier_order", "n_methods"], ascending=[True, False], kind="stable")
    return out.drop(columns="tier_order").reset_index(drop=True)


#: the head of each list the overlap figure compares
OVERLAP_TOP = 50


def top_lists(genes: dict[str, pd.DataFrame], top: int = OVERLAP_TOP) -> dict[str, list[str]]:
    """Each method's first ``top`` ranked probes (never one without a rank), for the overlap figure."""
    return {method: table[table["rank"].notna()].head(top).probe_id.tolist() for method, table in genes.items()}


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
    median consensus rank of that kind's planted genes, how many no split selected
    (``never_selected``) and how many some split selected but no half of stability selection kept
    (``no_half_kept``). A gene without a rank (either) is not in the top k.
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
        rank = truth.probe_id.map(ranks(table))  # NaN: never selected, or no stability half kept it
        unkept = truth.probe_id.map(no_half_kept(table).set_axis(table.probe_id)).fillna(False).astype(bool)
        for kind in (*[kd for kd in PLANTED_KINDS if (truth.kind == kd).any()], "all"):
            these = (truth.kind == kind) | (kind == "all")
            rows.append({"method": method, "kind": kind, "planted": int(these.sum()), "k": k,
                         "recovered_in_top_k": int((rank[these] <= k).sum()), "best_rank": rank[these].min(),
                         "median_rank": _median_rank(rank[these]),
                         "never_selected": int((rank[these].isna() & ~unkept[these]).sum()),
                         "no_half_kept": int(unkept[these].sum())})
    table = pd.DataFrame(rows)
    table["best_rank"] = table["best_rank"].astype("Int64")
    return table
