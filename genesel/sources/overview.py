"""A plain-text summary of a GDS file that a biologist reads before choosing a label."""

from __future__ import annotations

import os

import numpy as np

from genesel.preprocess import looks_unlogged
from genesel.sources.gds import numeric_matrix, parse_gds


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
        "subset_types": gds.subset_types(),
    }


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
        "  subset types (choose one as the label, e.g. label_type: \"disease state\"):",
    ]
    for stype, classes in summary["subset_types"].items():
        total = sum(classes.values())
        lines.append(f"    {stype!r}: {len(classes)} classes, {total} arrays")
        for cname, count in classes.items():
            lines.append(f"        {count:5d}  {cname}")
    return "\n".join(lines)
