"""The one entry from a source (file or accession) and a design to a :class:`~genesel.dataset.Dataset`."""

from __future__ import annotations

import os
import warnings

from genesel.dataset import Dataset
from genesel.sources.annotation import annotate, collapse_to_genes, read_annotation
from genesel.sources.cache import removing_damaged_downloads
from genesel.sources.design import Design
from genesel.sources.download import resolve_source
from genesel.sources.readers import READERS
from genesel.sources.sniff import file_kind


def load_dataset(
    source: str | os.PathLike,
    design: Design | str | None = None,
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
    """Read a GDS, a GEO series (matrix or family), an ``.h5ad`` or an expression table + sample sheet
    (the reader from :data:`~genesel.sources.readers.READERS`, by :func:`~genesel.sources.sniff.file_kind`).

    An accession (``GDS1815``, ``GSE14520``) is fetched into ``cache_dir`` first (a series' matrix
    of ``platform``). ``annotation`` (a GPL accession or file) gives symbols, Entrez ids and titles;
    a series family file brings its own; a series without either keeps probe ids, with a warning.
    ``collapse`` (``max_mean``/``max_variance``) keeps one probe per gene. A damaged file that genesel
    downloaded is removed from the cache (:mod:`genesel.sources.cache`); a user's own file never is.
    """
    path = source if sample_sheet is not None else resolve_source(source, cache_dir, base_url, platform)
    kind = file_kind(path, sample_sheet)
    options = {"name": name, "min_class_size": min_class_size, "label_mode": label_mode, "platform": platform,
               "symbol_column": symbol_column, "sample_sheet": None if sample_sheet is None else str(sample_sheet)}
    with removing_damaged_downloads():
        dataset = READERS[kind].read(path, design, **options)
    if annotation is not None:
        with removing_damaged_downloads():
            table = read_annotation(resolve_source(annotation, cache_dir, base_url), dataset.name)
        dataset = annotate(dataset, table)
    elif not (dataset.gene_symbols != "").any():
        warnings.warn(f"{dataset.name}: no platform annotation; probe ids stand in for gene symbols "
                      "(set annotation: GPL... for symbols)", stacklevel=2)
    return collapse_to_genes(dataset, collapse) if collapse else dataset
