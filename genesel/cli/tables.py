"""Table verbs: rank, summarize, compare, recovery, export, combine."""

from __future__ import annotations

import argparse
from pathlib import Path

from genesel.cli.common import write_atomic


def _cmd_rank(args: argparse.Namespace) -> None:
    from genesel.dataset import Dataset
    from genesel.ranking import gene_table
    from genesel.results import MethodResult
    from genesel.splits import load_splits
    from genesel.stability import StabilityResult

    dataset = Dataset.load(args.dataset)
    splits = load_splits(args.splits) if args.splits else None
    stability = StabilityResult.load(args.stability) if args.stability else None
    write_atomic(gene_table(MethodResult.load(args.fit), dataset, splits, stability), args.out, sep=",")


def _cmd_summarize(args: argparse.Namespace) -> None:
    import pandas as pd

    from genesel.dataset import Dataset
    from genesel.splits import load_splits
    from genesel.summary import held_out_ratio, majority_rates, paired_differences, summarize, to_markdown

    metrics = pd.concat([pd.read_csv(f, sep="\t") for f in args.metrics], ignore_index=True)
    majority, held_out = {}, {}
    for d, s in zip(args.datasets, args.splits):
        dataset, splits = Dataset.load(d), load_splits(s)
        majority[dataset.name] = float(majority_rates(dataset, splits).mean())
        held_out[dataset.name] = held_out_ratio(dataset, splits)
    table = summarize(metrics, majority)
    write_atomic(table, args.out_csv, sep=",")
    if args.out_paired:
        write_atomic(paired_differences(metrics, held_out), args.out_paired, sep=",")
    from genesel.io import atomic_path

    with atomic_path(args.out_md) as tmp:
        tmp.write_text(to_markdown(table))
    if args.run_info:
        from genesel.summary import run_info

        write_atomic(run_info(metrics), args.run_info, sep="\t")


def _cmd_combine(args: argparse.Namespace) -> None:
    import pandas as pd

    table = pd.concat([pd.read_csv(f, sep="\t") for f in args.inputs], ignore_index=True)
    write_atomic(table, args.out, sep="\t")


def _cmd_compare(args: argparse.Namespace) -> None:
    """Top-k retraining table and the genes spred and HSIC-Lasso agree on, for one dataset."""
    import json

    import pandas as pd

    from genesel.compare import consensus_tiers, topk_accuracy
    from genesel.dataset import Dataset
    from genesel.preprocess import stack_splits
    from genesel.results import MethodResult
    from genesel.splits import load_splits

    dataset = Dataset.load(args.dataset)
    results = {MethodResult.load(f).method: MethodResult.load(f) for f in args.fits}
    stacked = stack_splits(dataset, load_splits(args.splits), **json.loads(args.preprocess))  # as fitted
    write_atomic(topk_accuracy(results, stacked), args.topk, sep="\t")
    genes = {Path(g).stem: pd.read_csv(g) for g in args.genes}
    write_atomic(consensus_tiers(genes), args.tiers, sep=",")


def _cmd_recovery(args: argparse.Namespace) -> None:
    import pandas as pd

    from genesel.compare import planted_recovery

    genes = {Path(path).stem: pd.read_csv(path) for path in args.genes}
    table = planted_recovery(genes, pd.read_csv(args.truth, sep="\t"), dataset=args.name)
    write_atomic(table, args.out, sep=",")
    print(table.to_string(index=False))


def _cmd_export(args: argparse.Namespace) -> None:
    import pandas as pd

    from genesel.dataset import Dataset
    from genesel.export import write_results_h5ad
    from genesel.splits import load_splits

    genes = {Path(path).stem: pd.read_csv(path) for path in args.genes}
    print(write_results_h5ad(Dataset.load(args.dataset), load_splits(args.splits), genes, args.out))


def add_table_verbs(sub) -> None:
    """rank, summarize, compare, recovery, export, combine: tables."""
    p = sub.add_parser("rank", help="ranked gene table of one fitted method")
    p.add_argument("--dataset", required=True)
    p.add_argument("--fit", required=True)
    p.add_argument("--splits", help="splits.tsv: adds held-out p-values (each split's test arrays)")
    p.add_argument("--stability", help="the method's stability .npz: adds selection probability and stable")
    p.add_argument("--out", required=True)
    p.set_defaults(func=_cmd_rank)

    p = sub.add_parser("summarize", help="dataset x method accuracy table")
    p.add_argument("--metrics", nargs="+", required=True)
    p.add_argument("--datasets", nargs="+", required=True)
    p.add_argument("--splits", nargs="+", required=True)
    p.add_argument("--out-csv", required=True)
    p.add_argument("--out-md", required=True)
    p.add_argument("--run-info", help="TSV of software versions and devices used")
    p.add_argument("--out-paired", help="CSV: every pair of methods per dataset, their accuracy difference over the "
                   "splits with a corrected t-test")
    p.set_defaults(func=_cmd_summarize)

    p = sub.add_parser("compare", help="top-k retraining and consensus tiers of one dataset")
    p.add_argument("--dataset", required=True)
    p.add_argument("--splits", required=True)
    p.add_argument("--fits", nargs="+", required=True)
    p.add_argument("--genes", nargs="+", required=True, help="ranked gene CSVs named {method}.csv")
    p.add_argument("--preprocess", default="{}", help="per-split preprocessing settings as JSON, as given to select")
    p.add_argument("--topk", required=True, help="top-k retraining table (TSV) to write")
    p.add_argument("--tiers", required=True, help="consensus tiers of the genes (CSV) to write")
    p.set_defaults(func=_cmd_compare)

    p = sub.add_parser("recovery", help="simulated data: planted genes in each method's consensus top k")
    p.add_argument("--truth", required=True, help="truth TSV written by simulate")
    p.add_argument("--name", default=None, help="dataset name for messages")
    p.add_argument("--genes", nargs="+", required=True, help="ranked gene CSVs named {method}.csv")
    p.add_argument("--out", required=True)
    p.set_defaults(func=_cmd_recovery)

    p = sub.add_parser("export", help="a dataset's expression, splits and every method's gene results as .h5ad")
    p.add_argument("--dataset", required=True)
    p.add_argument("--splits", required=True)
    p.add_argument("--genes", nargs="+", required=True, help="ranked gene CSVs named {method}.csv")
    p.add_argument("--out", required=True, help="the .h5ad to write")
    p.set_defaults(func=_cmd_export)

    p = sub.add_parser("combine", help="concatenate per-method metric tables (TSV)")
    p.add_argument("--inputs", nargs="+", required=True)
    p.add_argument("--out", required=True)
    p.set_defaults(func=_cmd_combine)
