"""One dataset, its shared splits, and per-split preprocessed arrays stacked for batched fitting."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from genesel.dataset import Dataset
from genesel.preprocess import kept_probes, preprocess_split
from genesel.splits import PARTS, n_splits_in, split_indices


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

    @property
    def n_splits(self) -> int:
        return self.kept.shape[0]


def stack_splits(dataset: Dataset, splits: pd.DataFrame, max_missing: float = 0.5, log2: bool | str = "auto") -> StackedSplits:
    """Preprocess every split (fitted on its training arrays) and stack the parts."""
    S = n_splits_in(splits)
    X: dict[str, list] = {part: [] for part in PARTS}
    y: dict[str, list] = {part: [] for part in PARTS}
    index: dict[str, list] = {part: [] for part in PARTS}
    kept, logged = [], []
    sizes = None
    for k in range(S):
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
        logged.append(pipe.named_steps["log2"].apply_log2_)
    return StackedSplits(
        X={p: np.stack(v) for p, v in X.items()}, y={p: np.stack(v) for p, v in y.items()},
        index={p: np.stack(v) for p, v in index.items()}, kept=np.stack(kept), log2_applied=np.asarray(logged),
    )
