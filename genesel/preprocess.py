"""Per-split preprocessing as scikit-learn transformers, fitted on training arrays only.

Order: drop probes missing in more than half of the training arrays -> log2 when the
training values look unlogged (GEO2R's rule; non-positive values become missing) -> drop probes
that are now missing in more than half -> impute gaps with the training median -> standardise
every probe with its training mean and standard deviation.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, OneToOneFeatureMixin, TransformerMixin
from sklearn.feature_selection import SelectorMixin
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.validation import check_is_fitted, validate_data

from genesel.dataset import Dataset
from genesel.splits import PARTS, n_splits_in, split_indices


def looks_unlogged(X: np.ndarray) -> bool:
    """GEO2R's test: log2-transform when the 99th percentile exceeds 100, or when the
    range exceeds 50 with a positive lower quartile (NaNs ignored)."""
    values = np.asarray(X, dtype=np.float64)
    values = values[np.isfinite(values)]
    if values.size == 0:
        return False
    q0, q25, _, _, q99, q100 = np.quantile(values, [0.0, 0.25, 0.5, 0.75, 0.99, 1.0])
    return bool(q99 > 100 or (q100 - q0 > 50 and q25 > 0))


def log_base_factor(value_type: str | None) -> float:
    """Factor that turns values of a GEO value type into log2 units: ``log10 ratio`` / ``log10
    count`` -> log2(10), ``loge`` (natural log) -> 1/ln 2, anything else 1."""
    kind = " ".join(str(value_type or "").lower().split())
    if "log10" in kind:
        return float(np.log2(10.0))
    if "loge" in kind or "log e " in f"{kind} " or "natural log" in kind or kind.startswith("ln "):
        return float(1.0 / np.log(2.0))
    return 1.0


def display_log2(X: np.ndarray, reference: np.ndarray | None = None, value_type: str | None = None) -> np.ndarray:
    """log2 values for tables and figures (not for fitting): log2 where GEO2R's rule says the
    values (or ``reference``, e.g. the whole matrix when ``X`` is some of its columns) are
    unlogged, non-positive values becoming NaN; values a GDS declares as log10 or natural-log
    (``value_type``) rescaled to log2; else the values as they are."""
    X = np.asarray(X, dtype=np.float64)
    if not looks_unlogged(X if reference is None else reference):
        return X * log_base_factor(value_type)
    with np.errstate(all="ignore"):
        return np.log2(np.where(X > 0, X, np.nan))


class MissingProbeFilter(SelectorMixin, BaseEstimator):
    """Drop probes whose share of missing training values exceeds ``max_missing``."""

    def __init__(self, max_missing: float = 0.5):
        self.max_missing = max_missing

    def fit(self, X, y=None):
        X = validate_data(self, X, ensure_all_finite="allow-nan", dtype=np.float64)
        self.missing_fraction_ = np.isnan(X).mean(axis=0)
        self.support_ = self.missing_fraction_ <= self.max_missing
        if not self.support_.any():
            raise ValueError(f"every probe has more than {self.max_missing:.0%} missing training values")
        return self

    def _get_support_mask(self) -> np.ndarray:
        check_is_fitted(self)
        return self.support_

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        return tags


class Log2IfUnlogged(OneToOneFeatureMixin, TransformerMixin, BaseEstimator):
    """GEO2R's log2 rule, decided on the training values and recorded in ``apply_log2_``.

    ``log2="auto"`` applies the test; ``True``/``False`` force the choice. When applied,
    non-positive values become missing (as GEO2R does) and are imputed downstream.
    """

    def __init__(self, log2: bool | str = "auto"):
        self.log2 = log2

    def fit(self, X, y=None):
        X = validate_data(self, X, ensure_all_finite="allow-nan", dtype=np.float64)
        if self.log2 == "auto":
            self.apply_log2_ = looks_unlogged(X)
        elif isinstance(self.log2, bool):
            self.apply_log2_ = self.log2
        else:
            raise ValueError(f"log2 must be 'auto', True or False, got {self.log2!r}")
        return self

    def transform(self, X):
        check_is_fitted(self)
        X = validate_data(self, X, ensure_all_finite="allow-nan", dtype=np.float64, reset=False, copy=True)
        if self.apply_log2_:
            X[X <= 0] = np.nan
            np.log2(X, out=X)
        return X

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        return tags


def make_preprocessor(max_missing: float = 0.5, log2: bool | str = "auto") -> Pipeline:
    """The genesel preprocessing pipeline; fit it on the training arrays of one split."""
    return Pipeline([
        ("filter", MissingProbeFilter(max_missing=max_missing)),
        ("log2", Log2IfUnlogged(log2=log2)),
        # again after log2, which makes non-positive values missing: a probe that is mostly
        # non-positive would otherwise be kept and imputed almost entirely
        ("filter_log", MissingProbeFilter(max_missing=max_missing)),
        ("impute", SimpleImputer(strategy="median", keep_empty_features=True)),
        ("scale", StandardScaler()),
    ])


def kept_probes(preprocessor: Pipeline) -> np.ndarray:
    """Boolean mask over input probes of those that a fitted preprocessor keeps."""
    kept = preprocessor.named_steps["filter"].get_support().copy()
    kept[kept] = preprocessor.named_steps["filter_log"].get_support()
    return kept


def preprocess_split(
    X: np.ndarray, parts: dict[str, np.ndarray], max_missing: float = 0.5, log2: bool | str = "auto"
) -> tuple[dict[str, np.ndarray], Pipeline]:
    """Fit the preprocessor on ``X[parts["train"]]`` and transform every part with it.

    Returns ``({part: float32 matrix}, fitted pipeline)``; no statistic ever sees
    validation or test arrays.
    """
    preprocessor = make_preprocessor(max_missing=max_missing, log2=log2)
    preprocessor.fit(X[parts["train"]])
    out = {part: preprocessor.transform(X[idx]).astype(np.float32) for part, idx in parts.items()}
    return out, preprocessor


@dataclass
class StackedSplits:
    """Preprocessed arrays of every split, stacked on a leading split axis.

    Each split's preprocessor is fitted on that split's training arrays. All splits keep the
    dataset's full probe list: a probe that a split's filter drops is a column of zeros there
    (zero is the training mean after scaling), so it carries no signal and its weights decay.
    """

    X: dict[str, np.ndarray]  # part -> (S, n_part, p) float32
    y: dict[str, np.ndarray]  # part -> (S, n_part) int64
    index: dict[str, np.ndarray]  # part -> (S, n_part) row indices into the dataset
    kept: np.ndarray  # (S, p) bool: probes kept by each split's filter
    log2_applied: np.ndarray  # (S,) bool
    #: (S, p) each split's per-gene standard deviation of the log2 training values (1 where a probe
    #: is dropped): ``X * scale`` is back on the log2 scale, up to a per-gene shift
    scale: np.ndarray | None = None
    #: (S, n_train) the patient of each training array where some patient has several arrays, else None
    groups: np.ndarray | None = None

    @property
    def n_splits(self) -> int:
        return self.kept.shape[0]


def stack_splits(dataset: Dataset, splits: pd.DataFrame, max_missing: float = 0.5, log2: bool | str = "auto",
                 unit: str = "splits") -> StackedSplits:
    """Preprocess every split (fitted on its training arrays) and stack the parts; progress per split (``unit``
    names them in the log: at GDS scale 20 splits take about half a minute)."""
    from genesel.progress import progress

    S = n_splits_in(splits)
    X: dict[str, list] = {part: [] for part in PARTS}
    y: dict[str, list] = {part: [] for part in PARTS}
    index: dict[str, list] = {part: [] for part in PARTS}
    kept, logged, scales = [], [], []
    sizes = None
    for k in progress(range(S), desc=f"preprocessing {unit}"):
        parts = split_indices(splits, k, dataset.sample_ids)
        these = tuple(len(parts[p]) for p in PARTS)
        if sizes is not None and these != sizes:
            raise ValueError(f"{dataset.name}: split {k} has part sizes {these}, split 0 has {sizes}")
        sizes = these
        transformed, pipe = preprocess_split(dataset.X, parts, max_missing=max_missing, log2=log2)
        mask = kept_probes(pipe)
        for part in PARTS:
            full = np.zeros((len(parts[part]), dataset.n_probes), dtype=np.float32)
            full[:, mask] = transformed[part]
            X[part].append(full)
            y[part].append(dataset.y[parts[part]])
            index[part].append(parts[part])
        kept.append(mask)
        scale = np.ones(dataset.n_probes)
        scale[mask] = pipe.named_steps["scale"].scale_
        scales.append(scale)
        logged.append(pipe.named_steps["log2"].apply_log2_)
    return StackedSplits(
        X={p: np.stack(v) for p, v in X.items()}, y={p: np.stack(v) for p, v in y.items()},
        index={p: np.stack(v) for p, v in index.items()}, kept=np.stack(kept), log2_applied=np.asarray(logged),
        scale=np.stack(scales), groups=np.stack([dataset.groups[i] for i in index["train"]]) if dataset.grouped else None,
    )
