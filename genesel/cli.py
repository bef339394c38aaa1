"""The ``genesel`` command line: fetch, inspect, simulate, prepare, select, rank, summarize, combine, compare,
recovery, figures, gene-figures, export and plan; each verb parses its arguments and makes one call into the library."""

from __future__ import annotations

import argparse
import logging
import sys
import warnings
from pathlib import Path

from genesel.errors import GeneselError


def _cmd_fetch(args: argparse.Namespace) -> None:
    from genesel.sources.download import fetch_annotation, fetch_geo

    options = {"base_url": args.base_url, "retries": args.retries, "timeout": args.timeout}
    for accession in args.accessions:
        if accession.startswith("GPL"):
            print(fetch_annotation(accession, args.cache, **options))
        else:
            print(fetch_geo(accession, args.cache, platform=args.platform, **options))


def _cmd_inspect(args: argparse.Namespace) -> None:
    from genesel.sources.download import resolve_source
    from genesel.sources.overview import format_summary, summarize

    path = resolve_source(args.source, args.cache, args.base_url, args.platform)
    print(format_summary(summarize(path, platform=args.platform)))


def _cmd_simulate(args: argparse.Namespace) -> None:
    from genesel.simulate import simulate_gds

    sim = simulate_gds(
        args.out, name=args.name, n_samples=args.samples, n_probes=args.probes, n_classes=args.classes,
        n_linear=args.linear, n_xor_pairs=args.xor_pairs, n_variance=args.variance, effect=args.effect,
        missing_rate=args.missing_rate, seed=args.seed, patient_effect=args.patient_effect,
    )
    print(sim.soft_path)
    print(sim.truth_path)


def _pairs(items: list[str], option: str) -> list[tuple[str, str]]:
    """``KEY=VALUE`` command-line items -> pairs; a malformed item is a usage error."""
    pairs = [item.partition("=")[::2] for item in items]
    bad = [item for item, (key, value) in zip(items, pairs) if not key or not value]
    if bad:
        raise SystemExit(f"genesel: error: {option} expects KEY=VALUE, got {bad[0]!r}")
    return pairs


def _design(args: argparse.Namespace):
    from genesel.sources.design import Design

    where: dict[str, list[str]] = {}
    for key, value in _pairs(args.where, "--where"):
        where.setdefault(key, []).append(value)
    return Design(args.label, where, dict(_pairs(args.rename, "--rename")), args.group, args.group_pattern)


def _cmd_prepare(args: argparse.Namespace) -> None:
    from genesel.sources.load import load_dataset
    from genesel.splits import make_splits, save_splits

    dataset = load_dataset(
        args.source, _design(args), name=args.name, min_class_size=args.min_class_size, label_mode=args.label_mode,
        platform=args.platform, annotation=args.annotation, collapse=args.collapse, sample_sheet=args.sample_sheet,
        symbol_column=args.symbol_column, cache_dir=args.cache, base_url=args.base_url,
    )
    if args.exclude_controls:
        dataset = dataset.drop_control_probes()
    if args.class_order:
        dataset = dataset.reorder_classes(args.class_order)
    grouped_by = dataset.metadata.get("group")
    splits = make_splits(dataset.sample_ids, dataset.y, n_splits=args.splits, seed=args.seed,
                         groups=dataset.groups if grouped_by else None, class_names=dataset.class_names,
                         name=dataset.name)
    dataset.save(args.dataset_out)
    save_splits(splits, args.splits_out)
    grouped = f", {len(set(dataset.groups))} groups ({grouped_by!r})" if grouped_by else ""
    print(f"{dataset.name}: {dataset.n_samples} arrays x {dataset.n_probes} probes{grouped}, classes {dataset.class_counts()}")


def _fit_inputs(args: argparse.Namespace):
    """select and stability: torch threads set, the dataset, the method's settings and its preprocessing."""
    import json

    from genesel.dataset import Dataset

    if args.threads:  # before the numerical libraries load: torch's, OpenMP's and BLAS's threads
        import os

        for variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
            os.environ[variable] = str(args.threads)
        if "torch" in sys.modules:  # already loaded (main() called in-process); limma and L1 never load it
            sys.modules["torch"].set_num_threads(args.threads)
    params = json.loads(args.params) if args.params else {}
    return Dataset.load(args.dataset), params, params.pop("preprocess", {})


