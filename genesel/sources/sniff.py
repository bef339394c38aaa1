"""Tell GEO's file kinds apart by their first entry, looking past the ``^DATABASE`` block.

Every SOFT file GEO serves (GDS full files, series and platform family files) begins with a
``^DATABASE = Geo...`` block of ``!Database_*`` lines that describes GEO itself; the entry
that says what the file holds comes after it. Series matrix files have no entries at all and
begin with ``!Series_title``.
"""

from __future__ import annotations

import gzip
import os
import re
from dataclasses import dataclass
from pathlib import Path

from genesel.sources.download import GZIP_MAGIC

#: first entry -> what a reader should call the file
KINDS = {
    "^DATASET": "GDS full SOFT file",
    "^SERIES": "GEO Series family SOFT file",
    "^PLATFORM": "GEO platform (GPL) SOFT file",
    "^SAMPLE": "GEO sample (GSM) SOFT file",
    "!Series_": "GEO series matrix file",
}
#: the reader (a key of :data:`genesel.sources.readers.READERS`) each first entry needs
READER_OF = {"^DATASET": "gds", "^SERIES": "series", "!Series_": "series"}
_SNIFF_LINES = 200  # the ^DATABASE block is six lines; leave room for blank lines and comments


def open_text(path: str | os.PathLike):
    """Open a text file, gzip-compressed or not, decoding as UTF-8 (bad bytes replaced)."""
    with open(path, "rb") as handle:
        magic = handle.read(2)
    if magic == GZIP_MAGIC:
        return gzip.open(path, "rt", encoding="utf-8", errors="replace", newline=None)
    return open(path, encoding="utf-8", errors="replace", newline=None)


@dataclass(frozen=True)
class Sniffed:
    """The entry that says what a GEO file holds, and the ``^DATABASE`` block before it."""

    first_line: str  # the first non-blank line of the file ('' if none)
    entry: str  # the first line that is not part of a ^DATABASE block ('' if none was found)
    database: str  # the ^DATABASE name ('' if the file has no such block)

    @property
    def kind(self) -> str | None:
        """A key of :data:`KINDS`, or ``None`` for a file that is none of them."""
        return next((key for key in KINDS if self.entry.startswith(key)), None)

    def describe(self) -> str:
        return KINDS.get(self.kind, "unknown kind of file")


def sniff(path: str | os.PathLike) -> Sniffed:
    """Read the head of ``path`` and return its first entry after any ``^DATABASE`` block.

    Streams at most a few hundred lines. Gzip errors propagate (``EOFError``, ``zlib.error``,
    ``gzip.BadGzipFile``) for the caller to name.
    """
    first = entry = database = ""
    in_database = False
    with open_text(Path(path)) as handle:
        for i, raw in enumerate(handle):
            line = raw.rstrip("\r\n")
            if i >= _SNIFF_LINES:
                break
            if not line.strip():
                continue
            first = first or line
            if line.startswith("^DATABASE"):
                in_database, database = True, line.split("=", 1)[-1].strip()
                continue
            if in_database and line.startswith("!Database_"):
                continue
            entry = line
            break
    return Sniffed(first, entry, database)


def file_kind(path: str | os.PathLike, sample_sheet: str | os.PathLike | None = None) -> str:
    """Which reader a source file needs, decided here once: ``table`` (an expression table: it comes
    with a sample sheet), ``h5ad``, ``series`` (matrix or family SOFT), else ``gds`` (whose reader
    names what a file that is none of them is)."""
    path = Path(path)
    if sample_sheet is not None:
        return "table"
    if path.suffix == ".h5ad":
        return "h5ad"
    if path.is_file() and path.stat().st_size:
        try:
            return READER_OF.get(sniff(path).kind, "gds")
        except (EOFError, OSError, gzip.BadGzipFile, ValueError):
            return "gds"  # its reader names the damage
    return "gds"


def accession_kind(accession: str) -> str | None:
    """``series`` for a GSE accession, ``gds`` for a GDS one, ``platform`` for a GPL, else None: what
    a download will bring before there is a file to sniff (the workflow's ``is_series``)."""
    match = re.fullmatch(r"(GDS|GSE|GPL)[0-9]+", accession)
    return {"GDS": "gds", "GSE": "series", "GPL": "platform"}[match.group(1)] if match else None
