"""HTML pages of the report: the sortable candidate-gene table of a dataset and the overview.

Each page stands alone and works offline (the DataTables library that itables ships is embedded), so
the Snakemake report shows it inline and a biologist can sort and search it without leaving the page.
"""

from __future__ import annotations

import html
import re
from pathlib import Path

import numpy as np
import pandas as pd

from genesel.dataset import Dataset
from genesel.io import atomic_path
from genesel.registry import label

#: the method whose rank, selection probability, stability and head the candidate table shows
PRIMARY = "spred"
MAX_ROWS = 500
NCBI = "https://www.ncbi.nlm.nih.gov"


def _link(url: str, text: str) -> str:
    return f'<a href="{html.escape(url, quote=True)}" target="_blank" rel="noopener">{html.escape(text)}</a>'


def gene_link(symbol: str, entrez: str = "") -> str:
    """NCBI Gene: the record when the Entrez id is known, else a search for the symbol."""
    if not symbol:
        return ""
    first = str(entrez).split(" /// ")[0].strip()
    if re.fullmatch(r"[0-9]+", first):
        return _link(f"{NCBI}/gene/{first}", symbol)
    return _link(f"{NCBI}/gene/?term={symbol.split(' /// ')[0]}%5Bsym%5D+AND+human%5Borgn%5D", symbol)


def geo_link(probe: str, accession: str) -> str:
    """GEO Profiles of the probe in this dataset (a GDS or GSE accession; plain text otherwise)."""
    if re.fullmatch(r"G(DS|SE)[0-9]+", accession or ""):
        return _link(f"{NCBI}/geoprofiles/?term={probe}+{accession}", probe)
    return html.escape(probe)


#: the descriptive moderated q under which a gene's largest fold change is called a direction
DIRECTION_Q = 0.05


def _direction(row: pd.Series, fold_columns: list[str]) -> tuple[str, float]:
    """The class against the reference with the largest |log2 fold change|: 'up in X' / 'down in X', or
    'no clear mean shift' when the moderated q is not below ``DIRECTION_Q`` (a gene used nonlinearly)."""
    values = row[fold_columns].astype(float)
    if values.isna().all():
        return "", float("nan")
    column = values.abs().idxmax()
    if not row.get("q_descriptive", 0.0) < DIRECTION_Q:
        return "no clear mean shift", float(values[column])
    name = column[len("log2fc_"):].rsplit("_vs_", 1)[0]
    return f"{'up' if values[column] > 0 else 'down'} in {name}", float(values[column])


def candidate_table(genes: dict[str, pd.DataFrame], tiers: pd.DataFrame, dataset: Dataset,
                    max_rows: int = MAX_ROWS) -> pd.DataFrame:
    """One row per candidate gene: every gene a method found (the tiers), then the primary method's
    (spred's, else the first method's) next ranked genes, up to ``max_rows``. Cells hold HTML links."""
    primary = PRIMARY if PRIMARY in genes else next(iter(genes))
    main = genes[primary].set_index("probe_id")
    ranked = main.index[main["rank"].notna()].tolist()
    probes = list(dict.fromkeys(tiers.probe_id.tolist() + ranked))[:max_rows]
    rows = main.loc[probes]
    tier = tiers.set_index("probe_id")
    folds = [c for c in main.columns if c.startswith("log2fc_")]
    accession = dataset.name
    out = pd.DataFrame({
        "tier": tier.tier.reindex(probes).fillna("").to_numpy(),
        "found by": [", ".join(label(m) for m in str(v).split(", ") if m) for v in tier.found_by.reindex(probes).fillna("")],
        f"{primary} rank": rows["rank"].astype("Int64").astype(str).replace("<NA>", "not selected").to_numpy(),
        "symbol": [gene_link(s, e) for s, e in zip(rows.gene_symbol.fillna(""),
                                                  rows.get("entrez_id", pd.Series("", index=rows.index)).fillna(""))],
        "probe": [geo_link(p, accession) for p in probes],
    }, index=probes)
    if "gene_title" in rows:
        out["gene title"] = rows.gene_title.fillna("").to_numpy()
    direction = [_direction(r, folds) for _, r in rows.iterrows()]
    out[f"direction (vs {dataset.reference_class})"] = [d for d, _ in direction]
    out["log2 fold change"] = np.round([v for _, v in direction], 3)
    out["moderated q (descriptive)"] = rows["q_descriptive"].to_numpy()
    if "heldout_p" in rows:
        out[f"held-out p ({primary})"] = rows["heldout_p"].to_numpy()
    for column, title in (("selection_probability", "selection probability"), ("stable", "stable"),
                          ("selection_frequency", "selection frequency"), ("head", "head")):
        if column in rows:
            out[f"{title} ({primary})"] = rows[column].to_numpy()
    return out.reset_index(drop=True)