def _cmd_select(args: argparse.Namespace) -> None:
    from genesel.experiment import run_method
    from genesel.preprocess import stack_splits
    from genesel.splits import load_splits

    dataset, params, preprocess = _fit_inputs(args)
    stacked = stack_splits(dataset, load_splits(args.splits), **preprocess)
    result = run_method(args.method, dataset, stacked, params, device=args.device, seed=args.seed)
    result.save(args.out)
    m = result.metrics
    print(f"{dataset.name} {args.method}: test accuracy {m.accuracy.mean():.3f} +- {m.accuracy.std():.3f}, "
          f"{m.n_selected.mean():.0f} genes selected on average, device {m.device.iloc[0]}")


def _cmd_stability(args: argparse.Namespace) -> None:
    from genesel.results import MethodResult
    from genesel.stability import run_stability

    dataset, params, preprocess = _fit_inputs(args)
    result = run_stability(args.method, dataset, params, MethodResult.load(args.fit).metrics, preprocess,
                           pairs=args.pairs, threshold=args.threshold, max_false=args.max_false,
                           device=args.device, seed=args.seed)
    result.save(args.out)
    info = result.summary()
    print(f"{dataset.name} {args.method}: {info['n_stable']} stable genes at selection probability >= "
          f"{info['threshold']} ({info['pairs']} complementary pairs, q = {info['q']}); expected false "
          f"selections <= {info['bound']:.2f}")


def _cmd_rank(args: argparse.Namespace) -> None:
    from genesel.dataset import Dataset
    from genesel.ranking import gene_table
    from genesel.results import MethodResult
    from genesel.splits import load_splits
    from genesel.stability import StabilityResult

    dataset = Dataset.load(args.dataset)
    splits = load_splits(args.splits) if args.splits else None
    stability = StabilityResult.load(args.stability) if args.stability else None
    _write_atomic(gene_table(MethodResult.load(args.fit), dataset, splits, stability), args.out, sep=",")


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
    _write_atomic(table, args.out_csv, sep=",")
    if args.out_paired:
        _write_atomic(paired_differences(metrics, held_out), args.out_paired, sep=",")
    from genesel.io import atomic_path

    with atomic_path(args.out_md) as tmp:
        tmp.write_text(to_markdown(table))
    if args.run_info:
        from genesel.summary import run_info

        _write_atomic(run_info(metrics), args.run_info, sep="\t")


def _cmd_combine(args: argparse.Namespace) -> None:
    import pandas as pd

    table = pd.concat([pd.read_csv(f, sep="\t") for f in args.inputs], ignore_index=True)
    _write_atomic(table, args.out, sep="\t")


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
    _write_atomic(topk_accuracy(results, stacked), args.topk, sep="\t")
    genes = {Path(g).stem: pd.read_csv(g) for g in args.genes}
    _write_atomic(consensus_tiers(genes), args.tiers, sep=",")


def _cmd_figures(args: argparse.Namespace) -> None:
    """Accuracy, top-k, overlap and spred training figures of one dataset."""
    import pandas as pd

    from genesel.compare import OVERLAP_TOP, top_lists
    from genesel.dataset import Dataset
    from genesel.figures import comparison_figures
    from genesel.results import MethodResult
    from genesel.splits import load_splits
    from genesel.summary import majority_rates

    dataset = Dataset.load(args.dataset)
    genes = {Path(g).stem: pd.read_csv(g) for g in args.genes}
    spred = next((MethodResult.load(f) for f in args.fits if Path(f).stem == "spred"), None)
    majority = float(majority_rates(dataset, load_splits(args.splits)).mean())
    comparison_figures(dataset, pd.read_csv(args.metrics, sep="\t"), majority, pd.read_csv(args.topk, sep="\t"),
                       top_lists(genes, OVERLAP_TOP), OVERLAP_TOP, spred.history if spred else None, args.out)


