"""A dataset's results as AnnData (``.h5ad``), for scanpy / omicverse users."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from genesel.dataset import Dataset
from genesel.io import atomic_path
from genesel.preprocess import display_log2

#: per-method columns of a gene table carried into ``var`` as ``{method}_{column}``
METHOD_COLUMNS = ("rank", "status", "score", "selection_frequency", "median_rank", "selection_probability", "stable",
                  "heldout_p", "linear_share", "head")
#: columns of a gene table that describe the gene, not the method
GENE_COLUMNS = ("probe_id", "gene_symbol", "entrez_id", "gene_title")


def results_anndata(dataset: Dataset, splits: pd.DataFrame, genes: dict[str, pd.DataFrame]):
    """AnnData of one dataset: ``X`` log2 expression as analysed (before per-split scaling and
    imputation, which differ by split), ``layers["published"]`` the values as published; ``obs``
    label, group and each split's part; ``var`` symbols, every method's rank (NaN: no rank, see ``status``),
    status, score, selection frequency, median rank, selection probability, stable flag, held-out p
    and head, and the descriptive statistics of the gene tables."""
    import anndata

    obs = pd.DataFrame({"label": pd.Categorical(dataset.labels(), categories=dataset.class_names),
                        "group": dataset.groups}, index=pd.Index(dataset.sample_ids, name="sample_id"))
    parts = splits.set_index("sample_id").reindex(obs.index)
    for column in [c for c in parts.columns if c.startswith("split_")]:
        obs[column] = pd.Categorical(parts[column], categories=["train", "val", "test", "unused"])
    var = pd.DataFrame({"gene_symbol": dataset.gene_symbols, "entrez_id": dataset.entrez_ids,
                        "gene_title": dataset.gene_titles}, index=pd.Index(dataset.probe_ids, name="probe_id"))
    for method, table in genes.items():
        by_probe = table.set_index(table["probe_id"].astype(str)).reindex(var.index)
        for column in (c for c in METHOD_COLUMNS if c in table):
            var[f"{method}_{column}"] = by_probe[column].to_numpy()
        statistics = [c for c in table.columns if c not in (*GENE_COLUMNS, *METHOD_COLUMNS) and c not in var]
        for column in statistics:
            var[column] = by_probe[column].to_numpy()
    return anndata.AnnData(
        X=display_log2(dataset.X, value_type=dataset.metadata.get("value_type")).astype(np.float32), obs=obs, var=var,
        layers={"published": dataset.X.astype(np.float32)},
        uns={"genesel": {"dataset": dataset.name, "label": dataset.label_type, "methods": list(genes),
                         "title": str(dataset.metadata.get("title", "")), "version": _version()}},
    )


def write_results_h5ad(dataset: Dataset, splits: pd.DataFrame, genes: dict[str, pd.DataFrame],
                       path: str | os.PathLike) -> Path:
    """Write :func:`results_anndata` atomically."""
    adata = results_anndata(dataset, splits, genes)
    with atomic_path(path) as tmp:
        adata.write_h5ad(tmp)
    return Path(path)


def _version() -> str:
    from genesel import __version__

    return __version__
