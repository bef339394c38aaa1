"""GEO platform (GPL) annotation: probe -> gene symbol, Entrez Gene id and gene title.

Reads the platform table of a GPL family SOFT file (``GPL96_family.soft.gz``, or the plain
``GPL96.txt`` GEO's "full table" view gives), of GEO's ``GPL….annot.gz`` annotation file, or the
platform table a series family file carries. GEO spells the columns differently in each
(``Gene Symbol`` / ``Gene symbol``, ``ENTREZ_GENE_ID`` / ``Gene ID``); a probe that maps to several
genes keeps every symbol, joined by `` /// `` as GEO writes them.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from genesel.dataset import Dataset
from genesel.errors import DatasetError
from genesel.sources.design import normalise
from genesel.sources.integrity import read_table, scan_text

#: accepted spellings of each annotation column, first match wins
COLUMNS = {
    "gene_symbol": ("Gene Symbol", "Gene symbol", "GENE_SYMBOL", "Symbol", "IDENTIFIER"),
    "entrez_id": ("ENTREZ_GENE_ID", "Gene ID", "Entrez_Gene_ID", "ENTREZ_ID", "GENE"),
    "gene_title": ("Gene Title", "Gene title", "GENE_NAME", "Definition"),
}
COLLAPSE = ("max_mean", "max_variance")


def platform_table(path: str | os.PathLike, name: str) -> pd.DataFrame:
    """The table between ``!platform_table_begin`` and ``!platform_table_end`` as strings."""
    path = Path(path)
    if not path.is_file():
        raise DatasetError(name, f"annotation file not found: {path}")
    table = scan_text(path, name, keep=("platform",)).table("platform")
    if table is None or not table.rows:
        raise DatasetError(name, f"{path.name} has no platform table (!platform_table_begin missing or empty)")
    return read_table(name, path, table, quoting=3)


def normalise_annotation(table: pd.DataFrame, name: str, source: str) -> pd.DataFrame:
    """A platform table -> index probe id, columns ``gene_symbol``, ``entrez_id``, ``gene_title``
    (``""`` where unknown). A table without a symbol column is an error."""
    by_spelling = {normalise(c): c for c in table.columns}
    if "id" not in by_spelling:
        raise DatasetError(name, f"annotation {source} has no ID column; columns: {', '.join(table.columns[:8])}")
    out = pd.DataFrame(index=pd.Index(table[by_spelling["id"]].astype(str).str.strip(), name="probe_id"))
    for target, spellings in COLUMNS.items():
        column = next((by_spelling[normalise(s)] for s in spellings if normalise(s) in by_spelling), None)
        if column is None and target == "gene_symbol":
            raise DatasetError(name, f"annotation {source} has no gene symbol column (looked for {', '.join(spellings[:3])}); "
                                     f"columns: {', '.join(table.columns[:8])}")
        out[target] = table[column].fillna("").astype(str).str.strip().to_numpy() if column else ""
    return out[~out.index.duplicated()]


def read_annotation(path: str | os.PathLike, name: str) -> pd.DataFrame:
    """Probe annotation from a GPL SOFT or ``.annot`` file (see :func:`normalise_annotation`)."""
    return normalise_annotation(platform_table(path, name), name, Path(path).name)


def annotate(dataset: Dataset, annotation: pd.DataFrame) -> Dataset:
    """The dataset with symbols, Entrez ids and titles of its probes; probes the annotation lacks
    keep an empty symbol, and a warning says how many."""
    found = annotation.reindex(dataset.probe_ids)
    absent = int(found["gene_symbol"].isna().sum())
    if absent == len(found):
        raise DatasetError(dataset.name, "the platform annotation covers none of the probes: wrong platform?")
    if absent:
        warnings.warn(f"{dataset.name}: the platform annotation lacks {absent} of {len(found)} probes; they keep no symbol",
                      stacklevel=2)
    found = found.fillna("")
    return Dataset(
        dataset.name, dataset.X, dataset.probe_ids, found["gene_symbol"].to_numpy(str), dataset.sample_ids,
        dataset.y, dataset.class_names, dataset.label_type, dataset.metadata, dataset.groups,
        found["entrez_id"].to_numpy(str), found["gene_title"].to_numpy(str),
    )


def collapse_to_genes(dataset: Dataset, how: str = "max_mean") -> Dataset:
    """One probe per gene symbol: the one with the highest mean (or variance) over all arrays.

    The choice uses no label, as GEO2R-style and WGCNA ``collapseRows`` do; probes without a
    symbol, or mapping to several genes (``///``), are kept as they are.
    """
    if how not in COLLAPSE:
        raise DatasetError(dataset.name, f"unknown collapse {how!r}; choose from {', '.join(COLLAPSE)}")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        strength = np.nanmean(dataset.X, axis=0) if how == "max_mean" else np.nanvar(dataset.X, axis=0)
    symbols = pd.Series(dataset.gene_symbols)
    single = (symbols != "") & ~symbols.str.contains("///", regex=False)
    order = pd.DataFrame({"symbol": symbols, "strength": np.nan_to_num(strength, nan=-np.inf)})
    best = order[single].sort_values("strength", ascending=False, kind="stable").groupby("symbol").head(1).index
    keep = np.sort(np.concatenate([best.to_numpy(), np.flatnonzero(~single.to_numpy())]))
    return dataset.subset_probes(keep)
