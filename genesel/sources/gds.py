"""GEO DataSet (GDS) "full" SOFT files -> :class:`~genesel.dataset.Dataset`.

Parsing goes through :mod:`GEOparse`; this module adds a structural check that names any
problem, and the one-label-per-sample rule.
"""

from __future__ import annotations

import gzip
import logging
import os
import re
import warnings
import zlib
from collections import Counter
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from genesel.dataset import Dataset, check_matrix, empty_arrays, encode_labels
from genesel.errors import DatasetError
from genesel.sources.design import Design, ReadOptions, apply_design, patient_keys
from genesel.sources.download import GZIP_MAGIC
from genesel.sources.integrity import damaged, parse_values, scan_text
from genesel.sources.sniff import sniff

PAPER_DATASETS = ("GDS1815", "GDS1816", "GDS3268", "GDS3952", "GDS4761", "GDS5027")
LABEL_MODES = ("single", "paper")
_SAMPLE_COLUMN = re.compile(r"^GSM\d+$")

log = logging.getLogger(__name__)


@dataclass
class SoftSummary:
    """What a pass over a GDS SOFT file tells before the full parse."""

    name: str
    header: list[str] = field(default_factory=list)
    described_columns: list[str] = field(default_factory=list)
    n_rows: int = 0


def _check_kind(path: Path, name: str) -> None:
    """Stop unless ``path`` is a GDS SOFT file, naming what it is instead (GEO's own files begin
    with a ``^DATABASE`` block; the first entry after it decides)."""
    sniffed = sniff(path)
    if "\x00" in sniffed.first_line:
        raise DatasetError(name, f"{path.name} is binary, not a SOFT text file")
    if not sniffed.first_line:
        raise DatasetError(name, f"{path.name} holds no text")
    if sniffed.kind == "^DATASET":
        return
    if sniffed.kind is not None:
        raise DatasetError(name, f"{path.name} is not a GDS SOFT file: it is a {sniffed.describe()} (first entry {sniffed.entry[:40]!r})")
    if sniffed.database and not sniffed.entry:
        raise DatasetError(name, f"{path.name} holds only GEO's ^DATABASE block, no ^DATASET: truncated?")
    if not sniffed.first_line.startswith("^"):
        raise DatasetError(name, f"{path.name} is not a SOFT file (first line: {sniffed.first_line[:40]!r})")
    raise DatasetError(name, f"{path.name} is not a GDS SOFT file (starts with {sniffed.entry[:40]!r}, expected ^DATASET)")


def scan_soft(path: str | os.PathLike, name: str | None = None) -> SoftSummary:
    """Check the structure of a GDS SOFT file in one streaming pass, naming any problem."""
    path = Path(path)
    name = name or dataset_name_from_path(path)
    if not path.is_file():
        raise DatasetError(name, f"file not found: {path}")
    if path.stat().st_size == 0:
        raise DatasetError(name, f"{path.name} is empty")
    try:
        _check_kind(path, name)
    except (EOFError, zlib.error, gzip.BadGzipFile) as exc:
        raise damaged(name, path, f"a truncated or corrupt gzip file ({exc})") from None
    scanned = scan_text(path, name)
    table = scanned.table("dataset")
    if table is None or not table.header:
        raise DatasetError(name, f"{path.name} has no data table (!dataset_table_begin missing or empty)")
    summary = SoftSummary(name, table.header, [line[1:].split("=", 1)[0].strip() for line in scanned.lines
                                               if line.startswith("#")], table.n_rows)
    dups = [c for c, k in Counter(summary.header).items() if k > 1]
    if dups:
        raise DatasetError(name, f"duplicated column(s) in the data table: {', '.join(dups[:5])}")
    if summary.header[:2] != ["ID_REF", "IDENTIFIER"]:
        raise DatasetError(name, f"data table must start with ID_REF and IDENTIFIER columns, found {summary.header[:2]}")
    samples = [c for c in summary.header if _SAMPLE_COLUMN.match(c)]
    if not samples:
        raise DatasetError(name, "data table has no GSM sample columns")
    described = set(summary.described_columns)
    undescribed = [c for c in samples if c not in described]
    if described and undescribed:
        raise DatasetError(name, f"table columns without a #description line: {', '.join(undescribed[:5])}")
    missing = [c for c in summary.described_columns if _SAMPLE_COLUMN.match(c) and c not in set(summary.header)]
    if missing:
        raise DatasetError(name, f"described sample column(s) absent from the data table: {', '.join(missing[:5])}")
    if summary.n_rows == 0:
        raise DatasetError(name, "data table has a header but no probe rows")
    return summary


