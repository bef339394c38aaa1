"""Repeated stratified train/validation/test splits, written once and shared by every method."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

PARTS = ("train", "val", "test")


def stratified_split(
    y: np.ndarray, fractions: Sequence[float] = (0.6, 0.2, 0.2), rng: np.random.Generator | None = None
) -> np.ndarray:
    """Assign each sample to ``train``/``val``/``test`` within each class.

    Every class gets at least one sample in every part (so it needs >= 3 samples), the
    rest follows ``fractions`` per class, rounded. Returns an array of part names.
    """
    rng = rng or np.random.default_rng()
    y = np.asarray(y)
    if len(fractions) != 3 or not np.isclose(sum(fractions), 1.0) or min(fractions) <= 0:
        raise ValueError(f"fractions must be three positive shares summing to 1, got {fractions}")
    parts = np.empty(len(y), dtype=object)
    for label in np.unique(y):
        members = rng.permutation(np.flatnonzero(y == label))
        n = len(members)
        if n < 3:
            raise ValueError(f"class {label!r} has {n} sample(s); stratified 3-way splits need >= 3")
        n_val = max(1, int(round(fractions[1] * n)))
        n_test = max(1, int(round(fractions[2] * n)))
        while n - n_val - n_test < 1:  # keep at least one training sample
            if n_val >= n_test:
                n_val -= 1
            else:
                n_test -= 1
        parts[members[:n_test]] = "test"
        parts[members[n_test:n_test + n_val]] = "val"
        parts[members[n_test + n_val:]] = "train"
    return parts


def make_splits(
    sample_ids: Sequence[str],
    y: np.ndarray,
    n_splits: int = 20,
    seed: int = 0,
    fractions: Sequence[float] = (0.6, 0.2, 0.2),
) -> pd.DataFrame:
    """``n_splits`` seeded stratified splits as a wide table: ``sample_id`` then one
    column per split (``split_00``, ...), each cell ``train``, ``val`` or ``test``."""
    rng = np.random.default_rng(seed)
    table = pd.DataFrame({"sample_id": np.asarray(sample_ids, dtype=str)})
    for k in range(n_splits):
        table[split_column(k)] = stratified_split(np.asarray(y), fractions, rng)
    return table


def split_column(k: int) -> str:
    return f"split_{k:02d}"


def split_indices(splits: pd.DataFrame, k: int, sample_ids: Sequence[str] | None = None) -> dict[str, np.ndarray]:
    """Row indices (into ``sample_ids``, default the table's order) of each part of split ``k``."""
    column = splits.set_index("sample_id")[split_column(k)]
    if sample_ids is not None:
        missing = set(sample_ids) - set(column.index)
        if missing:
            raise ValueError(f"splits file lacks samples: {', '.join(sorted(missing)[:5])}")
        column = column.loc[list(sample_ids)]
    values = column.to_numpy()
    return {part: np.flatnonzero(values == part) for part in PARTS}


def n_splits_in(splits: pd.DataFrame) -> int:
    return sum(c.startswith("split_") for c in splits.columns)


def save_splits(splits: pd.DataFrame, path: str | os.PathLike) -> Path:
    """Write the splits table as TSV atomically."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    splits.to_csv(tmp, sep="\t", index=False)
    os.replace(tmp, path)
    return path


def load_splits(path: str | os.PathLike) -> pd.DataFrame:
    return pd.read_csv(path, sep="\t", dtype=str)
