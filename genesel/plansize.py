"""A dataset's size for the cost plan, without reading its values: from the config (simulated data), from a
file's header (GDS ``!dataset_sample_count`` / ``!dataset_feature_count`` and its subsets; a series matrix's
columns and table rows; a family SOFT file's samples; a table's lines; an ``.h5ad``'s shape), or, for a
dataset not downloaded yet, a stated estimate flagged as such."""

from __future__ import annotations

import gzip
import re
from dataclasses import replace
from pathlib import Path

from genesel.costs import PlanError, Shape

#: a dataset not downloaded yet: a GDS-scale study on the HG-U133 Plus 2 array (54,675 probes), the size the
#: CPU config's target is stated at (issue 28)
ESTIMATE = Shape(200, 54675, 5, "estimate: not downloaded yet, 200 arrays x 54,675 probes x 5 classes assumed",
                 estimated=True)
#: genesel simulate's defaults
SIMULATE = {"samples": 120, "probes": 2000, "classes": 3}


def source_file(name: str, settings: dict, cache: Path, root: Path) -> tuple[Path | None, str]:
    """The dataset's file (None: simulated) and the config key that names it."""
    for key in ("table", "path"):
        if settings.get(key):
            return root / settings[key], f"datasets.{name}.{key}"
    if settings.get("simulate") is not None:
        return None, f"datasets.{name}.simulate"
    if re.fullmatch(r"GSE[0-9]+", name):
        stem = f"{name}-{settings['platform']}" if settings.get("platform") else name
        return cache / f"{stem}_series_matrix.txt.gz", f"datasets.{name}"
    return cache / f"{name}_full.soft.gz", f"datasets.{name}"


def dataset_shape(name: str, settings: dict, cache: Path, root: Path = Path(".")) -> Shape:
    """Arrays, probes and classes of a config's dataset (see the module docstring), and whether a patient gave
    several arrays (:func:`grouped`)."""
    if not isinstance(settings, dict):
        raise PlanError(f"datasets.{name}: {settings!r} is not a mapping")
    path, key = source_file(name, settings, cache, root)
    return replace(_shape(settings, path, key), grouped=grouped(settings, path))


def grouped(settings: dict, path: Path | None) -> bool:
    """Whether the arrays will be grouped by patient: ``group`` names a key (``none``: never); else, as the
    readers decide, where a GDS subset type or a series characteristic named like a patient repeats; a simulated
    GDS always has such a type (``individual``)."""
    from genesel.sources.design import NO_GROUP

    group = settings.get("group")
    if group is not None:
        return group != NO_GROUP
    if path is None:
        return True
    try:
        return path.exists() and _patient_repeats(path)
    except (OSError, ValueError, EOFError):
        return False


def _patient_repeats(path: Path) -> bool:
    """A GDS subset of a patient-like type with several arrays, or a series characteristic of a patient-like key
    with a repeated value, in the file's header."""
    from genesel.sources.design import PATIENT_KEYS

    seen: dict[str, set] = {}
    with _open(path) as fh:
        subset_type = ""
        for line in fh:
            if line.startswith(("!dataset_table_begin", "!series_matrix_table_begin", "#")):
                break
            key, _, value = line.partition(" = ")
            if key == "!subset_type":
                subset_type = value.strip().lower()
            elif key == "!subset_sample_id" and subset_type in PATIENT_KEYS and value.count(",") >= 1:
                return True
            elif line.startswith("!Sample_characteristics_ch1\t"):
                for field in _fields(line):
                    name, _, val = field.partition(":")
                    name = name.strip().lower()
                    if name in PATIENT_KEYS and val.strip():
                        if val.strip() in seen.setdefault(name, set()):
                            return True
                        seen[name].add(val.strip())
    return False


def _shape(settings: dict, path: Path | None, key: str) -> Shape:
    if path is None:
        sim = {**SIMULATE, **(settings["simulate"] or {})}
        for field in SIMULATE:
            if isinstance(sim[field], bool) or not isinstance(sim[field], int) or sim[field] < 2:
                raise PlanError(f"{key}.{field}: {sim[field]!r} is not a whole number >= 2")
        return Shape(sim["samples"], sim["probes"], sim["classes"], "config (simulated)")
    if not path.exists():
        if key.endswith((".path", ".table")):
            raise PlanError(f"{key}: no such file {str(path)!r}")
        return ESTIMATE
    try:
        shape = _read_shape(path, settings)
    except (OSError, ValueError, KeyError, EOFError, ImportError):
        shape = None
    if shape is None or shape.n < 3 or shape.p < 1:  # the reader, in its job, names what is wrong with the file
        return replace(ESTIMATE, source=f"estimate: the size of {path.name} could not be read from its header")
    return shape


def _open(path: Path):
    with open(path, "rb") as fh:
        gz = fh.read(2) == b"\x1f\x8b"
    return gzip.open(path, "rt", errors="replace") if gz else open(path, errors="replace")