def dataset_name_from_path(path: str | os.PathLike) -> str:
    """``.../GDS1815_full.soft.gz`` -> ``GDS1815``."""
    base = Path(path).name
    for suffix in (".gz", ".soft", "_full"):
        base = base.removesuffix(suffix)
    return base


@dataclass
class GdsFile:
    """A parsed GDS SOFT file before labels are chosen."""

    name: str
    table: pd.DataFrame  # ID_REF, IDENTIFIER, GSM... (only sample columns kept)
    sample_ids: list[str]
    subsets: pd.DataFrame  # one row per subset: subset, type, description, samples (list)
    metadata: dict

    def annotations(self, strict: Collection[str] = ()) -> pd.DataFrame:
        """One row per array, one column per subset type, the array's subset description as value
        (NaN where it is in none). An array in two subsets of a type in ``strict`` is an error; in
        other types it keeps the first."""
        table = pd.DataFrame(index=pd.Index(self.sample_ids, name="sample_id"), columns=list(self.subset_types()), dtype=object)
        for row in self.subsets.itertuples():
            for sample in row.samples:
                if pd.notna(table.at[sample, row.type]):
                    if row.type not in strict or table.at[sample, row.type] == row.description:
                        continue
                    raise DatasetError(self.name, f"sample {sample} is in two {row.type!r} subsets "
                                                  f"({table.at[sample, row.type]!r}, {row.description!r})")
                table.at[sample, row.type] = row.description
        return table

    def subset_types(self) -> dict[str, dict[str, int]]:
        """``{subset type: {class: number of samples}}`` in file order."""
        out: dict[str, dict[str, int]] = {}
        for row in self.subsets.itertuples():
            out.setdefault(row.type, {})[row.description] = len(row.samples)
        return out


def read_with_geoparse(path: Path, geotype: str, name: str):
    """GEOparse's object for a SOFT file (``geotype`` GDS or GSE), quietly; any failure is one line."""
    import GEOparse

    logging.getLogger("GEOparse").setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return GEOparse.get_GEO(filepath=str(path), geotype=geotype, silent=True)
    except Exception as exc:  # GEOparse raises assorted errors on malformed input
        raise DatasetError(name, f"GEOparse could not read {path.name}: {type(exc).__name__}: {str(exc)[:160]}") from None


def parse_gds(path: str | os.PathLike, name: str | None = None) -> GdsFile:
    """Parse a GDS SOFT file with GEOparse after a structural check; no labels yet."""
    path = Path(path)
    name = name or dataset_name_from_path(path)
    summary = scan_soft(path, name)
    with open(path, "rb") as handle:
        gzipped = handle.read(2) == GZIP_MAGIC
    if path.suffix != ".gz" and gzipped:
        raise DatasetError(name, f"{path.name} is gzip-compressed; name it *.gz")
    gds = read_with_geoparse(path, "GDS", name)
    table = gds.table
    if table is None or table.empty:
        raise DatasetError(name, "data table is empty")
    sample_ids = [c for c in summary.header if _SAMPLE_COLUMN.match(c)]
    keep = ["ID_REF", "IDENTIFIER", *sample_ids]
    missing = [c for c in keep if c not in table.columns]
    if missing:
        raise DatasetError(name, f"GEOparse table lacks column(s) {', '.join(missing[:5])}")
    table = table[keep]
    if len(table) != summary.n_rows:
        raise DatasetError(name, f"data table has rows of unequal length ({summary.n_rows} lines, {len(table)} parsed)")
    rows = []
    for subset_name, subset in gds.subsets.items():
        meta = subset.metadata
        ids = [s.strip() for line in meta.get("sample_id", []) for s in line.split(",") if s.strip()]
        rows.append({
            "subset": subset_name,
            "type": " ".join(meta.get("type", ["unknown"])).strip(),
            "description": " ".join(meta.get("description", [subset_name])).strip(),
            "samples": ids,
        })
    subsets = pd.DataFrame(rows, columns=["subset", "type", "description", "samples"])
    known = set(sample_ids)
    for row in subsets.itertuples():
        unknown = [s for s in row.samples if s not in known]
        if unknown:
            raise DatasetError(name, f"subset {row.subset} ({row.type}: {row.description}) names samples not in the table: {', '.join(unknown[:5])}")
    meta = gds.metadata
    metadata = {
        "accession": name,
        "title": " ".join(meta.get("title", [""])),
        "description": " ".join(meta.get("description", [""])),
        "platform": " ".join(meta.get("platform", [""])),
        "value_type": " ".join(meta.get("value_type", [""])),
        "organism": " ".join(meta.get("sample_organism", meta.get("platform_organism", [""]))),
        "source": str(path),
    }
    return GdsFile(name, table, sample_ids, subsets, metadata)