def _cmd_recovery(args: argparse.Namespace) -> None:
    import pandas as pd

    from genesel.compare import planted_recovery

    genes = {Path(path).stem: pd.read_csv(path) for path in args.genes}
    table = planted_recovery(genes, pd.read_csv(args.truth, sep="\t"), dataset=args.name)
    _write_atomic(table, args.out, sep=",")
    print(table.to_string(index=False))


def _cmd_gene_figures(args: argparse.Namespace) -> None:
    import pandas as pd

    from genesel.dataset import Dataset
    from genesel.genefigures import gene_figures
    from genesel.stability import StabilityResult

    stability = StabilityResult.load(args.stability) if args.stability else None
    gene_figures(Dataset.load(args.dataset), pd.read_csv(args.genes), args.method, stability,
                 {"frequency": args.frequency, "heatmap": args.heatmap, "stability": args.stability_path})


def _cmd_candidates(args: argparse.Namespace) -> None:
    """The candidate-gene page of one dataset, its volcano, boxplots, gene pairs and confusion matrices."""
    import pandas as pd

    from genesel.candidates import method_of, write_candidates
    from genesel.dataset import Dataset
    from genesel.results import MethodResult
    from genesel.stability import StabilityResult

    stability = {s.method: s.summary() for s in map(StabilityResult.load, args.stability)}
    predictions = {r.method: r.predictions for r in map(MethodResult.load, args.fits)}
    write_candidates(Dataset.load(args.dataset), {method_of(g): pd.read_csv(g) for g in args.genes},
                     pd.read_csv(args.tiers), stability, predictions,
                     {k: getattr(args, k) for k in ("page", "volcano", "boxplots", "pairs", "confusion")})


def _cmd_overview(args: argparse.Namespace) -> None:
    """The report's landing: genes to validate, headline, every result, methods paragraph, config, glossary."""
    import json

    import pandas as pd

    from genesel.dataset import Dataset
    from genesel.overview import write_landing
    from genesel.pages import write_glossary
    from genesel.stability import StabilityResult

    stability = pd.DataFrame([{"dataset": name, **StabilityResult.load(f).summary()}
                              for name, f in _pairs(args.stability, "--stability")],
                             columns=["dataset", "method", "n_stable", "bound", "q"])
    tiers = {name: pd.read_csv(f) for name, f in _pairs(args.tiers, "--tiers")}
    links = dict(_pairs(args.candidates, "--candidates"))  # the candidate pages the overview links to
    paired = pd.read_csv(args.paired) if args.paired else None
    versions = pd.read_csv(args.run_info, sep="\t") if args.run_info else pd.DataFrame(columns=["item", "value"])
    write_landing(pd.read_csv(args.summary), paired, [Dataset.load(d) for d in args.datasets], stability, tiers,
                  json.loads(args.config) if args.config else {}, versions, links,
                  {"overview": args.out, "landing": args.landing, "methods": args.methods, "config": args.config_out})
    write_glossary(args.glossary)


def _cmd_export(args: argparse.Namespace) -> None:
    import pandas as pd

    from genesel.dataset import Dataset
    from genesel.export import write_results_h5ad
    from genesel.splits import load_splits

    genes = {Path(path).stem: pd.read_csv(path) for path in args.genes}
    print(write_results_h5ad(Dataset.load(args.dataset), load_splits(args.splits), genes, args.out))


def _cmd_plan(args: argparse.Namespace) -> None:
    import yaml

    from genesel.plan import format_plan, over_budget, plan_config
    from genesel.throughput import measure

    with open(args.configfile) as fh:
        config = yaml.safe_load(fh) or {}
    throughput = measure(args.device or str(config.get("device", "auto")), args.threads, refresh=args.remeasure)
    plan = plan_config(config, throughput)
    print(format_plan(plan, throughput))
    if args.out:
        _write_atomic(plan, args.out, sep="\t")
    message = over_budget(plan, config, args.configfile, plan_file=args.out)
    print(f"over budget: {message}" if message else "within budget_hours")


