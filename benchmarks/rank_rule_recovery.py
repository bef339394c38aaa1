"""Planted recovery of a finished demo run under the old and the new rank rule, from the same gene CSVs.

Old rule: every gene some split selected has a rank (consensus order: selection frequency, median rank, score).
New rule (issue 32): a gene no half of stability selection kept (selection probability 0) has none. Prints one
table per simulated dataset: planted genes in the top k, best / median rank of the planted genes, how many of
them have no rank and why, and how many genes of the method lost their rank.

    snakemake --cores 2 --configfile config/demo.yaml   # then, in the same folder:
    python benchmarks/rank_rule_recovery.py
"""

from __future__ import annotations

import glob
import sys

import pandas as pd

from genesel.compare import planted_recovery
from genesel.ranking import NO_HALF


def old_rule(table: pd.DataFrame) -> pd.DataFrame:
    """The table ranked as before: every gene some split selected, in consensus order."""
    order = table.sort_values(["selection_frequency", "median_rank", "score"], ascending=[False, True, False],
                              kind="stable")
    chosen = (order.selection_frequency > 0).to_numpy()
    ranks = pd.array([r if c else pd.NA for r, c in zip(chosen.cumsum(), chosen)], dtype="Int64")
    return order.assign(rank=ranks).drop(columns="selection_probability")


def compare(dataset: str) -> str:
    truth = pd.read_csv(f"resources/simulated/{dataset}_truth.tsv", sep="\t")
    new = {path.split("/")[-1][:-4]: pd.read_csv(path) for path in sorted(glob.glob(f"results/{dataset}/genes/*.csv"))
           if not path.endswith("tiers.csv")}
    before = planted_recovery({m: old_rule(t) for m, t in new.items()}, truth, dataset).query("kind == 'all'")
    after = planted_recovery(new, truth, dataset).query("kind == 'all'")
    before, after = before.set_index("method"), after.set_index("method")
    lines = [f"{dataset} (k = {len(truth)})", "",
             "| method | planted in top k, old -> new | best / median rank, old -> new "
             "| planted without rank: never selected / no half kept | genes that lost their rank |",
             "|---|---|---|---|---|"]
    for m in after.index:
        a, b = before.loc[m], after.loc[m]
        lines.append(f"| {m} | {a.recovered_in_top_k} -> {b.recovered_in_top_k} | {a.best_rank} / {a.median_rank:g} -> "
                     f"{b.best_rank} / {b.median_rank:g} | {b.never_selected} / {b.no_half_kept} "
                     f"| {int((new[m].status == NO_HALF).sum())} |")
    return "\n".join(lines)


if __name__ == "__main__":
    for name in sys.argv[1:] or ["GDSSIM1", "GDSSIM2", "GDSSIM3"]:
        print(compare(name) + "\n")
