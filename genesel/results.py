"""The one result type of a method on one dataset: per-split metrics, gene scores, selections,
predictions and diagnostics, with its files."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd


@dataclass
class MethodResult:
    """One method on every split of one dataset."""

    method: str
    metrics: pd.DataFrame  # one row per split
    scores: np.ndarray  # (S, p) per-split gene scores
    selected: np.ndarray  # (S, p) bool
    predictions: pd.DataFrame  # split, sample_id, true, predicted
    history: pd.DataFrame  # training diagnostics (spred family), may be empty
    #: (S, p) the linear head's share of each gene's weight (spred with both heads), NaN where unselected
    linear_share: np.ndarray | None = None

    def save(self, path) -> None:
        """Write ``path`` (npz: scores, selection) and ``path`` with .tsv suffixes, atomically."""
        from pathlib import Path

        from genesel.io import atomic_path, write_table

        path = Path(path)
        for name, table in (("metrics", self.metrics), ("predictions", self.predictions), ("history", self.history)):
            write_table(table, path.with_name(f"{path.stem}.{name}.tsv"), sep="\t")
        with atomic_path(path) as tmp:  # the fit itself last: its presence means every side table is written
            extra = {} if self.linear_share is None else {"linear_share": self.linear_share.astype(np.float32)}
            np.savez_compressed(tmp, scores=self.scores.astype(np.float32), selected=self.selected,
                                method=np.array(self.method), **extra)

    @classmethod
    def load(cls, path) -> MethodResult:
        from pathlib import Path

        path = Path(path)
        with np.load(path, allow_pickle=False) as data:
            scores, selected, method = data["scores"], data["selected"], str(data["method"])
            share = data["linear_share"] if "linear_share" in data else None
        tables = {}
        for name in ("metrics", "predictions", "history"):
            side = path.with_name(f"{path.stem}.{name}.tsv")
            try:
                tables[name] = pd.read_csv(side, sep="\t")
            except pd.errors.EmptyDataError:
                tables[name] = pd.DataFrame()
        return cls(method, tables["metrics"], scores, selected, tables["predictions"], tables["history"], share)
