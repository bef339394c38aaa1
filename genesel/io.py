"""The one atomic-write helper: a file appears complete or not at all, and a failure leaves nothing."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pandas as pd


@contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``path`` to write to; on success it replaces ``path``, on
    any error it is removed. The folder is created when missing. The temporary name keeps the
    target's suffixes (``.x.npz.<random>.npz``) for writers that go by extension."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix="".join(path.suffixes[-1:]) or ".tmp")
    os.close(fd)
    os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; a result file gets the usual permissions
    try:
        yield Path(tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_table(table: pd.DataFrame, path: str | os.PathLike, sep: str = "\t") -> Path:
    """A DataFrame as CSV/TSV, atomically, without its index."""
    with atomic_path(path) as tmp:
        table.to_csv(tmp, sep=sep, index=False)
    return Path(path)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
