"""Errors that genesel reports to users as one clear line."""

from __future__ import annotations

import os
from pathlib import Path


class GeneselError(Exception):
    """A user-facing error: one line that names the dataset and the problem.

    Deliberately not a ``ValueError``: download helpers retry on ``ValueError``
    and a user error must never be retried.
    """

    def __init__(self, dataset: str | None, problem: str) -> None:
        self.dataset = dataset
        self.problem = " ".join(str(problem).split())  # always a single line
        super().__init__(f"{dataset}: {self.problem}" if dataset else self.problem)


class DatasetError(GeneselError):
    """The input data (file, table, labels) is unusable."""


class DamagedFileError(DatasetError):
    """The file's bytes are damaged (cut short, NUL bytes, a table without its end marker, rows of the
    wrong width, fewer samples or rows than its header declares): a fresh copy of the same file can
    read, unlike a file whose content is unusable. ``path`` is the damaged file."""

    def __init__(self, dataset: str | None, problem: str, path: str | os.PathLike | None = None) -> None:
        super().__init__(dataset, problem)
        self.path = None if path is None else Path(path)


class DownloadError(GeneselError):
    """A dataset could not be fetched from GEO."""


class NotOnGeoError(DownloadError):
    """GEO answered that the accession does not exist (HTTP 404)."""