def _page(title: str, body: str) -> str:
    return (f'<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
            '<style>body{font-family:sans-serif;margin:1em;font-size:14px} table.summary{border-collapse:collapse}'
            ' table.summary td,table.summary th{border:1px solid #ccc;padding:3px 8px;text-align:left}</style>'
            f'</head><body>\n<h2>{html.escape(title)}</h2>\n{body}\n</body></html>\n')


#: columns of long text that get room to wrap in two or three lines rather than one word a line
WIDE_COLUMNS = ("found by", "gene title")


def datatable_html(table: pd.DataFrame, caption: str | None = None) -> str:
    """A sortable, searchable table with the DataTables library embedded (no network needed)."""
    from itables import options, to_html_datatable
    from itables.javascript import _itables_underscore_version, generate_init_offline_itables_html

    loader = generate_init_offline_itables_html(options.dt_bundle)
    setup = ("<script type=\"module\">const { set_or_remove_dark_class } = await window."
             f"{_itables_underscore_version()}; set_or_remove_dark_class();</script>")
    wide = [i for i, column in enumerate(table.columns) if column in WIDE_COLUMNS]
    body = to_html_datatable(table, caption=caption, connected=False, allow_html=True, pageLength=25,
                             display_logo_when_loading=False, classes="display compact", autoWidth=False,
                             columnDefs=[{"targets": wide, "width": "16em"}],
                             text_in_header_can_be_selected=False)  # a click on a header sorts
    return loader + setup + body


def write_table_page(table: pd.DataFrame, title: str, intro: str, path) -> Path:
    """A standalone HTML page: a title, an explanation, and the sortable table."""
    with atomic_path(Path(path)) as tmp:
        tmp.write_text(_page(title, f"<p>{intro}</p>\n" + datatable_html(table)), encoding="utf-8")
    return Path(path)


def candidates_intro(dataset: Dataset, stability: dict | None, no_signal: str = "") -> str:
    """What the candidate table's columns mean, with the error level of ``stable``; ``no_signal``
    (:func:`genesel.ranking.no_signal_note`) leads it in bold where a method showed no class signal."""
    bound = ""
    if stability:
        bound = (f" <b>stable</b>: selection probability at least {stability['threshold']} over "
                 f"{stability['pairs']} complementary pairs of half-samples, each keeping its {stability['q']} best "
                 f"genes, so that the expected number of falsely stable genes is at most "
                 f"{stability['bound']:.2f} (Shah &amp; Samworth 2013).")
    classes = ", ".join(f"{html.escape(c)} ({n})" for c, n in dataset.class_counts().items())
    warning = f"<b>{html.escape(no_signal)}</b> " if no_signal else ""
    return (warning + f"{dataset.n_samples} arrays ({classes}), {dataset.n_probes} probes. Sort by any column; search "
            "by symbol or title. <b>tier</b>: which kinds of method found the gene (see the consensus tiers). "
            f"Fold changes are log2, against {html.escape(dataset.reference_class)}; the moderated q (limma, all "
            f"arrays) is descriptive, and a direction is named only where it is below {DIRECTION_Q}. The held-out "
            "p tests each split's selection on that split's test arrays only (multi-split p-value, family-wise "
            "error)." + bound +
            " <b>head</b>: the spred head that carries most of the gene's weight (nonlinear = MLP).")


def versus_best(summary: pd.DataFrame, paired: pd.DataFrame, alpha: float = 0.05) -> pd.DataFrame:
    """Per (dataset, method): the difference of its test accuracy to the dataset's best method (highest mean),
    its confidence interval and p-value from ``paired`` (:func:`genesel.summary.paired_differences`), the
    p-values Holm-adjusted over the methods compared with the best (the best is chosen on the same splits,
    so unadjusted p-values would overstate its lead), and ``level``: not shown worse at ``alpha`` (also where
    the difference could not be tested)."""
    best = summary.sort_values("accuracy_mean", ascending=False).groupby("dataset", sort=False).head(1)
    best = best.set_index("dataset")["method"].rename("best")
    rows = summary[["dataset", "method"]].join(best, on="dataset")
    rows = rows.merge(paired.rename(columns={"versus": "best"}), on=["dataset", "method", "best"], how="left")
    rows["p_holm"] = rows.groupby("dataset", group_keys=False)["p"].apply(_holm)
    rows["level"] = (rows.method == rows.best) | ~(rows.p_holm < alpha)  # untested (NaN p): not shown worse
    return rows


def _holm(p: pd.Series) -> pd.Series:
    """Holm's step-down adjustment of the finite p-values in ``p`` (NaN stays NaN)."""
    finite = p.dropna().sort_values()
    m = len(finite)
    adjusted = np.minimum(1.0, np.maximum.accumulate((m - np.arange(m)) * finite.to_numpy()))
    return pd.Series(adjusted, index=finite.index).reindex(p.index)