def _read_shape(path: Path, settings: dict) -> Shape:
    name = path.name.lower()
    if name.endswith(".h5ad"):
        return _h5ad_shape(path, settings)
    with _open(path) as fh:
        head = fh.readline()
        while head.startswith("^DATABASE") or head.startswith("!Database") or not head.strip():
            head = fh.readline()
        if head.startswith("^DATASET"):
            return _gds_shape(fh, path, settings)
        if head.startswith("^SERIES") or head.startswith("!Series_"):
            return _series_shape(fh, head, path, settings)
    return _table_shape(path, settings)


def _gds_shape(fh, path: Path, settings: dict) -> Shape:
    """GDS header: sample and feature counts, and the arrays and classes of the labelling subset type."""
    label = str(settings.get("label_type", "disease state")).lower()
    counts, subsets, current = {}, [], {}
    for line in fh:
        if line.startswith("!dataset_table_begin") or line.startswith("#"):
            break
        key, _, value = line.partition(" = ")
        value = value.strip()
        if key in ("!dataset_sample_count", "!dataset_feature_count"):
            counts[key] = int(value)
        elif key == "^SUBSET":
            current = {}
            subsets.append(current)
        elif key in ("!subset_type", "!subset_description", "!subset_sample_id"):
            current[key] = value
    labelled = [s for s in subsets if s.get("!subset_type", "").lower() == label]
    arrays = {a for s in labelled for a in s.get("!subset_sample_id", "").split(",") if a}
    n = len(arrays) or counts.get("!dataset_sample_count", 0)
    p = counts.get("!dataset_feature_count") or _rows(path, "!dataset_table_begin", "!dataset_table_end")
    classes = len({s.get("!subset_description") for s in labelled}) or 2
    return Shape(n, p, classes, f"header of {path.name}")


def _rows(path: Path, begin: str, end: str) -> int:
    rows, inside = 0, False
    with _open(path) as fh:
        for line in fh:
            if line.startswith(begin):
                inside = True
            elif line.startswith(end):
                break
            elif inside:
                rows += 1
    return max(rows - 1, 0)  # the column header


def _series_shape(fh, head: str, path: Path, settings: dict) -> Shape:
    """Series matrix: the arrays are the table's columns, probes its rows; a family SOFT file: its ^SAMPLE
    blocks and their row count. Kept arrays and classes from the characteristics rows (series matrix)."""
    if head.startswith("^SERIES"):
        n = p = 0
        for line in fh:
            if line.startswith("^SAMPLE"):
                n += 1
            elif line.startswith("!Sample_data_row_count = ") and not p:
                p = int(line.partition(" = ")[2])
        return Shape(n, p, 2, f"header of {path.name}")
    characteristics, n, p = [], 0, 0
    for line in fh:
        if line.startswith("!Sample_characteristics_ch1\t"):
            characteristics.append(_fields(line))
        elif line.startswith(('"ID_REF"', "ID_REF")):
            n = len(line.rstrip("\n").split("\t")) - 1
        elif line.startswith("!series_matrix_table_end"):
            break
        elif n and line.strip():
            p += 1
    label = (settings.get("label") or {}).get("characteristic")
    n, classes = _kept(characteristics, label, settings.get("where") or {}, n)
    return Shape(n, p, classes, f"header of {path.name}")


def _fields(line: str) -> list[str]:
    return [f.strip().strip('"') for f in line.rstrip("\n").split("\t")[1:]]


def _kept(rows: list[list[str]], label: str | None, where: dict, n: int) -> tuple[int, int]:
    """Arrays kept by ``where`` on characteristics keys, and the label's classes among them (2 when unknown)."""
    per_array: list[dict] = [{} for _ in range(max((len(r) for r in rows), default=0))]
    for row in rows:
        for i, value in enumerate(row):
            key, _, val = value.partition(":")
            per_array[i][key.strip().lower()] = " ".join(val.split()).lower()
    if not per_array:
        return n, 2
    keep = [a for a in per_array if all(a.get(str(k).lower()) in {" ".join(str(v).split()).lower()
                                                                   for v in ([vs] if isinstance(vs, str) else vs)}
                                        for k, vs in where.items() if any(str(k).lower() in b for b in per_array))]
    classes = len({a.get(label.lower()) for a in keep} - {None}) if label else 0
    return len(keep) or n, classes or 2


def _table_shape(path: Path, settings: dict) -> Shape:
    """An expression table (probes x arrays, first column the probe id): its lines and columns."""
    with _open(path) as fh:
        header = fh.readline()
        p = sum(1 for _ in fh)
    sep = "\t" if "\t" in header else ","
    n = len(header.split(sep)) - 1
    classes = 2
    sheet = settings.get("sample_sheet")
    if sheet and Path(sheet).exists():
        import pandas as pd

        table = pd.read_csv(sheet, sep=None, engine="python")
        column = (settings.get("label") or {}).get("column", "label")
        classes = int(table[column].nunique()) if column in table else 2
    return Shape(n, p, classes, f"lines of {path.name}")


def _h5ad_shape(path: Path, settings: dict) -> Shape:
    import anndata

    adata = anndata.read_h5ad(path, backed="r")
    column = (settings.get("label") or {}).get("column")
    classes = int(adata.obs[column].nunique()) if column in adata.obs else 2
    n, p = adata.shape
    adata.file.close()
    return Shape(n, p, classes, f"shape of {path.name}")
