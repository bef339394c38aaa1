"""Cached, retried download of GEO files (GDS, series matrix, platform annotation), and the one
resolver of accession-or-path.

Downloads go through :mod:`pooch` (retries with backoff, streaming to a temporary file
that is moved into the cache only once it is complete and verified as gzip). Each download leaves
a record beside its file (:mod:`genesel.sources.cache`): a reader that finds it damaged removes it.
"""

from __future__ import annotations

import contextlib
import gzip
import logging
import os
import re
import signal
import sys
import threading
import zlib
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlparse

from genesel.errors import DownloadError, NotOnGeoError
from genesel.sources.cache import GZIP_MAGIC, record_download, sweep_stale_partials

DEFAULT_GEO_URL = "https://ftp.ncbi.nlm.nih.gov/geo"
GEO_URL_ENV = "GENESEL_GEO_URL"
ACCESSION_PATTERN = re.compile(r"^(GDS|GSE|GPL)\d+$")
PLATFORM_PATTERN = re.compile(r"^GPL\d+$")
#: accession prefix -> GEO's folder for it, and the file kept there
_TREE = {"GDS": "datasets", "GSE": "series", "GPL": "platforms"}


def geo_filename(accession: str, platform: str | None = None) -> str:
    """The file genesel fetches for an accession: ``GDS1815_full.soft.gz``,
    ``GSE14520-GPL571_series_matrix.txt.gz`` (``GSE19161_series_matrix.txt.gz`` for a series on one
    platform), ``GPL96.annot.gz`` (or ``GPL96_family.soft.gz`` with ``platform="soft"``)."""
    kind = _kind(accession)
    if kind == "GDS":
        return f"{accession}_full.soft.gz"
    if kind == "GSE":
        if platform is not None and not PLATFORM_PATTERN.match(platform):
            raise DownloadError(accession, f"platform {platform!r} is not a GPL accession")
        return f"{accession}-{platform}_series_matrix.txt.gz" if platform else f"{accession}_series_matrix.txt.gz"
    return f"{accession}_family.soft.gz" if platform == "soft" else f"{accession}.annot.gz"


def _kind(accession: str) -> str:
    if not ACCESSION_PATTERN.match(accession):
        raise DownloadError(accession, "not a GEO accession (expected GDS, GSE or GPL followed by digits)")
    return accession[:3]


def geo_url(accession: str, base_url: str | None = None, platform: str | None = None) -> str:
    """URL of an accession's file in GEO's tree: ``datasets/GDS1nnn/GDS1815/soft/…``,
    ``series/GSE14nnn/GSE14520/matrix/…``, ``platforms/GPLnnn/GPL96/annot/…``."""
    kind = _kind(accession)
    base = (base_url or os.environ.get(GEO_URL_ENV) or DEFAULT_GEO_URL).rstrip("/")
    number = int(accession[3:])
    stub = f"{kind}{number // 1000}nnn" if number >= 1000 else f"{kind}nnn"
    name = geo_filename(accession, platform)
    folder = {"GDS": "soft", "GSE": "matrix"}.get(kind, "soft" if platform == "soft" else "annot")
    return f"{base}/{_TREE[kind]}/{stub}/{accession}/{folder}/{name}"


class _CorruptDownload(ValueError):
    """Raised inside the downloader; pooch retries on ValueError."""


def verify_gzip(path: str | os.PathLike) -> None:
    """Raise :class:`_CorruptDownload` unless ``path`` is a complete, readable gzip file."""
    with open(path, "rb") as handle:
        head = handle.read(512)
    if not head:
        raise _CorruptDownload("the server sent an empty file")
    if not head.startswith(GZIP_MAGIC):
        if b"<html" in head.lower() or b"<!doctype" in head.lower():
            raise _CorruptDownload("the server sent an HTML page instead of a gzip file")
        raise _CorruptDownload("the server sent something that is not a gzip file")
    try:
        with gzip.open(path, "rb") as handle:
            while handle.read(1 << 22):
                pass
    except (EOFError, OSError, zlib.error) as exc:
        raise _CorruptDownload(f"the downloaded gzip file is truncated or corrupt ({exc})") from exc


class _GeoDownloader:
    """pooch downloader that turns HTTP answers into genesel errors and checks gzip."""

    def __init__(self, accession: str, timeout: float, progressbar: bool) -> None:
        import pooch

        self.accession = accession
        self.http = pooch.HTTPDownloader(progressbar=progressbar, timeout=timeout)

    def __call__(self, url: str, output_file: str, pooch_obj: object, check_only: bool = False) -> None:
        import requests

        try:
            self.http(url, output_file, pooch_obj)
        except requests.HTTPError as exc:
            status = exc.response.status_code if exc.response is not None else None
            if status == 404:
                raise NotOnGeoError(self.accession, f"{self.accession} does not exist on GEO (HTTP 404 at {url})") from None
            if status is not None and 400 <= status < 500:
                raise DownloadError(self.accession, f"GEO refused the download: HTTP {status} at {url}") from None
            raise  # 5xx: transient, pooch retries
        verify_gzip(output_file)


