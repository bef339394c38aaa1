"""The labelled expression dataset that every later stage consumes."""

from __future__ import annotations

import json
import os
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from genesel.errors import DatasetError
from genesel.io import atomic_path

CONTROL_PROBE_PREFIX = "AFFX-"


@dataclass
class Dataset:
    """Samples x probes expression matrix with one label per sample.

    ``X`` holds the values as published (not yet log-transformed, scaled or imputed:
    those steps are fitted per training split, see :mod:`genesel.preprocess`).
    """

    name: str
    X: np.ndarray  # (n_samples, n_probes) float32, NaN = missing
    probe_ids: np.ndarray  # (n_probes,) str
    gene_symbols: np.ndarray  # (n_probes,) str, "" when unknown
    sample_ids: np.ndarray  # (n_samples,) str
    y: np.ndarray  # (n_samples,) int64 class codes into class_names
    class_names: list[str]
    label_type: str = "disease state"
    metadata: dict = field(default_factory=dict)
    #: (n_samples,) str: the patient (or other unit) each array comes from; arrays of one group never
    #: straddle the parts of a split. ``None``: every array is its own group.
    groups: np.ndarray | None = None
    #: (n_probes,) str from the platform annotation ("" when unknown; several genes joined by " /// ")
    entrez_ids: np.ndarray | None = None
    gene_titles: np.ndarray | None = None

    def __post_init__(self) -> None:
        self.X = np.asarray(self.X, dtype=np.float32)
        self.probe_ids = np.asarray(self.probe_ids, dtype=str)
        self.gene_symbols = np.asarray(self.gene_symbols, dtype=str)
        self.sample_ids = np.asarray(self.sample_ids, dtype=str)
        self.y = np.asarray(self.y, dtype=np.int64)
        self.groups = np.asarray(self.sample_ids if self.groups is None else self.groups, dtype=str)
        for attribute in ("entrez_ids", "gene_titles"):
            value = getattr(self, attribute)
            setattr(self, attribute, np.asarray(np.full(len(self.probe_ids), "") if value is None else value, dtype=str))
        n, p = self.X.shape if self.X.ndim == 2 else (None, None)
        if self.X.ndim != 2:
            raise DatasetError(self.name, f"expression matrix must be 2-D, got {self.X.ndim}-D")
        if len(self.sample_ids) != n or len(self.y) != n or len(self.groups) != n:
            raise DatasetError(self.name, "sample ids, labels, groups and matrix rows differ in length")
        if not len(self.probe_ids) == len(self.gene_symbols) == len(self.entrez_ids) == len(self.gene_titles) == p:
            raise DatasetError(self.name, "probe ids, gene annotation and matrix columns differ in length")

    @property
    def n_samples(self) -> int:
        return self.X.shape[0]

    @property
    def n_probes(self) -> int:
        return self.X.shape[1]

    def class_counts(self) -> dict[str, int]:
        """Number of samples per class, in class-code order."""
        counts = np.bincount(self.y, minlength=len(self.class_names))
        return {c: int(k) for c, k in zip(self.class_names, counts)}

    def labels(self) -> np.ndarray:
        """Class names per sample."""
        return np.asarray(self.class_names, dtype=object)[self.y]

    def drop_control_probes(self, prefix: str = CONTROL_PROBE_PREFIX) -> Dataset:
        """Remove Affymetrix control probes (``AFFX-`` ids); no data statistic is used."""
        keep = ~np.char.startswith(self.probe_ids.astype(str), prefix)
        if not keep.any():
            raise DatasetError(self.name, f"every probe id starts with {prefix!r}; nothing left")
        return self.subset_probes(keep)

    def subset_probes(self, keep: np.ndarray) -> Dataset:
        """A copy holding only the probes where ``keep`` is true (bool mask or indices)."""
        return Dataset(
            self.name, self.X[:, keep], self.probe_ids[keep], self.gene_symbols[keep],
            self.sample_ids, self.y, list(self.class_names), self.label_type, dict(self.metadata), self.groups,
            self.entrez_ids[keep], self.gene_titles[keep],
        )

    def reorder_classes(self, first: Sequence[str]) -> Dataset:
        """A copy whose classes start with ``first`` (in that order), the others after them
        alphabetically. Class 0 is the reference of every fold change and the first class of every
        table and figure. A name that is no class is an error naming the classes."""
        first = list(dict.fromkeys(first))
        unknown = [c for c in first if c not in self.class_names]
        if unknown:
            raise DatasetError(self.name, f"class {unknown[0]!r} (reference_class or classes) is not one of the "
                                          f"classes {', '.join(map(repr, self.class_names))}")
        order = first + sorted(c for c in self.class_names if c not in first)
        code = np.array([order.index(c) for c in self.class_names], dtype=np.int64)
        return Dataset(self.name, self.X, self.probe_ids, self.gene_symbols, self.sample_ids, code[self.y], order,
                       self.label_type, dict(self.metadata), self.groups, self.entrez_ids, self.gene_titles)

    @property
    def reference_class(self) -> str:
        """The class every fold change is measured against (class 0)."""
        return self.class_names[0]

    @property
    def simulated(self) -> bool:
        """Whether the arrays come from ``genesel simulate`` (its GDS says so in its description): not biology."""
        return "genesel simulate" in str(self.metadata.get("description", ""))

    @property
    def grouped(self) -> bool:
        """Whether some group holds more than one array."""
        return len(np.unique(self.groups)) < self.n_samples

    # -- persistence -------------------------------------------------------------------------
    def save(self, path: str | os.PathLike) -> Path:
        """Write to a ``.npz`` file atomically (a half-written file never appears)."""
        header = {
            "name": self.name,
            "class_names": list(self.class_names),
            "label_type": self.label_type,
            "metadata": self.metadata,
        }
        with atomic_path(path) as tmp:
            np.savez_compressed(
                tmp, X=self.X, probe_ids=self.probe_ids, gene_symbols=self.gene_symbols,
                sample_ids=self.sample_ids, y=self.y, groups=self.groups, entrez_ids=self.entrez_ids,
                gene_titles=self.gene_titles, header=np.array(json.dumps(header)),
            )
        return Path(path)

    @classmethod
    def load(cls, path: str | os.PathLike) -> Dataset:
        """Read a dataset written by :meth:`save`."""
        with np.load(path, allow_pickle=False) as data:
            header = json.loads(str(data["header"]))
            return cls(
                name=header["name"], X=data["X"], probe_ids=data["probe_ids"],
                gene_symbols=data["gene_symbols"], sample_ids=data["sample_ids"], y=data["y"],
                class_names=header["class_names"], label_type=header["label_type"],
                metadata=header["metadata"],
                **{key: data[key] for key in ("groups", "entrez_ids", "gene_titles") if key in data},
            )


