"""Per-sample annotations -> one label and one group per array.

Every source gives a table of per-sample annotations: a GDS its subset types, a GEO series its
``!Sample_characteristics_ch1`` keys (plus title and source name), a sample sheet or an AnnData
``obs`` its columns. A :class:`Design` names the column that is the label, may keep only some
arrays (``where``), merge or rename classes (``classes``) and name the column that groups arrays
of one patient (``group``, optionally through a regular expression). This module is the one place
where that happens.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from genesel.dataset import encode_labels
from genesel.errors import DatasetError

#: annotation keys that usually name a patient: ``inspect`` and ``prepare`` warn when one is present
#: and no ``group`` is set
PATIENT_KEYS = ("individual", "patient", "patient id", "subject", "subject id", "donor", "case", "case id")


def normalise(value: object) -> str:
    """Case- and space-insensitive spelling used to match config values to annotations."""
    return " ".join(str(value).split()).casefold()


@dataclass(frozen=True)
class Design:
    """Which annotation is the label, which arrays to keep, how to name classes, what groups arrays."""

    label: str
    where: Mapping[str, list[str]] = field(default_factory=dict)
    classes: Mapping[str, str] = field(default_factory=dict)
    group: str | None = None
    group_pattern: str | None = None


def find_column(name: str, annotations: pd.DataFrame, key: str, kind: str) -> str:
    """The column of ``annotations`` called ``key`` (any case); else one line listing the keys."""
    by_spelling = {normalise(c): c for c in annotations.columns}
    if normalise(key) in by_spelling:
        return by_spelling[normalise(key)]
    listed = "; ".join(f"{c!r} ({annotations[c].nunique()} values)" for c in annotations.columns)
    raise DatasetError(name, f"no {kind} {key!r}; available: {listed or 'none'}")


def _matching(name: str, column: pd.Series, wanted: list[str], what: str) -> pd.Series:
    """Rows of ``column`` whose value is one of ``wanted`` (spelling-insensitive); a wanted value
    that no array has is an error (a typo would otherwise silently drop arrays)."""
    spelled = column.map(normalise, na_action="ignore")
    absent = [w for w in wanted if normalise(w) not in set(spelled.dropna())]
    if absent:
        values = ", ".join(repr(v) for v in column.dropna().unique()[:8])
        raise DatasetError(name, f"{what}: no array has {column.name!r} = {absent[0]!r}; values are {values}")
    return spelled.isin({normalise(w) for w in wanted})


def _groups(name: str, annotations: pd.DataFrame, design: Design, kind: str) -> np.ndarray:
    """One group id per array: the group column (through ``group_pattern``); an array without a
    value is a group of its own."""
    if design.group is None:
        return annotations.index.to_numpy(str)
    column = annotations[find_column(name, annotations, design.group, kind)]
    values = column.astype("string").str.strip()
    if design.group_pattern:
        pattern = re.compile(design.group_pattern)
        found = values.map(lambda v: pattern.search(v) if isinstance(v, str) else None)
        unmatched = int((found.isna() & values.notna()).sum())
        if unmatched:
            warnings.warn(f"{name}: group pattern {design.group_pattern!r} does not match {unmatched} "
                          f"{column.name!r} value(s); those keep their whole value", stacklevel=3)
        values = pd.Series([
            (m.group(1) if m.groups() else m.group(0)) if m is not None else v
            for m, v in zip(found, values)
        ], index=values.index, dtype="string")
    alone = values.isna() | (values == "")
    if alone.any():
        warnings.warn(f"{name}: {int(alone.sum())} array(s) have no {column.name!r} value; each is a group of its own",
                      stacklevel=3)
    return np.where(alone.to_numpy(), "array " + annotations.index.to_numpy(str), values.fillna("").to_numpy(str))


def apply_design(
    name: str, annotations: pd.DataFrame, design: Design, min_class_size: int = 3, kind: str = "characteristic",
    unusable: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, list[str], np.ndarray]:
    """Labels and groups of the arrays ``design`` keeps.

    ``annotations`` has one row per array (index: sample ids), values as strings, missing as NaN.
    Returns ``(row indices kept, class codes, class names, group ids)``; arrays without a label and
    classes under ``min_class_size`` are dropped with a warning (see :func:`encode_labels`), and so
    are ``unusable`` arrays (e.g. :func:`~genesel.dataset.empty_arrays`).
    """
    label = annotations[find_column(name, annotations, design.label, kind)]
    if design.group is None:
        for key in patient_keys(annotations):
            warnings.warn(f"{name}: {kind} {key!r} looks like a patient id and no group is set: arrays of one "
                          f"patient may straddle training and test (set group: {{key: {key!r}}})", stacklevel=3)
    keep = pd.Series(True if unusable is None else ~np.asarray(unusable), index=annotations.index)
    for key, wanted in design.where.items():
        column = annotations[find_column(name, annotations, key, kind)]
        keep &= _matching(name, column, wanted, "where")
    if not keep.any():
        raise DatasetError(name, "the 'where' conditions keep no array")
    if design.classes:
        _matching(name, label, list(design.classes), "classes")
        rename = {normalise(k): v for k, v in design.classes.items()}
        label = label.map(lambda v: rename.get(normalise(v), v), na_action="ignore")
    kept = np.flatnonzero(keep.to_numpy())
    rows, codes, class_names = encode_labels(name, annotations.index[kept], label.to_numpy(object)[kept], min_class_size)
    rows = kept[rows]
    return rows, codes, class_names, _groups(name, annotations.iloc[rows], design, kind)


def patient_keys(annotations: pd.DataFrame) -> list[str]:
    """Annotation columns whose name suggests a patient id (for the ungrouped-design warning)."""
    return [c for c in annotations.columns if normalise(c) in PATIENT_KEYS]
