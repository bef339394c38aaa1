"""Report verbs: figures, candidates, overview, gene-figures (the report's figures and pages)."""

from __future__ import annotations

import argparse
from pathlib import Path

from genesel.cli.common import key_value_pairs


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
                              for name, f in key_value_pairs(args.stability, "--stability")],
                             columns=["dataset", "method", "n_stable", "bound", "q"])
    tiers = {name: pd.read_csv(f) for name, f in key_value_pairs(args.tiers, "--tiers")}
    links = dict(key_value_pairs(args.candidates, "--candidates"))  # the candidate pages the overview links to
    paired = pd.read_csv(args.paired) if args.paired else None
    versions = pd.read_csv(args.run_info, sep="\t") if args.run_info else pd.DataFrame(columns=["item", "value"])
    write_landing(pd.read_csv(args.summary), paired, [Dataset.load(d) for d in args.datasets], stability, tiers,
                  json.loads(args.config) if args.config else {}, versions, links,
                  {"overview": args.out, "landing": args.landing, "methods": args.methods, "config": args.config_out})
    write_glossary(args.glossary)


def add_report_verbs(sub) -> None:
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
