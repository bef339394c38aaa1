"""The integrity contract every reader calls: a damaged file is refused with one line, never read
as a smaller or shifted matrix.

GEO's files break in a few ways: a download cut short (the gzip stream or the text ends inside a
table), a block of NUL bytes from a failed disk write (one row merges with the next and the values
after it move under the wrong arrays), a row an editor cut short. Each reader therefore streams its
file through :func:`scan_text` (SOFT, series matrix, platform annotation) or :func:`read_delimited`
(a user's table and sample sheet: :func:`read_delimited`) and parses value columns with :func:`parse_values`; the checks:

- no NUL byte anywhere;
- every table has its end marker (``!…_table_end``) before the next entry or the end of the file;
- every table row has as many cells as its header (trailing empty cells and CRLF are benign);
- no fewer samples or rows than the header declares (``!dataset_sample_count``,
  ``!Series_sample_id``, ``!Platform_data_row_count``, ``!Sample_data_row_count``);
- every value cell parses as a number or is one of GEO's spellings of missing.

Quoting, CRLF line ends and trailing tabs stay accepted.
"""

from __future__ import annotations

import csv
import gzip
import io
import os
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from genesel.errors import DamagedFileError, DatasetError
from genesel.sources.sniff import open_text

#: GEO's spellings of a missing value
MISSING = ("", "null", "NULL", "NA", "N/A", "NaN", "nan")
#: and those a spreadsheet or R writes into a user's table
TABLE_MISSING = (*MISSING, "#N/A", "n/a", "-NaN", "-nan", "<NA>", "None", "#NA")
#: the tables a GEO text file can hold, by the word between ``!`` and ``_table_begin``
TABLES = ("dataset", "series_matrix", "platform", "sample")
_WHAT = {"dataset": "the data table", "series_matrix": "the expression table", "platform": "the platform table",
         "sample": "the table"}
_GZIP_ERRORS = (EOFError, zlib.error, gzip.BadGzipFile)


def fail(name: str | None, path: str | os.PathLike, problem: str) -> DatasetError:
    """The one-line error naming the dataset, the file and the problem."""
    return DatasetError(name, f"{Path(path).name}: {problem}")


def damaged(name: str | None, path: str | os.PathLike, problem: str) -> DamagedFileError:
    """:func:`fail` for damaged bytes (a fresh copy would read): cut, NUL, no end marker, wrong widths or
    counts; a file genesel downloaded is then removed from its cache (:mod:`genesel.sources.cache`)."""
    return DamagedFileError(name, f"{Path(path).name}: {problem}", path)


@dataclass
class Table:
    """One ``!…_table_begin`` … ``!…_table_end`` block."""

    kind: str  # one of TABLES
    owner: str  # the entry it belongs to (``GSM475065``, ``GPL9717``) or ""
    header: list[str] = field(default_factory=list)
    rows: list[str] | None = None  # the rows' lines (trailing empty cells removed), when kept
    n_rows: int = 0
    ended: bool = False
    bad_row: str | None = None  # a row of the wrong width: an error unless the file ends right after it

    def describe(self) -> str:
        what = _WHAT[self.kind]
        return f"{what} of {self.owner}" if self.kind == "sample" else what


@dataclass
class Scanned:
    """What one pass over a GEO text file found: its header lines and its tables."""

    lines: list[str] = field(default_factory=list)  # every line outside a table that starts with ! ^ or #
    tables: list[Table] = field(default_factory=list)
    entries: list[tuple[str, str]] = field(default_factory=list)  # (^KIND, accession) in file order

    def table(self, kind: str) -> Table | None:
        return next((t for t in self.tables if t.kind == kind), None)

    def values(self, tag: str) -> list[str]:
        """The values of every ``tag = value`` (SOFT) or ``tag<TAB>cells`` (series matrix) line."""
        out = []
        for line in self.lines:
            if line.startswith(tag + " =") or line.startswith(tag + "\t"):
                rest = line[len(tag):].lstrip(" =\t")
                out += [cell.strip().strip('"') for cell in rest.split("\t")] if "\t" in line[:len(tag) + 1] else [rest.strip()]
        return out


def _cells(line: str) -> list[str]:
    cells = line.split("\t")
    while len(cells) > 1 and cells[-1].strip() in ("", '""'):
        cells.pop()
    return cells


def _row_width(line: str, width: int) -> int:
    """Cells of a table row, trailing empty cells beyond the header's width not counted."""
    cells = line.split("\t")
    while len(cells) > width and cells[-1].strip() in ("", '""'):
        cells.pop()
    return len(cells)


