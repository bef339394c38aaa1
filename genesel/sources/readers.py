"""The table of readers: one entry per kind of input, each with the one reader signature
``read(path, design, **options) -> Dataset`` (options: :class:`~genesel.sources.design.ReadOptions`)
and, for GEO files, the summary ``inspect`` prints. :func:`~genesel.sources.sniff.file_kind` decides
the kind; :func:`~genesel.sources.load.load_dataset` and :func:`~genesel.sources.overview.summarize`
look it up here. Adding an input format: its module under ``sources/``, one entry here, one kind in
``file_kind``; every reader calls the integrity contract (:mod:`genesel.sources.integrity`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from genesel.sources.gds import read_gds
from genesel.sources.h5ad import read_h5ad
from genesel.sources.overview import summarize_gds, summarize_series
from genesel.sources.series import read_series
from genesel.sources.table import read_expression_table


@dataclass(frozen=True)
class Reader:
    """How one kind of input is read, and summarised for ``inspect`` (None: not a GEO file)."""

    what: str
    read: Callable
    summarize: Callable | None = None


READERS: dict[str, Reader] = {
    "gds": Reader("GDS full SOFT file", read_gds, summarize_gds),
    "series": Reader("GEO series matrix or family SOFT file", read_series, summarize_series),
    "h5ad": Reader("AnnData .h5ad file", read_h5ad),
    "table": Reader("expression table with a sample sheet", read_expression_table),
}