def _versus_text(row) -> str:
    if row.method == row.best:
        return "best"
    if pd.isna(row.difference):
        return ""
    if pd.isna(row.p):
        return f"{row.difference:+.3f} on every split: no spread to test"
    return (f"{row.difference:+.3f} [{row.ci_low:+.3f}, {row.ci_high:+.3f}], "
            f"p {row.p_holm:.2g}{'' if row.level else ' (worse)'}")


def overview_tables(summary: pd.DataFrame, datasets: list[Dataset], stable_counts: pd.DataFrame,
                    paired: pd.DataFrame | None = None) -> dict[str, pd.DataFrame]:
    """The overview's tables: datasets, the headline (best method per dataset, with the methods level with it
    given ``paired``), every method's result (with its difference to the best)."""
    described = pd.DataFrame([{
        "dataset": d.name, "title": d.metadata.get("title", ""), "arrays": d.n_samples, "probes": d.n_probes,
        "classes": ", ".join(f"{c} ({n})" for c, n in d.class_counts().items()), "reference class": d.reference_class,
        "patients grouped": "yes" if d.grouped else "no",
    } for d in datasets])
    table = summary.merge(stable_counts, on=["dataset", "method"], how="left")
    if paired is not None:
        compared = versus_best(summary, paired)
        table = table.merge(compared[["dataset", "method", "level"]].assign(
            versus=[_versus_text(r) for r in compared.itertuples()]), on=["dataset", "method"], how="left")
    table["method"] = table["method"].map(label)
    best = table.sort_values("accuracy_mean", ascending=False).groupby("dataset", sort=False).head(1)
    headline = pd.DataFrame({
        "dataset": best.dataset, "best method": best.method,
        "test accuracy": [f"{m:.3f} ± {s:.3f}" for m, s in zip(best.accuracy_mean, best.accuracy_sd)],
        "majority class": best.majority_rate.round(3), "stable genes": best.n_stable,
    })
    if paired is not None:
        level = table[table.level & ~table.index.isin(best.index)].groupby("dataset")["method"].agg(", ".join)
        headline["level with the best (paired test)"] = headline.dataset.map(level).fillna("none")
    headline = headline.sort_values("dataset")
    results = pd.DataFrame({
        "dataset": table.dataset, "method": table.method,
        "test accuracy": [f"{m:.3f} ± {s:.3f}" for m, s in zip(table.accuracy_mean, table.accuracy_sd)],
        "genes selected": [f"{m:.0f} ± {s:.0f}" for m, s in zip(table.genes_selected_mean, table.genes_selected_sd)],
        "stable genes": table.n_stable, "bound on false stable genes": table.bound.round(2),
        "splits": table.splits, "not fitted": table.failed_splits,
        "chosen models converged": [f"{v:.0%}" if pd.notna(v) else "" for v in table.converged_share],
        # spred's test over splits: above signal_alpha its list is marked as noise and the majority class predicts
        "signal p": [f"{v:.3g}" if pd.notna(v) else "" for v in table.get("signal_p", pd.Series(index=table.index))],
    })
    if paired is not None:
        results["against the best: difference [95% CI], Holm p"] = table.versus.to_numpy()
    return {"datasets": described, "headline": headline, "results": results}


def write_overview(tables: dict[str, pd.DataFrame], version: str, path) -> Path:
    """The landing page's tables as one standalone HTML page."""
    body = [f"<p>genesel {html.escape(version)}. Every method ran on the same splits; accuracies are on test "
            "arrays no choice saw. Each dataset's candidate genes, figures and tables are under its own "
            "category.</p>"]
    if "level with the best (paired test)" in tables["headline"]:
        body.append("<p>Is a method really behind the best? Its accuracy difference to the best method is "
                    "taken split by split, and tested over the splits with a t-test corrected for the arrays the "
                    "splits share (Nadeau &amp; Bengio 2003; an uncorrected test over splits is far too "
                    "confident). The p-values are Holm-adjusted over the methods compared with the best; "
                    "<b>worse</b> marks a method below the best at 0.05. A method <b>level with the best</b> "
                    "is not shown to be worse: the splits cannot tell them apart.</p>")
    for name, title in (("headline", "Headline: the best method per dataset"), ("datasets", "Datasets"),
                        ("results", "Every method on every dataset")):
        body.append(f"<h3>{title}</h3>" + tables[name].to_html(index=False, classes="summary", border=0, na_rep=""))
    with atomic_path(Path(path)) as tmp:
        tmp.write_text(_page("genesel: overview", "\n".join(body)), encoding="utf-8")
    return Path(path)
