"""GEO Series (GSE) -> :class:`~genesel.dataset.Dataset`: the series matrix file, or the family SOFT file.

A series matrix (``GSE…_series_matrix.txt.gz``, what GEO2R reads) holds ``!Series_*`` lines, one
``!Sample_*`` line per sample field (tab-separated, quoted values, one cell per array) and the
values between ``!series_matrix_table_begin`` and ``!series_matrix_table_end``. A family SOFT file
(``GSE…_family.soft.gz``) holds the same in ``^SAMPLE`` entries, one table per array, and the
platform table with its annotation. Lines are read by tag, never by position (GEO adds and moves
header lines between versions).
"""

from __future__ import annotations

import csv
import gzip
import io
import os
import warnings
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from genesel.dataset import Dataset, check_matrix, empty_arrays
from genesel.errors import DatasetError
from genesel.sources.annotation import annotate, normalise_annotation
from genesel.sources.design import Design, ReadOptions, apply_design
from genesel.sources.gds import read_with_geoparse
from genesel.sources.integrity import MISSING, damaged, parse_values, scan_text
from genesel.sources.sniff import sniff

#: the sample fields offered as labels besides the characteristics keys
SAMPLE_FIELDS = {"!Sample_title": "title", "!Sample_source_name_ch1": "source_name"}


@dataclass
class SeriesFile:
    """A parsed series: values (probes x arrays), per-array annotations, and what GEO says of it."""

    name: str
    values: pd.DataFrame  # index: probe ids; columns: GSM ids; float, NaN = missing
    samples: pd.DataFrame  # index: GSM ids; 'title', 'source_name', then one column per characteristics key
    metadata: dict
    platform_table: pd.DataFrame | None = None  # a family file's platform annotation table

    def characteristics(self) -> dict[str, dict[str, int]]:
        """``{key: {value: number of arrays}}`` for every annotation column, as ``inspect`` lists them."""
        return {c: self.samples[c].value_counts(sort=False).to_dict() for c in self.samples.columns}


def series_name_from_path(path: str | os.PathLike) -> str:
    """``GSE14520-GPL571_series_matrix.txt.gz`` -> ``GSE14520``; ``GSE19161_family.soft.gz`` -> ``GSE19161``."""
    base = Path(path).name
    for marker in ("_series_matrix", "_family", "_full", "-GPL", ".txt", ".soft", ".gz"):
        base = base.split(marker)[0]
    return base


def _split_cells(line: str) -> tuple[str, list[str]]:
    """A series matrix line -> its tag and unquoted cells."""
    row = next(csv.reader([line], delimiter="\t", quotechar='"'))
    return row[0], [cell.strip() for cell in row[1:]]


def _characteristic(cell: str, channel: str) -> tuple[str, str] | None:
    """``"Tissue: Liver Tumor Tissue"`` -> ``("tissue", "Liver Tumor Tissue")``; an empty cell -> None."""
    if cell in MISSING:
        return None
    key, sep, value = cell.partition(":")
    key = " ".join(key.split()).lower() if sep else f"characteristics_{channel}"
    value = value.strip() if sep else cell
    return (key if channel == "ch1" else f"{key} ({channel})"), value


def _sample_table(name: str, fields: dict[str, list[list[str]]]) -> pd.DataFrame:
    """Per-array annotations from the ``!Sample_*`` lines (each a list of rows of cells)."""
    accessions = (fields.get("!Sample_geo_accession") or [[]])[0]
    if not accessions:
        raise DatasetError(name, "the series has no !Sample_geo_accession line, so its arrays are unnamed")
    samples = pd.DataFrame(index=pd.Index(accessions, name="sample_id"))
    for tag, column in SAMPLE_FIELDS.items():
        if tag in fields:
            samples[column] = fields[tag][0]
    for tag in ("!Sample_characteristics_ch1", "!Sample_characteristics_ch2"):
        for row in fields.get(tag, []):
            for accession, cell in zip(accessions, row):
                parsed = _characteristic(cell, tag[-3:])
                if parsed:
                    samples.loc[accession, parsed[0]] = parsed[1]
    for tag, rows in fields.items():
        if any(len(row) != len(accessions) for row in rows):
            raise DatasetError(name, f"{tag} has a cell count different from the {len(accessions)} arrays")
    return samples.mask(samples.isin(list(MISSING)))  # not replace(): it downcasts, with a FutureWarning


def _read_values(name: str, path: Path, lines: list[str]) -> pd.DataFrame:
    """The matrix table (header ``ID_REF`` then one column per array) as floats."""
    if len(lines) < 2:
        raise DatasetError(name, "the series matrix table has no probe rows (GEO publishes no values for this series: RNA-seq or supplementary files only?)")
    try:
        table = pd.read_csv(io.StringIO("\n".join(lines)), sep="\t", quotechar='"', dtype=str,
                            keep_default_na=False, on_bad_lines="error")
    except (pd.errors.ParserError, ValueError) as exc:
        raise DatasetError(name, f"the series matrix table is malformed: {str(exc).splitlines()[0]}") from None
    table = table.set_index(table.columns[0])
    table.index = table.index.astype(str)
    return parse_values(name, path, table)


