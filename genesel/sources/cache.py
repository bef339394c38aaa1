"""What genesel downloaded into its cache, and what becomes of such a file when a reader finds it damaged.

Each download leaves a record beside its file, ``<file>.download.json``: the URL, the size, the SHA-256
and the time of the download. When a reader refuses a file as damaged
(:class:`~genesel.errors.DamagedFileError`: cut rows, NUL bytes, a table without its end marker, wrong
cell or row counts), :func:`removing_damaged_downloads` deletes it, with its record, if the record shows
that genesel wrote these very bytes; the one-line error says so, and the next run downloads the file
again instead of failing on the same bytes. A file without a record (a user's own ``path:`` or
``table:``, a file copied into the cache by hand, a download from before the records) and a file whose
bytes changed since the download are never touched. :func:`sweep_stale_partials` deletes the partial
temporary file a download killed by SIGKILL leaves (SIGTERM and Ctrl-C delete it at once).

Deleted rather than renamed to ``*.damaged``: the file is a copy of GEO's, one download restores it,
and a quarantined copy would be a corrupt file left in the cache that nothing reads and that a
biologist would have to find and delete by hand. The error line keeps what was wrong with it.
"""

from __future__ import annotations

import contextlib
import datetime
import hashlib
import json
import os
import re
import time
from collections.abc import Iterator
from pathlib import Path

from genesel.errors import DamagedFileError

RECORD_SUFFIX = ".download.json"
GZIP_MAGIC = b"\x1f\x8b"


#: pooch's temporary download files (``tempfile``'s names): what a fetch killed by SIGKILL leaves behind
_PARTIAL = re.compile(r"^tmp[a-z0-9_]{8}$")
#: a partial file untouched this long belongs to no live download (each stalls out after its timeout)
STALE_SECONDS = 3600.0


def sweep_stale_partials(cache_dir: str | os.PathLike, timeout: float = 60.0) -> list[Path]:
    """Delete what killed downloads left in ``cache_dir``: files named as pooch's temporary files,
    empty or gzip, untouched for an hour (or twice the download timeout, if longer); a running
    download writes its file at least once per timeout. Returns the files deleted."""
    cutoff = time.time() - max(STALE_SECONDS, 2 * timeout)
    removed = []
    for path in Path(cache_dir).iterdir():
        try:
            if not (_PARTIAL.match(path.name) and path.is_file() and path.stat().st_mtime < cutoff):
                continue
            with open(path, "rb") as handle:
                head = handle.read(2)
            if head in (b"", GZIP_MAGIC):
                path.unlink()
                removed.append(path)
        except OSError:  # gone already (another job swept it), or not ours to read
            continue
    return removed


def record_path(path: str | os.PathLike) -> Path:
    """Where the record of a downloaded file lies: beside it, ``<file>.download.json``."""
    path = Path(path)
    return path.with_name(path.name + RECORD_SUFFIX)


def sha256(path: str | os.PathLike) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def record_download(path: str | os.PathLike, url: str) -> Path:
    """Write the record of a file the downloader has just moved into the cache (atomically: a
    record is whole or absent)."""
    path = Path(path)
    record = {"file": path.name, "url": url, "bytes": path.stat().st_size, "sha256": sha256(path),
              "downloaded": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")}
    target = record_path(path)
    partial = target.with_name(f".{target.name}.{os.getpid()}.part")
    partial.write_text(json.dumps(record, indent=1) + "\n")
    os.replace(partial, target)
    return target


def downloaded_record(path: str | os.PathLike) -> dict | None:
    """The download record of ``path`` if there is one (whatever its bytes are now), else None."""
    try:
        record = json.loads(record_path(path).read_text())
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) and record.get("file") == Path(path).name else None


def is_unchanged_download(path: str | os.PathLike, record: dict) -> bool:
    """Whether ``path`` holds exactly the bytes its record says genesel downloaded."""
    path = Path(path)
    return path.stat().st_size == record.get("bytes") and sha256(path) == record.get("sha256")


def discard_damaged(error: DamagedFileError) -> DamagedFileError:
    """Delete the damaged file of ``error`` (and its record) when genesel downloaded exactly it, and
    return the error that says what became of it; any other file stays as it is."""
    path = error.path
    record = None if path is None else downloaded_record(path)
    if record is None:
        if path is None:
            return error
        return DamagedFileError(error.dataset, f"{error.problem}; genesel has no record of downloading it (your own "
                                               "file, a copy, or a download by an older genesel), so it is left as it is",
                                path)
    try:
        unchanged = is_unchanged_download(path, record)
    except FileNotFoundError:  # another job read the same file and removed it first
        unchanged = True
    if not unchanged:
        return DamagedFileError(error.dataset, f"{error.problem}; it changed since genesel downloaded it, so it is "
                                               f"left as it is: delete {path} to download it again", path)
    try:
        path.unlink(missing_ok=True)
        record_path(path).unlink(missing_ok=True)
    except OSError as exc:
        return DamagedFileError(error.dataset, f"{error.problem}; it could not be removed from the cache "
                                               f"({exc.strerror or exc}): delete {path} to download it again", path)
    return DamagedFileError(error.dataset, f"{error.problem}; genesel downloaded it, so it was removed from the "
                                           "cache: the next run downloads it again", path)


@contextlib.contextmanager
def removing_damaged_downloads() -> Iterator[None]:
    """Around a reader: a damaged file that genesel downloaded leaves the cache (:func:`discard_damaged`)."""
    try:
        yield
    except DamagedFileError as error:
        raise discard_damaged(error) from None