def _cmd_timing(args: argparse.Namespace) -> None:
    import pandas as pd

    from genesel.plan import timing_table

    files = {(dataset, method, job): path for dataset, method, job, path in args.benchmark}
    _write_atomic(timing_table(pd.read_csv(args.plan, sep="\t"), files), args.out, sep="\t")


def _write_atomic(table, path, sep: str) -> None:
    from genesel.io import write_table

    write_table(table, path, sep=sep)


def _geo_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--cache", default="resources/geo", help="download cache folder (default: %(default)s)")
    p.add_argument("--base-url", default=None, help="GEO's root URL, the folder holding datasets/, series/ and "
                   "platforms/ (default: $GENESEL_GEO_URL or https://ftp.ncbi.nlm.nih.gov/geo)")
    p.add_argument("--platform", default=None, metavar="GPL",
                   help="a series on several platforms: the platform whose matrix to use")


def _add_data_verbs(sub) -> None:
    """fetch, inspect, simulate, prepare: from GEO or a file to a dataset and its splits."""
    p = sub.add_parser("fetch", help="download GDS full SOFT files, series matrices or platform annotations")
    p.add_argument("accessions", nargs="+", metavar="GDS|GSE|GPL")
    _geo_options(p)
    p.add_argument("--retries", type=int, default=3)
    p.add_argument("--timeout", type=float, default=60.0, help="seconds without data before a try fails")
    p.set_defaults(func=_cmd_fetch)

    p = sub.add_parser("inspect", help="summarise a GDS or series (file or accession) before choosing its label")
    p.add_argument("source", metavar="FILE_OR_ACCESSION")
    _geo_options(p)
    p.set_defaults(func=_cmd_inspect)

    p = sub.add_parser("simulate", help="write a realistic GDS SOFT file with planted informative genes")
    p.add_argument("--out", default="resources/simulated")
    p.add_argument("--name", default="GDSSIM1")
    p.add_argument("--samples", type=int, default=120)
    p.add_argument("--probes", type=int, default=2000)
    p.add_argument("--classes", type=int, default=3)
    p.add_argument("--linear", type=int, default=6, help="planted genes with a class mean shift")
    p.add_argument("--xor-pairs", type=int, default=3, help="planted gene pairs with a purely nonlinear (XOR) effect")
    p.add_argument("--variance", type=int, default=2, help="planted genes with a variance (quadratic) effect")
    p.add_argument("--effect", type=float, default=2.0)
    p.add_argument("--missing-rate", type=float, default=0.002)
    p.add_argument("--patient-effect", type=float, default=0.0,
                   help="arrays come from patients (about 4 each, one class) with a profile of this SD (log2)")
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=_cmd_simulate)

    p = sub.add_parser("prepare", help="read a dataset with one label per sample and write it with its splits")
    p.add_argument("source", metavar="FILE_OR_ACCESSION",
                   help="GDS or series file or accession, .h5ad, or expression table")
    p.add_argument("--sample-sheet", help="with an expression table: TSV/CSV with a column sample and the label column")
    p.add_argument("--symbol-column", help="expression table column or .h5ad var column holding gene symbols")
    p.add_argument("--name", default=None)
    p.add_argument("--label", "--label-type", dest="label", default=None,
                   help="GDS subset type, series characteristics key (or title, source_name), sample sheet or "
                        "obs column giving the class (default: 'disease state'; 'label' with a sample sheet)")
    p.add_argument("--where", action="append", default=[], metavar="KEY=VALUE",
                   help="keep only arrays with this value (repeat for several values or keys)")
    p.add_argument("--rename", action="append", default=[], metavar="OLD=NEW",
                   help="rename a class; two values renamed alike merge")
    p.add_argument("--class-order", action="append", default=[], metavar="CLASS",
                   help="classes in this order (repeat; the first is the reference of fold changes); others follow "
                        "alphabetically")
    p.add_argument("--group", default=None, metavar="KEY",
                   help="subset type, characteristics key or column naming the patient: its arrays stay in one part "
                        "(default: a key named like a patient, e.g. 'individual', whose values repeat; 'none': no groups)")
    p.add_argument("--group-pattern", default=None, metavar="REGEX",
                   help="derive the group from the KEY value: the first capture group (else the match)")
    p.add_argument("--annotation", default=None, metavar="GPL_OR_FILE", help="platform annotation for gene symbols")
    p.add_argument("--collapse", choices=["max_mean", "max_variance"], default=None,
                   help="keep one probe per gene symbol")
    p.add_argument("--label-mode", choices=["single", "paper"], default="single",
                   help="'paper' reproduces the reference code's flawed duplicated rows")
    p.add_argument("--min-class-size", type=int, default=3)
    p.add_argument("--keep-controls", dest="exclude_controls", action="store_false",
                   help="keep AFFX- control probes")
    p.add_argument("--splits", type=int, default=20)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--dataset-out", required=True)
    p.add_argument("--splits-out", required=True)
    _geo_options(p)
    p.set_defaults(func=_cmd_prepare)


