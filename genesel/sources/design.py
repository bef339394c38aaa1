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
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from genesel.dataset import encode_labels
from genesel.errors import DatasetError

#: annotation keys that usually name a patient: with no ``group`` set, one whose values repeat becomes the group
PATIENT_KEYS = ("individual", "patient", "patient id", "subject", "subject id", "donor", "case", "case id")
#: the label when none is named: a GDS subset type / series characteristic; a sample sheet's column
DEFAULT_LABEL = "disease state"
SHEET_LABEL = "label"
#: ``group`` spelled so: no grouping, not even the patient-like key found by default
NO_GROUP = "none"


def normalise(value: object) -> str:
    """Case- and space-insensitive spelling used to match config values to annotations."""
    return " ".join(str(value).split()).casefold()


@dataclass(frozen=True)
class Design:
    """Which annotation is the label, which arrays to keep, how to name classes, what groups arrays.

    ``label`` None: :data:`DEFAULT_LABEL` (:data:`SHEET_LABEL` for a sample sheet or ``obs``).
    ``group`` None: an annotation key named like a patient (:data:`PATIENT_KEYS`) whose values repeat
    groups the arrays, with a warning saying so; ``"none"`` (:data:`NO_GROUP`): no grouping.
    """

    label: str | None = None
    where: Mapping[str, list[str]] = field(default_factory=dict)
    classes: Mapping[str, str] = field(default_factory=dict)
    group: str | None = None
    group_pattern: str | None = None

    @classmethod
    def of(cls, design: Design | str | None, sheet: bool = False) -> Design:
        """``design`` (a Design, a label name or None) with its label default filled in."""
        design = cls(design) if isinstance(design, str) or design is None else design
        if design.label is None:
            design = replace(design, label=SHEET_LABEL if sheet else DEFAULT_LABEL)
        return design

    @property
    def ungrouped(self) -> bool:
        """Grouping switched off by the user (``group: none``)."""
        return self.group is not None and normalise(self.group) == NO_GROUP


@dataclass(frozen=True)
class ReadOptions:
    """What a reader needs besides the file and the design; one set for every reader
    (:data:`genesel.sources.readers.READERS`), each using the options that apply to its files."""

    name: str | None = None
    min_class_size: int = 3
    label_mode: str = "single"  # GDS only: 'paper' reproduces the reference code's duplicated rows
    platform: str | None = None  # a series on several platforms
    symbol_column: str | None = None  # a table's or an .h5ad var column of gene symbols
    sample_sheet: str | None = None  # with an expression table


@dataclass(frozen=True)
class Labels:
    """What :func:`apply_design` decides: the arrays kept, their classes and groups."""

    rows: np.ndarray  # row indices kept
    codes: np.ndarray
    class_names: list[str]
    groups: np.ndarray | None  # None: ungrouped
    group_key: str | None  # the annotation that grouped the arrays


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


def _group_key(name: str, annotations: pd.DataFrame, design: Design, kind: str) -> tuple[str | None, bool]:
    """The annotation column that groups arrays, and whether it was chosen by default: ``design.group``,
    else a patient-like key whose values repeat (a warning says so and how to turn it off)."""
    if design.ungrouped:
        return None, False
    if design.group is not None:
        return find_column(name, annotations, design.group, kind), False
    for key in patient_keys(annotations):
        if normalise(key) == normalise(design.label):
            continue  # the label itself: grouping by it would put each class in one part
        values = annotations[key].dropna()
        if values.duplicated().any():
            warnings.warn(f"{name}: grouping arrays by {kind} {key!r} ({values.nunique()} values for {len(values)} "
                          "arrays) so that one patient's arrays never straddle training and test; set group: none "
                          "(--group none) to turn this off", stacklevel=4)
            return key, True
        warnings.warn(f"{name}: {kind} {key!r} looks like a patient id but every array has its own value; arrays of "
                      f"one patient may straddle training and test (set group: {{key: {key!r}, pattern: ...}}, a "
                      "regex whose first group is the patient part, e.g. '^(.*?)[AB]$')", stacklevel=4)
    return None, False


