"""A user's own data: an expression table (probes x arrays) plus a sample sheet."""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from genesel.dataset import Dataset, check_matrix, empty_arrays
from genesel.errors import DatasetError
from genesel.sources.design import Design, ReadOptions, apply_design
from genesel.sources.integrity import TABLE_MISSING, fail, parse_values, read_delimited


def read_expression_table(path: str | os.PathLike, design: Design | str | None = None, **options) -> Dataset:
    """Read a genes x samples table (TSV/CSV) and its sample sheet (``options["sample_sheet"]``).

    The expression table's first column holds probe ids; an optional ``symbol_column`` holds
    gene symbols; every other column is a sample. The sample sheet has a ``sample`` column and
    the label column (``label`` unless ``design`` names another), and may hold a group column
    (patients) and others for ``where``. A table column the sheet does not name is left out with a
    warning naming it; a sheet row the table lacks is an error.
    """
    opts, design = ReadOptions(**options), Design.of(design, sheet=True)
    path = Path(path)
    name = opts.name or path.name.split(".")[0]
    if opts.sample_sheet is None:
        raise DatasetError(name, f"{path.name}: an expression table needs a sample sheet (sample_sheet)")
    table, sheet = _read_both(name, path, Path(opts.sample_sheet))
    if "sample" not in sheet.columns:
        raise DatasetError(name, f"sample sheet needs a column 'sample', has {list(sheet.columns)}")
    symbol_column = opts.symbol_column
    if symbol_column is not None and symbol_column not in table.columns:
        raise fail(name, path, f"no column {symbol_column!r} (symbol_column); columns: {list(table.columns)[:8]}")
    probe_ids = table.iloc[:, 0].astype(str).to_numpy()
    symbols = table[symbol_column].fillna("").astype(str).to_numpy() if symbol_column else np.full(len(table), "")
    sample_cols = [c for c in table.columns[1:] if c != symbol_column]
    unknown = sorted(set(sheet["sample"]) - set(sample_cols))
    if unknown:
        raise DatasetError(name, f"sample sheet names samples not in the table: {', '.join(unknown[:5])}")
    unnamed = [c for c in sample_cols if c not in set(sheet["sample"])]
    if unnamed:
        warnings.warn(f"{name}: {len(unnamed)} column(s) of {path.name} are not in the sample sheet and are left "
                      f"out: {', '.join(map(str, unnamed[:5]))}", stacklevel=2)
    values = parse_values(name, path, table[sheet["sample"].tolist()].set_axis(probe_ids, axis=0), TABLE_MISSING)
    X = values.to_numpy(np.float64).T
    check_matrix(name, X, sheet["sample"].to_numpy(), probe_ids)
    labels = apply_design(name, sheet.set_index("sample"), design, opts.min_class_size, kind="sample sheet column",
                          unusable=empty_arrays(name, X, sheet["sample"]))
    return Dataset(
        name=name, X=X[labels.rows].astype(np.float32), probe_ids=probe_ids, gene_symbols=symbols,
        sample_ids=sheet["sample"].to_numpy()[labels.rows], y=labels.codes, class_names=labels.class_names,
        label_type=design.label, metadata={"title": name, "source": str(path), "group": labels.group_key},
        groups=labels.groups,
    )


def _read_both(name: str, path: Path, sheet_path: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Both files through the integrity contract, as text (values are parsed by the contract)."""
    sheet = read_delimited(name, sheet_path)
    return read_delimited(name, path), sheet.mask(sheet.map(lambda v: not str(v).strip()))