def _add_fit_verbs(sub) -> None:
    """select: one method on every split."""
    from genesel.registry import METHODS

    p = sub.add_parser("select", help="fit one method on every split of a prepared dataset")
    p.add_argument("--method", required=True, choices=METHODS)
    p.add_argument("--dataset", required=True, help="dataset.npz written by prepare")
    p.add_argument("--splits", required=True, help="splits.tsv written by prepare")
    p.add_argument("--params", default="", help="the method's settings as JSON")
    p.add_argument("--device", default="auto", help="auto (CUDA when present), cpu or cuda")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=0, help="CPU threads for torch, OpenMP and BLAS (0: their default)")
    p.add_argument("--out", required=True, help="fit .npz; per-split tables are written beside it")
    p.set_defaults(func=_cmd_select)

    p = sub.add_parser("stability", help="stability selection (complementary pairs) of one fitted method")
    p.add_argument("--method", required=True, choices=METHODS)
    p.add_argument("--dataset", required=True, help="dataset.npz written by prepare")
    p.add_argument("--fit", required=True, help="the method's fit .npz (its chosen regularisation is reused)")
    p.add_argument("--params", default="", help="the method's settings as JSON")
    p.add_argument("--pairs", type=int, default=25, help="complementary pairs of halves (default: %(default)s)")
    p.add_argument("--threshold", type=float, default=0.75, help="selection probability for stable (0.5, 1]")
    p.add_argument("--max-false", type=float, default=1.0,
                   help="error level: the expected number of false stable genes is bounded by this")
    p.add_argument("--device", default="auto")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=0)
    p.add_argument("--out", required=True, help="stability .npz to write")
    p.set_defaults(func=_cmd_stability)


def _add_table_verbs(sub) -> None:
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