def encode_labels(
    name: str,
    sample_ids: Sequence[str],
    labels: Sequence[str | None],
    min_class_size: int = 3,
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Turn per-sample label strings into class codes.

    Samples with no label (``None``/NaN/empty) are dropped with a warning, as are classes
    smaller than ``min_class_size`` (stratified 60/20/20 splits need at least 3 per class).
    Returns ``(kept_row_indices, codes, class_names)``; fewer than two classes is an error.
    """
    labels = pd.Series(list(labels), dtype=object)
    missing = labels.isna() | (labels.astype(str).str.strip() == "")
    if missing.any():
        warnings.warn(
            f"{name}: {int(missing.sum())} of {len(labels)} samples have no label and are dropped",
            stacklevel=2,
        )
    labels = labels[~missing].astype(str)
    counts = labels.value_counts()
    small = counts[counts < min_class_size]
    if len(small):
        listed = ", ".join(f"{c!r} ({k})" for c, k in small.items())
        warnings.warn(
            f"{name}: dropping classes with fewer than {min_class_size} samples: {listed}",
            stacklevel=2,
        )
        labels = labels[~labels.isin(small.index)]
    class_names = sorted(labels.unique())
    if len(class_names) < 2:
        raise DatasetError(
            name,
            f"need at least 2 classes with >= {min_class_size} samples each, found "
            f"{len(class_names)} ({', '.join(class_names) or 'none'})",
        )
    codes = labels.map({c: i for i, c in enumerate(class_names)}).to_numpy(np.int64)
    return labels.index.to_numpy(), codes, class_names


def empty_arrays(name: str, X: np.ndarray, sample_ids) -> np.ndarray:
    """Arrays (rows) with no value at all, named in a warning; the readers drop them before labels
    are chosen (imputing them would invent a column of medians)."""
    empty = np.isnan(X).all(axis=1)
    if empty.any():
        listed = ", ".join(np.asarray(sample_ids, dtype=str)[empty][:5])
        warnings.warn(f"{name}: {int(empty.sum())} array(s) have no value at all and are dropped: {listed}", stacklevel=3)
    return empty


def check_matrix(name: str, X: np.ndarray, sample_ids: np.ndarray, probe_ids: np.ndarray) -> None:
    """Reject matrices that no later stage can use, naming the problem."""
    dup_samples = pd.Index(sample_ids)[pd.Index(sample_ids).duplicated()]
    if len(dup_samples):
        raise DatasetError(name, f"duplicated sample ids: {', '.join(map(str, dup_samples[:5]))}")
    dup_probes = pd.Index(probe_ids)[pd.Index(probe_ids).duplicated()]
    if len(dup_probes):
        raise DatasetError(name, f"duplicated probe ids: {', '.join(map(str, dup_probes[:5]))}")
    if X.shape[0] < 2:
        raise DatasetError(name, f"only {X.shape[0]} array(s); need several per class")
    if X.shape[1] == 0:
        raise DatasetError(name, "no probes in the expression table")
    if np.isinf(X).any():
        n_inf = int(np.isinf(X).sum())
        raise DatasetError(name, f"{n_inf} infinite values in the expression table")
    if np.isnan(X).all():
        raise DatasetError(name, "every expression value is missing")
