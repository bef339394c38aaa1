"""AnnData (``.h5ad``) in: ``X`` (arrays x probes), an ``obs`` column as the label, ``var`` index as probe ids."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from genesel.dataset import Dataset, check_matrix, empty_arrays
from genesel.errors import DatasetError
from genesel.sources.design import Design, ReadOptions, apply_design
from genesel.sources.integrity import fail


def read_h5ad(path: str | os.PathLike, design: Design | str | None = None, **options) -> Dataset:
    """Read an ``.h5ad`` file: ``design`` names ``obs`` columns (label, default ``disease state``; where, group);
    an optional ``var`` column (``symbol_column``, else ``gene_symbol`` or ``symbol`` when present)
    holds gene symbols. ``options``: :class:`~genesel.sources.design.ReadOptions`."""
    import anndata

    opts, design = ReadOptions(**options), Design.of(design)
    name, symbol_column = opts.name, opts.symbol_column
    path = Path(path)
    name = name or path.name.removesuffix(".h5ad")
    try:
        adata = anndata.read_h5ad(path)
    except (OSError, KeyError, ValueError) as exc:
        raise DatasetError(name, f"cannot read {path.name} as AnnData: {str(exc).splitlines()[0][:160]}") from None
    X = adata.X.toarray() if hasattr(adata.X, "toarray") else np.asarray(adata.X)
    if not np.issubdtype(X.dtype, np.number) or np.issubdtype(X.dtype, np.bool_):
        raise fail(name, path, f"X holds {X.dtype} values, not numbers")
    X = X.astype(np.float64)
    probe_ids = adata.var_names.to_numpy(str)
    sample_ids = adata.obs_names.to_numpy(str)
    check_matrix(name, X, sample_ids, probe_ids)
    symbol_column = symbol_column or next((c for c in ("gene_symbol", "symbol") if c in adata.var.columns), None)
    if symbol_column is not None and symbol_column not in adata.var.columns:
        raise DatasetError(name, f"no var column {symbol_column!r}; var has {list(adata.var.columns)[:8]}")
    symbols = adata.var[symbol_column].astype(str).fillna("").to_numpy(str) if symbol_column else np.full(len(probe_ids), "")
    obs = adata.obs.astype("string").astype(object).where(adata.obs.notna())
    labels = apply_design(name, obs, design, opts.min_class_size, kind="obs column",
                          unusable=empty_arrays(name, X, sample_ids))
    return Dataset(
        name=name, X=X[labels.rows], probe_ids=probe_ids, gene_symbols=symbols, sample_ids=sample_ids[labels.rows],
        y=labels.codes, class_names=labels.class_names, label_type=design.label,
        metadata={"title": name, "source": str(path), "group": labels.group_key}, groups=labels.groups,
    )