def _add_report_verbs(sub) -> None:
    """figures, candidates, overview, gene-figures: the report's figures and pages."""
    p = sub.add_parser("figures", help="accuracy, top-k, overlap and spred training figures of one dataset")
    p.add_argument("--dataset", required=True)
    p.add_argument("--splits", required=True)
    p.add_argument("--metrics", required=True)
    p.add_argument("--topk", required=True)
    p.add_argument("--fits", nargs="+", required=True)
    p.add_argument("--genes", nargs="+", required=True, help="ranked gene CSVs named {method}.csv")
    p.add_argument("--out", required=True, help="figures folder of the dataset")
    p.set_defaults(func=_cmd_figures)

    p = sub.add_parser("candidates", help="candidate-gene page and gene figures of one dataset")
    p.add_argument("--dataset", required=True)
    p.add_argument("--genes", nargs="+", required=True, help="ranked gene CSVs named {method}.csv")
    p.add_argument("--tiers", required=True, help="consensus tiers CSV written by compare")
    p.add_argument("--stability", nargs="*", default=[], help="stability .npz files of the methods")
    p.add_argument("--fits", nargs="+", required=True, help="fit .npz files (their predictions)")
    for name in ("page", "volcano", "boxplots", "pairs", "confusion"):
        p.add_argument(f"--{name}", required=True)
    p.set_defaults(func=_cmd_candidates)

    p = sub.add_parser("overview", help="the report's landing: genes to validate, headline, every result, methods")
    p.add_argument("--summary", required=True, help="accuracy.csv written by summarize")
    p.add_argument("--datasets", nargs="+", required=True)
    p.add_argument("--stability", nargs="*", default=[], metavar="DATASET=NPZ", help="each method's stability .npz")
    p.add_argument("--tiers", nargs="*", default=[], metavar="DATASET=CSV", help="consensus tiers written by compare")
    p.add_argument("--candidates", nargs="*", default=[], metavar="DATASET=HTML",
                   help="candidate pages as the report names them (the landing page links to them)")
    p.add_argument("--paired", help="paired.csv written by summarize: each method against the best")
    p.add_argument("--run-info", help="run_info.tsv written by summarize: software versions")
    p.add_argument("--config", default="", help="the run's config as JSON")
    p.add_argument("--out", required=True, help="overview page (HTML)")
    p.add_argument("--landing", required=True, help="the landing page's generated part (HTML)")
    p.add_argument("--methods", required=True, help="methods paragraph (text)")
    p.add_argument("--config-out", required=True, help="the config (YAML)")
    p.add_argument("--glossary", required=True, help="glossary page (HTML)")
    p.set_defaults(func=_cmd_overview)

    p = sub.add_parser("gene-figures", help="selection frequency, heatmap and stability path of one method's genes")
    p.add_argument("--dataset", required=True)
    p.add_argument("--genes", required=True)
    p.add_argument("--method", required=True)
    p.add_argument("--frequency", required=True)
    p.add_argument("--heatmap", required=True)
    p.add_argument("--stability", help="the method's stability .npz")
    p.add_argument("--stability-path", help="stability path figure to write (with --stability)")
    p.set_defaults(func=_cmd_gene_figures)


def _add_plan_verb(sub) -> None:
    p = sub.add_parser("plan", help="the cost of a config before any work: fits, FLOP, memory, time per job")
    p.add_argument("--configfile", required=True, help="a workflow config (config/config.yaml, config/demo.yaml, ...)")
    p.add_argument("--device", default=None, help="auto, cpu or cuda (default: the config's device)")
    p.add_argument("--threads", type=int, default=None, help="CPU threads of a fitting job (default: torch's)")
    p.add_argument("--remeasure", action="store_true", help="measure the rates again rather than reuse today's")
    p.add_argument("--out", default=None, help="TSV of every job's prediction")
    p.set_defaults(func=_cmd_plan)

    p = sub.add_parser("timing", help="each job's predicted time (plan.tsv) against its measured time")
    p.add_argument("--plan", required=True, help="results/summary/plan.tsv written before the run")
    p.add_argument("--benchmark", nargs=4, action="append", default=[], metavar=("DATASET", "METHOD", "JOB", "TSV"),
                   help="a job's Snakemake benchmark file (JOB: select or stability); repeat")
    p.add_argument("--out", required=True)
    p.set_defaults(func=_cmd_timing)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="genesel", description="Nonlinear gene selection for microarray data.")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress")
    sub = parser.add_subparsers(dest="command", required=True)
    _add_data_verbs(sub)
    _add_fit_verbs(sub)
    _add_table_verbs(sub)
    _add_report_verbs(sub)
    _add_plan_verb(sub)
    return parser


def format_warning(message, category, filename, lineno, line=None) -> str:
    """genesel's own warnings (plain ``UserWarning`` raised from its code) as ``genesel: warning:``;
    a library's warning keeps its category and origin, so it is never taken for genesel's."""
    if category is UserWarning and "genesel" in str(filename):
        return f"genesel: warning: {message}\n"
    return f"{category.__name__} (from {Path(filename).name}:{lineno}): {message}\n"


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``genesel`` console script."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(message)s")
    warnings.formatwarning = format_warning
    for category in (FutureWarning, DeprecationWarning, PendingDeprecationWarning):  # a library's, not the user's
        warnings.filterwarnings("ignore", category=category)
    try:
        args.func(args)
    except GeneselError as exc:
        print(f"genesel: error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
