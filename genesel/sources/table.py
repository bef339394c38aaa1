"""A user's own data: an expression table (probes x arrays) plus a sample sheet."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from genesel.dataset import Dataset, check_matrix, empty_arrays
from genesel.errors import DatasetError
from genesel.sources.design import Design, apply_design


def read_expression_table(
    expression_path: str | os.PathLike,
    sample_sheet_path: str | os.PathLike,
    name: str | None = None,
    symbol_column: str | None = None,
    min_class_size: int = 3,
    design: Design | None = None,
) -> Dataset:
    """Read a genes x samples table (TSV/CSV) and a sample sheet.

    The expression table's first column holds probe ids; an optional ``symbol_column`` holds
    gene symbols; every other column is a sample. The sample sheet has a ``sample`` column and
    the label column (``label`` unless ``design`` names another), and may hold a group column
    (patients) and others for ``where``. Samples absent from the sheet are ignored.
    """
    expression_path = Path(expression_path)
    name = name or expression_path.name.split(".")[0]
    design = design or Design("label")
    table, sheet = _read_both(name, expression_path, sample_sheet_path)
    if "sample" not in sheet.columns:
        raise DatasetError(name, f"sample sheet needs a column 'sample', has {list(sheet.columns)}")
    probe_ids = table.iloc[:, 0].astype(str).to_numpy()
    symbols = (
        table[symbol_column].fillna("").astype(str).to_numpy()
        if symbol_column
        else np.full(len(table), "", dtype=object)
    )
    sample_cols = [c for c in table.columns[1:] if c != symbol_column]
    unknown = sorted(set(sheet["sample"]) - set(sample_cols))
    if unknown:
        raise DatasetError(name, f"sample sheet names samples not in the table: {', '.join(unknown[:5])}")
    sheet = sheet[sheet["sample"].isin(sample_cols)]
    values = table[sheet["sample"].tolist()]
    bad = [c for c in values.columns if not pd.api.types.is_numeric_dtype(values[c])]
    if bad:
        raise DatasetError(name, f"non-numeric values in sample column(s) {', '.join(map(str, bad[:5]))}")
    X = values.to_numpy(np.float64).T
    check_matrix(name, X, sheet["sample"].to_numpy(), probe_ids)
    rows, codes, class_names, groups = apply_design(name, sheet.set_index("sample"), design, min_class_size,
                                                    kind="sample sheet column",
                                                    unusable=empty_arrays(name, X, sheet["sample"]))
    return Dataset(
        name=name, X=X[rows].astype(np.float32), probe_ids=probe_ids, gene_symbols=symbols,
        sample_ids=sheet["sample"].to_numpy()[rows], y=codes, class_names=class_names,
        label_type=design.label, metadata={"title": name, "source": str(expression_path)},
        groups=groups if design.group else None,
    )


def _read_both(name: str, expression_path: Path, sample_sheet_path) -> tuple[pd.DataFrame, pd.DataFrame]:
    try:
        table = pd.read_csv(expression_path, sep=None, engine="python")
        sheet = pd.read_csv(sample_sheet_path, sep=None, engine="python", dtype=str)
    except (OSError, pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as exc:
        raise DatasetError(name, f"cannot read table: {exc}") from exc
    return table, sheet