def _check_series_kind(path: Path, name: str, kinds: tuple[str, ...]) -> None:
    """Stop unless ``path`` is a GEO series file of one of ``kinds``, naming what it is instead."""
    if not path.is_file():
        raise DatasetError(name, f"file not found: {path}")
    if path.stat().st_size == 0:
        raise DatasetError(name, f"{path.name} is empty")
    try:
        sniffed = sniff(path)
    except (EOFError, zlib.error, gzip.BadGzipFile, OSError) as exc:
        raise damaged(name, path, f"a truncated or corrupt gzip file ({exc})") from None
    if sniffed.kind not in kinds:
        what = sniffed.describe() if sniffed.kind else f"not a GEO file (first line {sniffed.first_line[:40]!r})"
        raise DatasetError(name, f"{path.name} is not a GEO series matrix or family SOFT file: it is a {what}")


def parse_series_matrix(path: str | os.PathLike, name: str | None = None) -> SeriesFile:
    """Read a series matrix file by tag; every structural problem is one line naming it."""
    path = Path(path)
    name = name or series_name_from_path(path)
    _check_series_kind(path, name, ("!Series_",))
    scanned = scan_text(path, name, keep=("series_matrix",))
    series: dict[str, list[str]] = {}
    fields: dict[str, list[list[str]]] = {}
    for line in scanned.lines:
        if line.startswith("!Series_"):
            tag, cells = _split_cells(line)
            series.setdefault(tag[len("!Series_"):], []).append(" ".join(cells))
        elif line.startswith("!Sample_"):
            tag, cells = _split_cells(line)
            fields.setdefault(tag, []).append(cells)
    matrix = scanned.table("series_matrix")
    if matrix is None:
        raise DatasetError(name, f"{path.name} has no expression table (!series_matrix_table_begin missing)")
    table = ["\t".join(matrix.header), *matrix.rows] if matrix.header else []
    samples = _sample_table(name, fields)
    values = _read_values(name, path, table)
    _check_columns(name, values, samples)
    _check_declared_samples(name, path, samples, series)
    platforms = sorted(set((fields.get("!Sample_platform_id") or [[]])[0]))
    metadata = _metadata(name, series, platforms, path)
    metadata["organism"] = ", ".join(sorted(set((fields.get("!Sample_organism_ch1") or [[]])[0])))
    return SeriesFile(name, values, samples, metadata)


def _check_columns(name: str, values: pd.DataFrame, samples: pd.DataFrame) -> None:
    """The table's columns must be the arrays the header describes, in any order."""
    columns, described = list(values.columns), list(samples.index)
    if sorted(columns) != sorted(described):
        extra = sorted(set(columns) - set(described))[:3]
        lacking = sorted(set(described) - set(columns))[:3]
        raise DatasetError(name, f"the table's sample columns do not match the described arrays "
                                 f"(only in the table: {extra or 'none'}; only described: {lacking or 'none'})")


def _check_declared_samples(name: str, path: Path, samples: pd.DataFrame, series: dict[str, list[str]]) -> None:
    """A one-platform series matrix holds every array of ``!Series_sample_id`` (a series on several
    platforms lists them all, and each platform's matrix holds its part)."""
    declared = [s for value in series.get("sample_id", []) for s in value.split()]
    if declared and len(series.get("platform_id", [])) <= 1 and len(samples) < len(declared):
        absent = [s for s in declared if s not in set(samples.index)]
        raise damaged(name, path, f"holds {len(samples)} of the {len(declared)} arrays the header declares "
                               f"(!Series_sample_id); first absent: {', '.join(absent[:3])}")


def _metadata(name: str, series: dict[str, list[str]], platforms: list[str], path: Path) -> dict:
    return {
        "accession": name,
        "title": " ".join(series.get("title", [""])),
        "description": " ".join(series.get("summary", [""])),
        "platform": ", ".join(platforms) or " ".join(series.get("platform_id", [""])),
        "value_type": "",
        "organism": "",
        "source": str(path),
    }