def fetch_geo(
    accession: str,
    cache_dir: str | os.PathLike,
    base_url: str | None = None,
    retries: int = 3,
    timeout: float = 60.0,
    progressbar: bool | None = None,
    platform: str | None = None,
) -> Path:
    """Return the local path of an accession's file (:func:`geo_filename`), downloading it if needed.

    A file already in ``cache_dir`` is returned without any network call. A download is
    retried ``retries`` times with growing waits; it is written to a temporary file and
    moved into the cache only when complete and readable as gzip. The base URL comes from
    ``base_url``, else the ``GENESEL_GEO_URL`` environment variable, else GEO itself.
    Every failure is a :class:`~genesel.errors.DownloadError` with a one-line message.
    """
    url = geo_url(accession, base_url, platform)
    target = Path(cache_dir) / geo_filename(accession, platform)
    try:
        return _fetch(accession, url, target, retries, timeout, progressbar)
    except NotOnGeoError as exc:
        if accession.startswith("GSE") and platform is None:
            raise NotOnGeoError(accession, f"{exc.problem}; a series on several platforms has one matrix per "
                                           "platform: name the platform (platform: GPL...)") from None
        raise


def _fetch(accession: str, url: str, target: Path, retries: int, timeout: float, progressbar: bool | None) -> Path:
    """Download ``url`` to ``target`` through pooch (see :func:`fetch_geo`); a cached file is returned as is."""
    import pooch
    import requests

    cache_dir = target.parent
    if target.is_file():
        return target
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DownloadError(accession, f"cannot create cache folder {cache_dir}: {exc.strerror}") from None
    if not os.access(cache_dir, os.W_OK):
        raise DownloadError(accession, f"cache folder {cache_dir} is not writable")
    sweep_stale_partials(cache_dir, timeout)
    if progressbar is None:
        progressbar = sys.stderr.isatty()
    fetcher = pooch.create(
        path=cache_dir,
        base_url="",
        registry={target.name: None},
        urls={target.name: url},
        retry_if_failed=retries,
    )
    downloader = _GeoDownloader(accession, timeout, progressbar)
    host = urlparse(url).netloc
    hint = f"without network access, download {target.name} elsewhere and give its local path"
    logging.getLogger("pooch").setLevel(logging.WARNING)
    try:
        with _sigterm_unwinds():
            path = Path(fetcher.fetch(target.name, downloader=downloader))
        record_download(path, url)  # what lets a reader that finds it damaged remove it (sources.cache)
        return path
    except DownloadError:
        raise
    except requests.Timeout:
        raise DownloadError(accession, f"GEO at {host} did not answer within {timeout:g} s, {retries + 1} attempts; {hint}") from None
    except requests.ConnectionError as exc:
        reason = _short_reason(exc)
        raise DownloadError(accession, f"cannot reach GEO at {host} ({reason}) after {retries + 1} attempts; {hint}") from None
    except requests.RequestException as exc:
        raise DownloadError(accession, f"download from {host} failed after {retries + 1} attempts: {_short_reason(exc)}") from None
    except _CorruptDownload as exc:
        raise DownloadError(accession, f"download from {host} failed after {retries + 1} attempts: {exc}") from None
    except OSError as exc:
        raise DownloadError(accession, f"cannot write to cache folder {cache_dir}: {exc.strerror or exc}") from None


@contextlib.contextmanager
def _sigterm_unwinds() -> Iterator[None]:
    """SIGTERM (a scheduler's time limit, ``kill``) unwinds a download as Ctrl-C does, so that pooch
    deletes the partial temporary file; SIGKILL cannot be caught and leaves it (never under the final name)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def stop(signum: int, frame: object) -> None:
        raise SystemExit(128 + signum)

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous if previous is not None else signal.SIG_DFL)


def _short_reason(exc: BaseException) -> str:
    text = str(exc)
    for marker in ("Connection refused", "Name or service not known", "timed out", "Connection reset",
                   "IncompleteRead", "Exceeded", "Read timed out", "Temporary failure in name resolution"):
        if marker in text:
            return marker
    return text.splitlines()[0][:160] if text else type(exc).__name__


def annotation_filename(platform: str) -> str:
    """Where a platform's annotation is cached, whichever of GEO's two files it came from."""
    return f"{platform}_annotation.soft.gz"


def fetch_annotation(
    platform: str,
    cache_dir: str | os.PathLike,
    base_url: str | None = None,
    retries: int = 3,
    timeout: float = 60.0,
    progressbar: bool | None = None,
) -> Path:
    """A platform's annotation, cached as :func:`annotation_filename`: GEO's ``GPL….annot.gz``
    where GEO made one, else the platform's family SOFT file (both hold the platform table)."""
    if not PLATFORM_PATTERN.match(platform):
        raise DownloadError(platform, "not a GEO platform accession (expected GPL followed by digits)")
    target = Path(cache_dir) / annotation_filename(platform)
    try:
        return _fetch(platform, geo_url(platform, base_url), target, retries, timeout, progressbar)
    except NotOnGeoError:
        return _fetch(platform, geo_url(platform, base_url, "soft"), target, retries, timeout, progressbar)


def resolve_source(
    source: str | os.PathLike, cache_dir: str | os.PathLike, base_url: str | None = None, platform: str | None = None
) -> Path:
    """A local path as it is; an accession (``GDS1815``, ``GSE14520``, ``GPL96``) that is not a local
    file is fetched into ``cache_dir`` (a series' matrix of ``platform``, a platform's annotation)."""
    path = Path(source)
    if path.exists() or not ACCESSION_PATTERN.match(str(source)):
        return path
    if str(source).startswith("GPL"):
        return fetch_annotation(str(source), cache_dir, base_url)
    return fetch_geo(str(source), cache_dir, base_url=base_url, platform=platform)
