"""The ``genesel`` command line; each verb parses its arguments and makes one call into the library.

The verbs by job, one module each: :mod:`~genesel.cli.data` (fetch, inspect, simulate, prepare),
:mod:`~genesel.cli.fitting` (select, stability), :mod:`~genesel.cli.tables` (rank, summarize, compare, recovery,
export, combine), :mod:`~genesel.cli.report` (figures, gene-figures, candidates, overview) and
:mod:`~genesel.cli.plan` (plan, timing); here the parser that gathers them and :func:`main`."""

from __future__ import annotations

import argparse
import logging
import sys
import warnings
from pathlib import Path

from genesel.cli.data import add_data_verbs
from genesel.cli.fitting import add_fit_verbs
from genesel.cli.plan import add_plan_verbs
from genesel.cli.report import add_report_verbs
from genesel.cli.tables import add_table_verbs
from genesel.errors import GeneselError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="genesel", description="Nonlinear gene selection for microarray data.")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress")
    sub = parser.add_subparsers(dest="command", required=True)
    add_data_verbs(sub)
    add_fit_verbs(sub)
    add_table_verbs(sub)
    add_report_verbs(sub)
    add_plan_verbs(sub)
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