def parse_series_family(path: str | os.PathLike, name: str | None = None, platform: str | None = None) -> SeriesFile:
    """Read a family SOFT file with GEOparse: the arrays of one platform (``platform``, needed
    when the series has several), their tables joined on ``ID_REF``, and the platform table."""
    path = Path(path)
    name = name or series_name_from_path(path)
    _check_series_kind(path, name, ("^SERIES",))
    scan_text(path, name)
    gse = read_with_geoparse(path, "GSE", name)
    platform = _choose_platform(name, sorted(gse.gpls), platform, path)
    gsms = {k: g for k, g in gse.gsms.items() if g.metadata.get("platform_id", [platform])[0] == platform}
    if not gsms:
        raise DatasetError(name, f"{path.name} has no arrays on platform {platform}")
    fields: dict[str, list[list[str]]] = {"!Sample_geo_accession": [list(gsms)]}
    for tag in ("title", "source_name_ch1", "characteristics_ch1", "characteristics_ch2"):
        per_sample = [g.metadata.get(tag, []) for g in gsms.values()]
        for i in range(max(map(len, per_sample), default=0)):
            fields[f"!Sample_{tag}"] = [*fields.get(f"!Sample_{tag}", []), [v[i] if i < len(v) else "" for v in per_sample]]
    samples = _sample_table(name, fields)
    values = _family_values(name, path, gsms)
    metadata = _metadata(name, {k: v for k, v in gse.metadata.items()}, [platform], path)
    metadata["organism"] = ", ".join(sorted({g.metadata.get("organism_ch1", [""])[0] for g in gsms.values()}))
    return SeriesFile(name, values, samples, metadata, gse.gpls[platform].table)


def _choose_platform(name: str, platforms: list[str], wanted: str | None, path: Path) -> str:
    if not platforms:
        raise DatasetError(name, f"{path.name} begins as a GEO Series family SOFT file (^SERIES) but has no ^PLATFORM "
                                 "entry: truncated, or not a complete series")
    if wanted is not None:
        if wanted not in platforms:
            raise DatasetError(name, f"platform {wanted} is not in this series; it has {', '.join(platforms) or 'none'}")
        return wanted
    if len(platforms) != 1:
        raise DatasetError(name, f"the series has {len(platforms)} platforms ({', '.join(platforms)}): name one (platform: GPL...)")
    return platforms[0]


def _family_values(name: str, path: Path, gsms: dict) -> pd.DataFrame:
    columns = {}
    for accession, gsm in gsms.items():
        table = gsm.table
        if table is None or table.empty or not {"ID_REF", "VALUE"} <= set(table.columns):
            raise DatasetError(name, f"sample {accession} has no ID_REF/VALUE table")
        columns[accession] = table.set_index(table["ID_REF"].astype(str))["VALUE"].astype(str)
    return parse_values(name, path, pd.DataFrame(columns))


def parse_series(path: str | os.PathLike, name: str | None = None, platform: str | None = None) -> SeriesFile:
    """A series matrix or family SOFT file, told apart by their first entry."""
    path = Path(path)
    name = name or series_name_from_path(path)
    _check_series_kind(path, name, ("!Series_", "^SERIES"))
    if sniff(path).kind == "^SERIES":
        return parse_series_family(path, name, platform)
    series = parse_series_matrix(path, name)
    if platform is not None and platform not in series.metadata["platform"].split(", "):
        raise DatasetError(name, f"{path.name} holds platform {series.metadata['platform']}, not {platform}")
    return series


def read_series(path: str | os.PathLike, design: Design | str | None = None, **options) -> Dataset:
    """Read a GEO series into a :class:`Dataset`: labels, kept arrays and groups from ``design``
    over the characteristics keys, ``title`` and ``source_name``; ``options``:
    :class:`~genesel.sources.design.ReadOptions` (``platform`` for a series on several). Gene symbols
    come later, from the platform annotation (:mod:`genesel.sources.annotation`), which a family file carries."""
    opts, design = ReadOptions(**options), Design.of(design)
    series = parse_series(path, opts.name, opts.platform)
    name = series.name
    values = series.values[series.samples.index]
    all_missing = values.isna().all(axis=1).to_numpy()
    if all_missing.any():
        warnings.warn(f"{name}: {int(all_missing.sum())} probe(s) have no value in any array and are dropped", stacklevel=2)
        values = values[~all_missing]
    X = values.to_numpy(np.float64).T
    probe_ids = values.index.to_numpy(str)
    check_matrix(name, X, series.samples.index.to_numpy(str), probe_ids)
    labels = apply_design(name, series.samples, design, opts.min_class_size,
                          unusable=empty_arrays(name, X, series.samples.index))
    dataset = Dataset(
        name=name, X=X[labels.rows], probe_ids=probe_ids, gene_symbols=np.full(len(probe_ids), ""),
        sample_ids=series.samples.index.to_numpy(str)[labels.rows], y=labels.codes, class_names=labels.class_names,
        label_type=design.label, metadata={**series.metadata, "label_mode": "single", "group": labels.group_key},
        groups=labels.groups,
    )
    if series.platform_table is None:
        return dataset
    return annotate(dataset, normalise_annotation(series.platform_table, name, f"{series.metadata['platform']} (in {Path(path).name})"))
