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

from genesel.io import write_table

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
    attempts: int = 20,
) -> np.ndarray:
    """Assign whole groups to ``train``/``val``/``test``, stratified by label as groups allow.

    Groups are placed largest first (random order among equal sizes), each into the part whose
    class counts lag their targets most for the classes the group brings; a part that has no
    array of one of those classes yet comes first. Groups are then moved or swapped between parts
    toward the exact part sizes (:func:`_balance_sizes`), and of ``attempts`` random orders the
    one whose part sizes come closest to ``fractions`` is kept. Every class must end up in every part, so
    it needs arrays in at least three groups. Returns an array of part names.
    """
    rng = rng or np.random.default_rng()
    _check_fractions(fractions)
    classes, codes = np.unique(np.asarray(y), return_inverse=True)
    names, group_of = np.unique(np.asarray(groups, dtype=str), return_inverse=True)
    counts = np.zeros((len(names), len(classes)))
    np.add.at(counts, (group_of, codes), 1)
    for label, n_groups in zip(classes.tolist(), (counts > 0).sum(axis=0)):
        if n_groups < 3:
            raise ValueError(f"class {label!r} has arrays in {n_groups} group(s); grouped 3-way splits need >= 3")
    target = np.outer(fractions, counts.sum(axis=0))
    target *= (_part_sizes(len(group_of), fractions) / target.sum(axis=1))[:, None]  # whole arrays per part
    best, best_gap = None, np.inf
    for _ in range(attempts):
        part_of = _balance_sizes(_place_groups(counts, target, rng), counts, target.sum(axis=1), rng)
        assigned = np.stack([counts[part_of == k].sum(axis=0) for k in range(3)])
        gap = np.abs(assigned.sum(axis=1) - np.round(target.sum(axis=1))).sum()
        if (assigned > 0).all() and gap < best_gap:
            best, best_gap = part_of, gap
        if best_gap == 0:
            break
    if best is None:
        raise ValueError("the groups cannot be spread so that every class is in every part")
    return np.asarray(PARTS, dtype=object)[best[group_of]]


def _part_sizes(n: int, fractions: Sequence[float]) -> np.ndarray:
    """``n`` arrays shared out by ``fractions`` in whole numbers (largest remainders)."""
    raw = np.asarray(fractions, dtype=float) * n
    sizes = np.floor(raw)
    sizes[np.argsort(raw - sizes)[::-1][: int(n - sizes.sum())]] += 1
    return sizes


