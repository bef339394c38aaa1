"""Errors that genesel reports to users as one clear line."""

from __future__ import annotations


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


class DownloadError(GeneselError):
    """A dataset could not be fetched from GEO."""


class NotOnGeoError(DownloadError):
    """GEO answered that the accession does not exist (HTTP 404)."""
