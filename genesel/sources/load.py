"""The one entry from a source (file or accession) and a design to a :class:`~genesel.dataset.Dataset`."""

from __future__ import annotations

import os
import warnings
from pathlib import Path

from genesel.dataset import Dataset
from genesel.sources.annotation import annotate, collapse_to_genes, read_annotation
from genesel.sources.design import Design
from genesel.sources.download import resolve_source
from genesel.sources.gds import read_gds
from genesel.sources.h5ad import read_h5ad
from genesel.sources.series import read_series
from genesel.sources.sniff import sniff
from genesel.sources.table import read_expression_table


def load_dataset(
    source: str | os.PathLike,
    design: Design | str = "disease state",
    *,
    name: str | None = None,
    min_class_size: int = 3,
    label_mode: str = "single",
    platform: str | None = None,
    annotation: str | os.PathLike | None = None,
    collapse: str | None = None,
    sample_sheet: str | os.PathLike | None = None,
    symbol_column: str | None = None,
    cache_dir: str | os.PathLike = "resources/geo",
    base_url: str | None = None,
) -> Dataset:
    """Read a GDS, a GEO series (matrix or family), an ``.h5ad`` or an expression table + sample sheet.

    An accession (``GDS1815``, ``GSE14520``) is fetched into ``cache_dir`` first (a series' matrix
    of ``platform``). ``annotation`` (a GPL accession or file) gives symbols, Entrez ids and titles;
    a series family file brings its own; a series without either keeps probe ids, with a warning.
    ``collapse`` (``max_mean``/``max_variance``) keeps one probe per gene.
    """
    design = Design(design) if isinstance(design, str) else design
    if sample_sheet is not None:
        dataset = read_expression_table(source, sample_sheet, name, symbol_column, min_class_size, design)
    else:
        dataset = _read_file(resolve_source(source, cache_dir, base_url, platform), design, name,
                             min_class_size, label_mode, platform, symbol_column)
    if annotation is not None:
        table = read_annotation(resolve_source(annotation, cache_dir, base_url), dataset.name)
        dataset = annotate(dataset, table)
    elif not (dataset.gene_symbols != "").any():
        warnings.warn(f"{dataset.name}: no platform annotation; probe ids stand in for gene symbols "
                      "(set annotation: GPL... for symbols)", stacklevel=2)
    return collapse_to_genes(dataset, collapse) if collapse else dataset


def _read_file(path: Path, design: Design, name, min_class_size, label_mode, platform, symbol_column) -> Dataset:
    if path.suffix == ".h5ad":
        return read_h5ad(path, design, name, symbol_column, min_class_size)
    if path.is_file() and sniff(path).kind in ("!Series_", "^SERIES"):
        return read_series(path, design, min_class_size, name, platform)
    return read_gds(path, design.label, label_mode, min_class_size, name, design)
