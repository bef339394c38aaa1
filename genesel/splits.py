"""Repeated stratified train/validation/test splits, written once and shared by every method.

With groups (patients), every array of a group falls in one part of a split, and the parts are
stratified by label as far as the groups allow.
"""

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
    _check_fractions(fractions)
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


_FIRST_OF_CLASS = 10.0  # outweighs any balance score: a part lacking a class gets the group that brings it


def stratified_group_split(
    y: np.ndarray,
    groups: np.ndarray,
    fractions: Sequence[float] = (0.6, 0.2, 0.2),
    rng: np.random.Generator | None = None,
) -> np.ndarray:
    """Assign whole groups to ``train``/``val``/``test``, stratified by label as groups allow.

    Groups are placed largest first (random order among equal sizes), each into the part whose
    class counts lag their targets most for the classes the group brings; a part that has no
    array of one of those classes yet comes first. Every class must end up in every part, so it
    needs arrays in at least three groups. Returns an array of part names.
    """
    rng = rng or np.random.default_rng()
    _check_fractions(fractions)
    classes, codes = np.unique(np.asarray(y), return_inverse=True)
    names, group_of = np.unique(np.asarray(groups, dtype=str), return_inverse=True)
    counts = np.zeros((len(names), len(classes)))
    np.add.at(counts, (group_of, codes), 1)
    spread = (counts > 0).sum(axis=0)
    for label, n_groups in zip(classes.tolist(), spread):
        if n_groups < 3:
            raise ValueError(f"class {label!r} has arrays in {n_groups} group(s); grouped 3-way splits need >= 3")
    target = np.outer(fractions, counts.sum(axis=0))
    assigned = np.zeros_like(target)
    part_of = np.empty(len(names), dtype=int)
    order = rng.permutation(len(names))
    for g in order[np.argsort(-counts[order].sum(axis=1), kind="stable")]:
        brings = counts[g]
        lag = ((target - assigned) / target * brings).sum(axis=1) / brings.sum()
        lacking = ((assigned == 0) & (brings > 0)).any(axis=1)
        score = lag + _FIRST_OF_CLASS * lacking + 1e-9 * rng.random(3)
        part_of[g] = int(np.argmax(score))
        assigned[part_of[g]] += brings
    for label, present in zip(classes.tolist(), (assigned > 0).all(axis=0)):
        if not present:
            raise ValueError(f"class {label!r}: its groups cannot be spread over all three parts")
    return np.asarray(PARTS, dtype=object)[part_of[group_of]]


def _check_fractions(fractions: Sequence[float]) -> None:
    if len(fractions) != 3 or not np.isclose(sum(fractions), 1.0) or min(fractions) <= 0:
        raise ValueError(f"fractions must be three positive shares summing to 1, got {fractions}")


def make_splits(
    sample_ids: Sequence[str],
    y: np.ndarray,
    n_splits: int = 20,
    seed: int = 0,
    fractions: Sequence[float] = (0.6, 0.2, 0.2),
    groups: Sequence[str] | None = None,
) -> pd.DataFrame:
    """``n_splits`` seeded stratified splits as a wide table: ``sample_id`` then one
    column per split (``split_00``, ...), each cell ``train``, ``val`` or ``test``.

    With ``groups`` the table records each array's group in a ``group`` column and no group
    is ever split across parts (:func:`stratified_group_split`).
    """
    rng = np.random.default_rng(seed)
    table = pd.DataFrame({"sample_id": np.asarray(sample_ids, dtype=str)})
    if groups is not None:
        table["group"] = np.asarray(groups, dtype=str)
    for k in range(n_splits):
        if groups is None:
            table[split_column(k)] = stratified_split(np.asarray(y), fractions, rng)
        else:
            table[split_column(k)] = stratified_group_split(np.asarray(y), table["group"].to_numpy(), fractions, rng)
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