def _place_groups(counts: np.ndarray, target: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One greedy placement (see :func:`stratified_group_split`): the part of every group."""
    assigned = np.zeros_like(target)
    part_of = np.empty(len(counts), dtype=int)
    order = rng.permutation(len(counts))
    for g in order[np.argsort(-counts[order].sum(axis=1), kind="stable")]:
        brings = counts[g]
        lag = ((target - assigned) / target * brings).sum(axis=1) / brings.sum()
        lacking = ((assigned == 0) & (brings > 0)).any(axis=1)
        part_of[g] = int(np.argmax(lag + _FIRST_OF_CLASS * lacking + 1e-9 * rng.random(3)))
        assigned[part_of[g]] += brings
    return part_of


def _balance_sizes(part_of: np.ndarray, counts: np.ndarray, sizes: np.ndarray, rng: np.random.Generator,
                   max_steps: int = 100) -> np.ndarray:
    """Move or swap groups between the fullest and emptiest part until part sizes hit ``sizes``
    (or no move helps), never leaving a part without a class it had."""
    part_of = part_of.copy()
    size_of = counts.sum(axis=1)
    for _ in range(max_steps):
        assigned = np.stack([counts[part_of == k].sum(axis=0) for k in range(3)])
        gap = assigned.sum(axis=1) - sizes
        if not gap.any():
            break
        over, under = int(np.argmax(gap)), int(np.argmin(gap))
        out_, in_ = np.flatnonzero(part_of == over), np.append(np.flatnonzero(part_of == under), -1)  # -1: a move
        delta = size_of[out_][:, None] - np.where(in_ >= 0, size_of[in_], 0)[None, :]
        change = np.abs(gap[over] - delta) + np.abs(gap[under] + delta) - abs(gap[over]) - abs(gap[under])
        brings_in = np.where((in_ >= 0)[:, None], counts[in_], 0)
        keeps = ((assigned[over] - counts[out_][:, None, :] + brings_in[None] > 0) | (assigned[over] == 0)).all(axis=2)
        keeps &= ((assigned[under] - brings_in[None] + counts[out_][:, None, :] > 0) | (assigned[under] == 0)).all(axis=2)
        change = np.where(keeps, change + 1e-6 * rng.random(change.shape), np.inf)
        i, j = np.unravel_index(np.argmin(change), change.shape)
        if change[i, j] >= 0:
            break
        part_of[out_[i]] = under
        if in_[j] >= 0:
            part_of[in_[j]] = over
    return part_of


def equalise_parts(table: pd.DataFrame, y: np.ndarray, rng: np.random.Generator,
                   whole: Sequence[str] = PARTS) -> pd.DataFrame:
    """Give every split the same part sizes (the smallest over splits), as batched fitting needs:
    a surplus array becomes ``unused`` in that split, taken from the class furthest above its
    share in that part and never the last array of a class in a part of ``whole``. An unused
    array belongs to no part, so a group still never reaches two parts.

    A part of ``whole`` that cannot shrink without losing a class is an error (:class:`TooSmall`);
    in any other part (a stability half's unused val/test) the last array of a class may go."""
    columns = [c for c in table.columns if c.startswith("split_")]
    sizes = {part: min(int((table[c] == part).sum()) for c in columns) for part in PARTS}
    y = np.asarray(y)
    overall = pd.Series(y).value_counts(normalize=True)
    for column in columns:
        cells = table[column].to_numpy(object).copy()
        for part in PARTS:
            while int((cells == part).sum()) > sizes[part]:
                members = np.flatnonzero(cells == part)
                counts = pd.Series(y[members]).value_counts()
                share = counts / counts.sum() - overall.reindex(counts.index)
                spare = share[counts > 1] if part in whole or (counts > 1).any() else share
                if spare.empty:
                    raise TooSmall(f"too few arrays: {column}'s {part} part holds one array per class and must "
                                   f"shrink to {sizes[part]} arrays, the smallest over splits")
                label = spare.idxmax()
                cells[rng.choice(members[y[members] == label])] = "unused"
        table[column] = cells
    return table


class TooSmall(ValueError):
    """A study too small (or too few groups) for the splits asked for."""


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
    class_names: Sequence[str] | None = None,
    name: str | None = None,
) -> pd.DataFrame:
    """``n_splits`` seeded stratified splits as a wide table: ``sample_id`` then one
    column per split (``split_00``, ...), each cell ``train``, ``val`` or ``test``.

    With ``groups`` the table records each array's group in a ``group`` column, no group is
    ever split across parts (:func:`stratified_group_split`), and arrays a split cannot place
    without unequal part sizes are ``unused`` there (:func:`equalise_parts`). A study too small
    for that (a class with fewer than 3 arrays or groups) is a :class:`~genesel.errors.DatasetError`
    naming the class (by ``class_names[code]`` where ``y`` holds codes) and ``name``.
    """
    check_sizes(np.asarray(y), groups, class_names, name)
    rng = np.random.default_rng(seed)
    table = pd.DataFrame({"sample_id": np.asarray(sample_ids, dtype=str)})
    if groups is not None:
        table["group"] = np.asarray(groups, dtype=str)
    for k in range(n_splits):
        if groups is None:
            table[split_column(k)] = stratified_split(np.asarray(y), fractions, rng)
        else:
            table[split_column(k)] = stratified_group_split(np.asarray(y), table["group"].to_numpy(), fractions, rng)
    return table if groups is None else equalise_parts(table, y, rng)


def check_sizes(y: np.ndarray, groups, class_names=None, name=None) -> None:
    """Every class needs an array (a group) in each of the three parts: one line naming the class."""
    from genesel.errors import DatasetError

    units = np.asarray(groups if groups is not None else np.arange(len(y)), dtype=str)
    for label in np.unique(y):
        n = len(np.unique(units[y == label]))
        if n < 3:
            shown = class_names[int(label)] if class_names is not None else label
            what = "groups (patients)" if groups is not None else "arrays"
            raise DatasetError(name, f"class {shown!r} has {n} {what}; splits into training, validation and test "
                                     f"need >= 3 {what} per class")


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
    return write_table(splits, path, sep="\t")


def load_splits(path: str | os.PathLike) -> pd.DataFrame:
    return pd.read_csv(path, sep="\t", dtype=str)
