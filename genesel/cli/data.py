"""Data verbs: fetch, inspect, simulate, prepare (from GEO or a file to a dataset and its splits)."""

from __future__ import annotations

import argparse

from genesel.cli.common import geo_options, key_value_pairs


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


def _design(args: argparse.Namespace):
    from genesel.sources.design import Design

    where: dict[str, list[str]] = {}
    for key, value in key_value_pairs(args.where, "--where"):
        where.setdefault(key, []).append(value)
    return Design(args.label, where, dict(key_value_pairs(args.rename, "--rename")), args.group, args.group_pattern)


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


def add_data_verbs(sub) -> None:
    """fetch, inspect, simulate, prepare: from GEO or a file to a dataset and its splits."""
    _add_fetch_and_inspect(sub)
    _add_simulate(sub)
    _add_prepare(sub)


def _add_fetch_and_inspect(sub) -> None:
    p = sub.add_parser("fetch", help="download GDS full SOFT files, series matrices or platform annotations")
    p.add_argument("accessions", nargs="+", metavar="GDS|GSE|GPL")
    geo_options(p)
    p.add_argument("--retries", type=int, default=3)
    p.add_argument("--timeout", type=float, default=60.0, help="seconds without data before a try fails")
    p.set_defaults(func=_cmd_fetch)

    p = sub.add_parser("inspect", help="summarise a GDS or series (file or accession) before choosing its label")
    p.add_argument("source", metavar="FILE_OR_ACCESSION")
    geo_options(p)
    p.set_defaults(func=_cmd_inspect)


def _add_simulate(sub) -> None:
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


def _add_prepare(sub) -> None:
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
    geo_options(p)
    p.set_defaults(func=_cmd_prepare)
