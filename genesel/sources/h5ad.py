"""AnnData (``.h5ad``) in: ``X`` (arrays x probes), an ``obs`` column as the label, ``var`` index as probe ids."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from genesel.dataset import Dataset, check_matrix, empty_arrays
from genesel.errors import DatasetError
from genesel.sources.design import Design, apply_design


def read_h5ad(
    path: str | os.PathLike,
    design: Design,
    name: str | None = None,
    symbol_column: str | None = None,
    min_class_size: int = 3,
) -> Dataset:
    """Read an ``.h5ad`` file: ``design`` names ``obs`` columns (label, where, group); an optional
    ``var`` column holds gene symbols (``gene_symbol`` or ``symbol`` is used when present)."""
    import anndata

    path = Path(path)
    name = name or path.name.removesuffix(".h5ad")
    try:
        adata = anndata.read_h5ad(path)
    except (OSError, KeyError, ValueError) as exc:
        raise DatasetError(name, f"cannot read {path.name} as AnnData: {str(exc).splitlines()[0][:160]}") from None
    X = adata.X.toarray() if hasattr(adata.X, "toarray") else np.asarray(adata.X)
    X = X.astype(np.float64)
    probe_ids = adata.var_names.to_numpy(str)
    sample_ids = adata.obs_names.to_numpy(str)
    check_matrix(name, X, sample_ids, probe_ids)
    symbol_column = symbol_column or next((c for c in ("gene_symbol", "symbol") if c in adata.var.columns), None)
    if symbol_column is not None and symbol_column not in adata.var.columns:
        raise DatasetError(name, f"no var column {symbol_column!r}; var has {list(adata.var.columns)[:8]}")
    symbols = adata.var[symbol_column].astype(str).fillna("").to_numpy(str) if symbol_column else np.full(len(probe_ids), "")
    obs = adata.obs.astype("string").astype(object).where(adata.obs.notna())
    rows, codes, class_names, groups = apply_design(name, obs, design, min_class_size, kind="obs column",
                                                    unusable=empty_arrays(name, X, sample_ids))
    return Dataset(
        name=name, X=X[rows], probe_ids=probe_ids, gene_symbols=symbols, sample_ids=sample_ids[rows], y=codes,
        class_names=class_names, label_type=design.label, metadata={"title": name, "source": str(path)},
        groups=groups if design.group else None,
    )
