"""A plain-text summary of a GDS or series file that a biologist reads before choosing a label."""

from __future__ import annotations

import os

import numpy as np

from genesel.preprocess import looks_unlogged
from genesel.sources.cache import removing_damaged_downloads
from genesel.sources.design import patient_keys
from genesel.sources.gds import numeric_matrix, parse_gds
from genesel.sources.series import parse_series
from genesel.sources.sniff import file_kind


def summarize_gds(path: str | os.PathLike, name: str | None = None) -> dict:
    """Arrays, probes, value type, the log2 decision and every subset type with its classes."""
    gds = parse_gds(path, name)
    X = numeric_matrix(gds)
    probes = gds.table["ID_REF"].astype(str)
    return {
        "name": gds.name,
        **{k: gds.metadata[k] for k in ("title", "platform", "organism", "value_type")},
        "arrays": len(gds.sample_ids),
        "probes": len(gds.table),
        "control_probes": int(probes.str.startswith("AFFX-").sum()),
        "missing_values": int(np.isnan(X).sum()),
        "log2_applied": looks_unlogged(X),
        "value_range": (float(np.nanmin(X)), float(np.nanmax(X))),
        "annotations": gds.subset_types(),
        "kind": "subset type",
        "patient_keys": patient_keys(gds.annotations()),
    }


def summarize_series(path: str | os.PathLike, name: str | None = None, platform: str | None = None) -> dict:
    """As :func:`summarize_gds` for a series matrix or family file: every characteristics key,
    ``title`` and ``source_name`` with the classes each would give."""
    series = parse_series(path, name, platform)
    X = series.values.to_numpy(np.float64).T
    return {
        "name": series.name,
        **{k: series.metadata[k] for k in ("title", "platform", "organism", "value_type")},
        "arrays": X.shape[0],
        "probes": X.shape[1],
        "control_probes": int(series.values.index.str.startswith("AFFX-").sum()),
        "missing_values": int(np.isnan(X).sum()),
        "log2_applied": looks_unlogged(X),
        "value_range": (float(np.nanmin(X)), float(np.nanmax(X))),
        "annotations": series.characteristics(),
        "kind": "characteristic",
        "patient_keys": patient_keys(series.samples),
    }


def summarize(path: str | os.PathLike, platform: str | None = None) -> dict:
    """The summary of a GEO file: its reader's (:data:`~genesel.sources.readers.READERS`), by what the file is."""
    from genesel.errors import DatasetError
    from genesel.sources.readers import READERS  # the table imports this module's summaries

    kind = file_kind(path)
    reader = READERS[kind]
    if reader.summarize is None:
        raise DatasetError(None, f"{os.fspath(path)}: inspect summarises GEO files; this is an {reader.what}")
    with removing_damaged_downloads():
        return reader.summarize(path, **({"platform": platform} if kind == "series" else {}))


def format_summary(summary: dict) -> str:
    """Render :func:`summarize_gds` as text."""
    low, high = summary["value_range"]
    lines = [
        f"{summary['name']}: {summary['title']}",
        f"  platform {summary['platform']}, organism {summary['organism']}",
        f"  arrays: {summary['arrays']}   probes: {summary['probes']} "
        f"({summary['control_probes']} AFFX control probes, excluded by default)",
        f"  value type: {summary['value_type'] or 'not stated'}   range {low:.3g} .. {high:.3g}   "
        f"missing values: {summary['missing_values']}",
        f"  log2 will be applied: {'yes' if summary['log2_applied'] else 'no'} (GEO2R rule; decided again on each training split)",
        _choose_line(summary["kind"]),
    ]
    for key, classes in summary["annotations"].items():
        total = sum(classes.values())
        lines.append(f"    {key!r}: {len(classes)} {'classes' if summary['kind'] == 'subset type' else 'values'}, {total} arrays")
        distinct = len(classes) == total and total > _SHOWN
        shown = list(classes.items())[:3 if distinct else _SHOWN]
        lines += [f"        {count:5d}  {value}" for value, count in shown]
        if distinct:
            lines.append(f"        ... all {total} values distinct: an identifier, not a class")
        elif len(classes) > _SHOWN:
            lines.append(f"        ... and {len(classes) - _SHOWN} more values")
    for key in summary["patient_keys"]:
        lines.append(f"  note: {summary['kind']} {key!r} looks like a patient id: where its values repeat, prepare "
                     "groups the arrays by it by default, so that one patient's arrays never straddle training and "
                     f"test (group: none turns that off); where each array has its own value, set group: {{key: {key!r}, "
                     "pattern: ...}, a regex whose first group is the patient part (values with a per-array suffix "
                     "such as A/B)")
    return "\n".join(lines)


_SHOWN = 12


def _choose_line(kind: str) -> str:
    if kind == "subset type":
        return '  subset types (choose one as the label, e.g. label_type: "disease state"):'
    return ('  sample characteristics (choose one as the label, e.g. label: {characteristic: "tissue"}; '
            "keep arrays with where:, merge spellings with classes:):")