def _apply_pattern(name: str, column: pd.Series, values: pd.Series, pattern_text: str) -> pd.Series:
    """Group ids through ``pattern_text`` (first capture group, else the match); a pattern that matches
    fewer than half of the values is an error: the splits would silently be ungrouped."""
    try:
        pattern = re.compile(pattern_text)
    except re.error as exc:
        raise DatasetError(name, f"group pattern {pattern_text!r} is not a regular expression: {exc}") from None
    found = values.map(lambda v: pattern.search(v) if isinstance(v, str) else None)
    present = values.notna()
    matched = int((found.notna() & present).sum())
    if matched == 0 or matched < present.sum() / 2:
        examples = ", ".join(repr(v) for v in values[present & found.isna()].head(3))
        raise DatasetError(name, f"group pattern {pattern_text!r} matches {matched} of {int(present.sum())} "
                                 f"{column.name!r} values (e.g. {examples}); fix the pattern so that it finds the "
                                 "patient in each value")
    if matched < present.sum():
        warnings.warn(f"{name}: group pattern {pattern_text!r} does not match {int(present.sum()) - matched} "
                      f"{column.name!r} value(s); those keep their whole value", stacklevel=4)
    return pd.Series([(m.group(1) if m.groups() else m.group(0)) if m is not None else v
                      for m, v in zip(found, values)], index=values.index, dtype="string")


def _groups(name: str, annotations: pd.DataFrame, design: Design, kind: str) -> tuple[np.ndarray | None, str | None, bool]:
    """One group id per array, the key that gave them (``None``: ungrouped) and whether it was chosen by
    default; an array without a value is a group of its own."""
    key, auto = _group_key(name, annotations, design, kind)
    if key is None:
        return None, None, False
    column = annotations[key]
    values = column.astype("string").str.strip()
    if design.group_pattern:
        values = _apply_pattern(name, column, values, design.group_pattern)
    alone = values.isna() | (values == "")
    if alone.any():
        warnings.warn(f"{name}: {int(alone.sum())} array(s) have no {column.name!r} value; each is a group of its own",
                      stacklevel=3)
    groups = np.where(alone.to_numpy(), "array " + annotations.index.to_numpy(str), values.fillna("").to_numpy(str))
    return groups, str(key), auto


def check_group_spread(name: str, class_names: list[str], codes: np.ndarray, groups: np.ndarray,
                       key: str | None = None, minimum: int = 3, by_default: bool = False) -> None:
    """Every class needs arrays in ``minimum`` groups (a training, a validation and a test part);
    else one line naming the class and its group count."""
    for code, class_name in enumerate(class_names):
        n_groups = len(np.unique(np.asarray(groups)[np.asarray(codes) == code]))
        if n_groups < minimum:
            by = f" of {key!r}" if key else ""
            raise DatasetError(name, f"class {class_name!r} has arrays in only {n_groups} group(s){by}; splits into "
                                     f"training, validation and test keep each group whole and need >= {minimum} "
                                     "groups per class (merge classes with classes:, drop the class with where:, or "
                                     "check the group key and pattern"
                                     + (f"; {key!r} was chosen as the group by default: group: none turns that off, "
                                        "at the risk of one patient's arrays in training and test)" if by_default else ")"))


def apply_design(
    name: str, annotations: pd.DataFrame, design: Design, min_class_size: int = 3, kind: str = "characteristic",
    unusable: np.ndarray | None = None,
) -> Labels:
    """Labels and groups of the arrays ``design`` keeps.

    ``annotations`` has one row per array (index: sample ids), values as strings, missing as NaN.
    Arrays without a label and classes under ``min_class_size`` are dropped with a warning (see
    :func:`encode_labels`), and so are ``unusable`` arrays (e.g. :func:`~genesel.dataset.empty_arrays`).
    Groups come from ``design.group``, else from a patient-like key (see :class:`Design`).
    """
    design = Design.of(design)
    label = annotations[find_column(name, annotations, design.label, kind)]
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
    groups, key, auto = _groups(name, annotations.iloc[rows], design, kind)
    if groups is not None:
        check_group_spread(name, class_names, codes, groups, key, by_default=auto)
    return Labels(rows, codes, class_names, groups, key)


def patient_keys(annotations: pd.DataFrame) -> list[str]:
    """Annotation columns whose name suggests a patient id (grouped by default when their values repeat)."""
    return [c for c in annotations.columns if normalise(c) in PATIENT_KEYS]