def scan_text(path: str | os.PathLike, name: str | None, keep: tuple[str, ...] = ()) -> Scanned:
    """Stream a GEO text file (gzip or plain) once and enforce the contract; keep the rows of the
    tables of kinds ``keep``. Every violation is one :func:`fail` line."""
    path = Path(path)
    scanned = Scanned()
    current: Table | None = None
    owner = ""
    try:
        with open_text(path) as handle:
            for number, raw in enumerate(handle, start=1):
                line = raw.rstrip("\r\n")
                if scanned.tables and scanned.tables[-1].bad_row:
                    raise damaged(name, path, scanned.tables[-1].bad_row)
                if "\x00" in line:
                    raise damaged(name, path, f"NUL bytes in line {number} (a damaged download or disk write)")
                if current is not None:
                    current = _table_line(name, path, scanned, current, line)
                    continue
                if line.startswith("^"):
                    kind, _, accession = line.partition("=")
                    owner = accession.strip()
                    scanned.entries.append((kind.strip(), owner))
                begun = _begins(line)
                if begun:
                    current = Table(begun, owner, rows=[] if begun in keep else None)
                    scanned.tables.append(current)
                elif line[:1] in ("!", "^", "#"):
                    scanned.lines.append(line)
    except _GZIP_ERRORS as exc:
        raise damaged(name, path, f"a truncated or corrupt gzip file ({exc})") from None
    if scanned.tables and scanned.tables[-1].bad_row and current is None:
        raise damaged(name, path, scanned.tables[-1].bad_row)
    if current is not None:
        raise damaged(name, path, f"ends inside {current.describe()} (no !{current.kind}_table_end): truncated?")
    _check_declared(name, path, scanned)
    return scanned


def _begins(line: str) -> str | None:
    if line.startswith("!") and line.rstrip().endswith("_table_begin"):
        kind = line[1:].strip()[: -len("_table_begin")]
        return kind if kind in TABLES else None
    return None


def _table_line(name, path: Path, scanned: Scanned, table: Table, line: str) -> Table | None:
    """One line inside ``table``: the header, a row, or its end; the next table or entry before
    the end marker is an error."""
    if line.startswith(f"!{table.kind}_table_end"):
        table.ended = True
        return None
    if line.startswith("^") or _begins(line):
        raise damaged(name, path, f"{table.describe()} has no end marker (!{table.kind}_table_end) before "
                               f"{line[:30]!r}: the file was cut or spliced")
    if not line.strip():
        return table
    if not table.header:
        table.header = _cells(line)
        return table
    table.n_rows += 1
    width = _row_width(line, len(table.header))
    if width != len(table.header):
        probe = line.split("\t", 1)[0].strip('"')[:40]
        table.bad_row = (f"{table.describe()}: row {table.n_rows} (probe {probe}) has {width} fields, "
                         f"the header has {len(table.header)}")  # the last line of a cut file: "ends inside"
        return table
    if table.rows is not None:
        table.rows.append("\t".join(line.split("\t")[:width]))
    return table


def _declared_int(name, path, scanned: Scanned, tag: str) -> list[int]:
    try:
        return [int(v) for v in scanned.values(tag) if v]
    except ValueError:
        raise fail(name, path, f"{tag} is not a number: {scanned.values(tag)[:3]}") from None


def _check_declared(name, path: Path, scanned: Scanned) -> None:
    """Fewer samples or rows than the header declares: a file cut short or damaged."""
    dataset = scanned.table("dataset")
    declared = _declared_int(name, path, scanned, "!dataset_sample_count")
    if dataset is not None and declared:
        found = sum(1 for c in dataset.header if c.startswith("GSM"))
        if found < declared[0]:
            raise damaged(name, path, f"the data table has {found} sample columns, the header declares {declared[0]} "
                                   "(!dataset_sample_count)")
    _check_row_counts(name, path, scanned)
    samples = scanned.values("!Series_sample_id")
    ids = [s for value in samples for s in value.split()]
    entries = {accession for kind, accession in scanned.entries if kind == "^SAMPLE"}
    if ids and scanned.table("sample") is not None:  # a family file holds every sample of the series
        absent = [s for s in ids if s not in entries]
        if absent:
            raise damaged(name, path, f"holds {len(entries)} of the {len(ids)} samples the header declares "
                                   f"(!Series_sample_id); first absent: {', '.join(absent[:3])}: truncated?")