def numeric_matrix(gds: GdsFile) -> np.ndarray:
    """Samples x probes float64 matrix of a parsed GDS; a non-numeric cell is an error."""
    values = gds.table[gds.sample_ids].set_axis(gds.table["ID_REF"].astype(str), axis=0)
    return parse_values(gds.name, gds.metadata["source"], values).to_numpy(np.float64).T


def read_gds(path: str | os.PathLike, design: Design | str | None = None, **options) -> Dataset:
    """Read a GDS SOFT file into a :class:`Dataset` with one label per sample.

    ``design`` (a :class:`~genesel.sources.design.Design` or a subset type; default ``disease
    state``) may also keep only some arrays, merge classes and group arrays by a subset type such
    as ``individual``. ``options``: :class:`~genesel.sources.design.ReadOptions`.

    ``label_mode="single"`` (the default and the only sound choice) labels each array by
    the subset of the label's type it belongs to. ``label_mode="paper"`` reproduces the
    published reference code for its Table 1: every subset of every type becomes a class
    and each array is repeated once per subset type. That is flawed (the same array can
    land in training and test under different labels) and exists only for reproduction.
    """
    opts, design = ReadOptions(**options), Design.of(design)
    if opts.label_mode not in LABEL_MODES:
        raise DatasetError(opts.name, f"unknown label_mode {opts.label_mode!r}; choose from {', '.join(LABEL_MODES)}")
    gds = parse_gds(path, opts.name)
    name = gds.name
    X = numeric_matrix(gds)
    probe_ids = gds.table["ID_REF"].astype(str).to_numpy()
    symbols = gds.table["IDENTIFIER"].fillna("").astype(str).to_numpy()
    check_matrix(name, X, np.asarray(gds.sample_ids), probe_ids)
    all_missing = np.isnan(X).all(axis=0)
    if all_missing.any():
        warnings.warn(f"{name}: {int(all_missing.sum())} probe(s) have no value in any array and are dropped", stacklevel=2)
        X, probe_ids, symbols = X[:, ~all_missing], probe_ids[~all_missing], symbols[~all_missing]
    types = gds.subset_types()
    if not types:
        raise DatasetError(name, "the file defines no ^SUBSET, so there are no labels")
    if opts.label_mode == "paper":
        return _paper_labels(gds, X, probe_ids, symbols, opts.min_class_size)
    if design.label not in types:
        listed = "; ".join(f"{t!r}: {', '.join(f'{c} ({k})' for c, k in cls.items())}" for t, cls in types.items())
        raise DatasetError(name, f"no subset type {design.label!r}; available: {listed}")
    used = {design.label, design.group, *design.where} | set(patient_keys(pd.DataFrame(columns=list(types))))
    labels = apply_design(name, gds.annotations(strict=used), design, opts.min_class_size,
                          kind="subset type", unusable=empty_arrays(name, X, gds.sample_ids))
    return Dataset(
        name=name, X=X[labels.rows], probe_ids=probe_ids, gene_symbols=symbols,
        sample_ids=np.asarray(gds.sample_ids)[labels.rows], y=labels.codes, class_names=labels.class_names,
        label_type=design.label, metadata={**gds.metadata, "label_mode": "single", "group": labels.group_key},
        groups=labels.groups,
    )


def _paper_labels(gds: GdsFile, X: np.ndarray, probe_ids, symbols, min_class_size: int) -> Dataset:
    """The reference code's construction: one row per (subset, sample) pair, all types, one class
    per subset (the reference numbered subsets; two types' subsets of one name stay two classes,
    named ``type: description``)."""
    warnings.warn(
        f"{gds.name}: label_mode='paper' repeats each array once per subset type with different "
        "labels; results are not valid estimates (kept only to reproduce the paper's Table 1)",
        stacklevel=3,
    )
    column = {s: i for i, s in enumerate(gds.sample_ids)}
    rows, row_ids, labels = [], [], []
    for row in gds.subsets.itertuples():
        for sample in row.samples:
            rows.append(column[sample])
            row_ids.append(f"{sample}@{row.type}")
            labels.append(f"{row.type}: {row.description}")
    keep_rows, codes, class_names = encode_labels(gds.name, row_ids, labels, min_class_size)
    ids = np.asarray(row_ids)[keep_rows]
    if len(set(ids)) != len(ids):  # a sample in two subsets of one type: make rows distinct
        ids = np.asarray([f"{r}#{i}" for i, r in enumerate(ids)])
    return Dataset(
        name=gds.name, X=X[np.asarray(rows)[keep_rows]], probe_ids=probe_ids, gene_symbols=symbols,
        sample_ids=ids, y=codes, class_names=class_names, label_type="<all types: paper mode>",
        metadata={**gds.metadata, "label_mode": "paper"},
    )