def _check_row_counts(name, path: Path, scanned: Scanned) -> None:
    """``!Platform_data_row_count`` and a family sample's ``!Sample_data_row_count`` are exact; in a
    series matrix ``!Sample_data_row_count`` is a row per array, and the table holds at least the most."""
    counts: dict[str, int] = {}
    owner = ""
    for line in scanned.lines:
        if line.startswith("^"):
            owner = line.partition("=")[2].strip()
        elif line.startswith(("!Platform_data_row_count =", "!Sample_data_row_count =")):
            value = line.partition("=")[2].strip()
            if value.isdigit():
                counts[owner] = int(value)
    for table in scanned.tables:
        if table.kind in ("platform", "sample") and table.owner in counts and table.n_rows < counts[table.owner]:
            raise damaged(name, path, f"{table.describe()} has {table.n_rows} rows, the header declares "
                                   f"{counts[table.owner]} (!{table.kind.title()}_data_row_count): truncated or damaged")
    matrix = scanned.table("series_matrix")
    if matrix is not None and matrix.header:
        declared = _declared_int(name, path, scanned, "!Sample_data_row_count")
        if declared and matrix.n_rows < max(declared):
            raise damaged(name, path, f"the series matrix table has {matrix.n_rows} rows, an array's header declares "
                                   f"{max(declared)} (!Sample_data_row_count): truncated or damaged")


def read_table(name, path, table: Table, **options) -> pd.DataFrame:
    """A kept table's rows (its header first) as a DataFrame of strings."""
    text = "\n".join(["\t".join(table.header), *(table.rows or [])])
    return pd.read_csv(io.StringIO(text), sep="\t", dtype=str, keep_default_na=False, **options)


def parse_values(name: str | None, path: str | os.PathLike, text: pd.DataFrame,
                 missing: tuple[str, ...] = MISSING) -> pd.DataFrame:
    """Value cells (strings or numbers; index: probe ids; columns: arrays) -> floats, GEO's missing
    spellings as NaN; any other cell that does not parse is an error naming the probe and the array."""
    if all(pd.api.types.is_numeric_dtype(t) and not pd.api.types.is_bool_dtype(t) for t in text.dtypes):
        return text.astype(np.float64)
    text = text.astype(object).where(text.notna(), "")
    text = text.map(lambda v: v.strip() if isinstance(v, str) else v)
    text = text.mask(text.isin(list(missing)))
    values = text.apply(pd.to_numeric, errors="coerce")
    bad = values.isna() & text.notna()
    if bad.any().any():
        sample = bad.any(axis=0).idxmax()
        probe = bad[sample].idxmax()
        raise fail(name, path, f"non-numeric value {str(text.loc[probe, sample])[:30]!r} for probe {probe} "
                               f"in sample {sample}")
    return values.astype(np.float64)


def read_delimited(name: str | None, path: str | os.PathLike) -> pd.DataFrame:
    """A user's table or sample sheet (CSV/TSV/semicolons, gzip or not) as strings, through the
    contract: no NUL byte, every row as wide as the header (trailing empty cells benign)."""
    path = Path(path)
    if not path.is_file():
        raise fail(name, path, "file not found")
    try:
        with open_text(path) as handle:
            text = handle.read()
    except _GZIP_ERRORS as exc:
        raise damaged(name, path, f"a truncated or corrupt gzip file ({exc})") from None
    if "\x00" in text:
        line = text[: text.index("\x00")].count("\n") + 1
        raise damaged(name, path, f"NUL bytes in line {line} (a damaged download or disk write)")
    lines = [line for line in text.splitlines() if line.strip()]
    if not lines:
        raise fail(name, path, "is empty")
    delimiter = next((d for d in ("\t", ",", ";") if d in lines[0]), "\t")
    rows = list(csv.reader(lines, delimiter=delimiter))
    header = _trim(rows[0])
    body = []
    for number, row in enumerate(rows[1:], start=1):
        row = _trim(row, len(header))
        if len(row) != len(header):
            raise damaged(name, path, f"row {number} ({row[0][:40]}) has {len(row)} fields, the header has {len(header)}")
        body.append(row)
    if len(set(header)) != len(header):
        raise fail(name, path, f"duplicated column(s): {', '.join(sorted({c for c in header if header.count(c) > 1})[:5])}")
    return pd.DataFrame(body, columns=header, dtype=object)


def _trim(cells: list[str], width: int = 1) -> list[str]:
    while len(cells) > width and not cells[-1].strip():
        cells = cells[:-1]
    return cells
