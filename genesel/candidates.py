"""The ``candidates`` verb: one dataset's candidate-gene page (a sortable table whose rows open the gene's
expression by class) and its gene figures (:mod:`genesel.candidate_figures`)."""

from __future__ import annotations

import html
import json
from pathlib import Path

import numpy as np
import pandas as pd

from genesel import candidate_figures
from genesel.dataset import Dataset
from genesel.pages import (
    DIRECTION_Q,
    MAX_PAGE_BYTES,
    contrast_q,
    direction,
    gene_link,
    geo_link,
    table_page,
    write_table_page,
)
from genesel.plots import log2_of
from genesel.ranking import NO_HALF, NO_SIGNAL, no_half_kept, no_signal_note

#: the method whose rank, selection probability, stability and head the candidate table shows
PRIMARY = "spred"
MAX_ROWS = 500
#: genes whose expression a click on their row shows (the first rows of the table)
EXPRESSION_ROWS = 200
#: short method names for the "found by" column (the page's intro spells them out)
SHORT = {"spred": "spred", "spred_linear": "spred-lin", "mlp_wd": "MLP-wd", "mlp_l1": "MLP-L1", "hsic_lasso": "HSIC",
         "l1_logistic": "L1-logit", "limma": "limma"}


def primary_method(genes: dict[str, pd.DataFrame]) -> str:
    return PRIMARY if PRIMARY in genes else next(iter(genes))


def _rank_text(rows: pd.DataFrame) -> list[str]:
    """A gene's rank as the gene CSV gives it: none where no split selected it or (with stability selection)
    no half kept it."""
    return [NO_HALF if unkept else "not selected" if pd.isna(r) else str(int(r))
            for r, unkept in zip(rows["rank"], no_half_kept(rows))]


def _number(value: float) -> str:
    """A p- or q-value in two significant digits (text DataTables still sorts as a number; blank when missing)."""
    return "" if not np.isfinite(value) else f"{value:.2g}"


def _heldout(rows: pd.DataFrame) -> list[str]:
    """The held-out mean-shift p, or 'not a mean effect' where spred's nonlinear head carries the gene."""
    head = rows.get("head", pd.Series("", index=rows.index)).fillna("")
    return ["not a mean effect" if h == "nonlinear" else _number(p) for p, h in zip(rows["heldout_p"], head)]


def candidate_table(genes: dict[str, pd.DataFrame], tiers: pd.DataFrame, dataset: Dataset,
                    max_rows: int = MAX_ROWS) -> pd.DataFrame:
    """One row per candidate gene: every gene a method found (the tiers), then the primary method's
    (spred's, else the first method's) next ranked genes, up to ``max_rows``. Cells hold HTML links; one
    log2 fold change and one moderated q per contrast, each named."""
    primary = primary_method(genes)
    main = genes[primary].set_index("probe_id")
    ranked = main[main["rank"].notna() | no_half_kept(main)]  # the CSV's order: ranked genes, then those no half kept
    if "selection_probability" in ranked:  # genes some half kept first, by selection probability (stable sort)
        ranked = ranked.sort_values("selection_probability", ascending=False, kind="stable")
    ranked = ranked.index.tolist()
    probes = list(dict.fromkeys(tiers.probe_id.tolist() + ranked))[:max_rows]
    rows = main.loc[probes]
    tier = tiers.set_index("probe_id")
    entrez = rows.get("entrez_id", pd.Series("", index=rows.index))
    out = pd.DataFrame({
        "evidence": tier.tier.reindex(probes).fillna("").to_numpy(),
        "found by": [", ".join(SHORT.get(m, m) for m in str(v).split(", ") if m)
                     for v in tier.found_by.reindex(probes).fillna("")],
        f"{primary} rank": _rank_text(rows),
        "symbol": [gene_link(s if isinstance(s, str) else "", e) for s, e in zip(rows.gene_symbol, entrez)],
        "probe": [geo_link(p, dataset.name) for p in probes],
    }, index=probes)
    if "gene_title" in rows:
        out["gene title"] = rows.gene_title.fillna("").to_numpy()
    folds = [c for c in main.columns if c.startswith("log2fc_")]
    out["direction"] = [direction(r, folds)[0] for _, r in rows.iterrows()]
    for column in folds:
        contrast = column[len("log2fc_"):].replace("_vs_", " vs ")
        out[f"log2 FC {contrast}"] = rows[column].astype(float).round(3).to_numpy()
        out[f"q {contrast}"] = [_number(contrast_q(r, column)) for _, r in rows.iterrows()]
    if "heldout_p" in rows:
        out[f"held-out p, mean-shift test ({primary})"] = _heldout(rows)
    for column, title in (("selection_probability", "selection probability"), ("stable", "stable"),
                          ("selection_frequency", "selection frequency"), ("head", "head")):
        if column in rows:
            out[f"{title} ({primary})"] = rows[column].to_numpy()
    return out.reset_index(drop=True)


def candidates_intro(dataset: Dataset, stability: dict | None, has_title: bool, no_signal: str = "") -> str:
    """What the candidate table's columns mean, with the error level of ``stable``; ``no_signal``
    (:func:`genesel.ranking.no_signal_note`) leads it in bold where a method showed no class signal."""
    bound = ""
    if stability:
        bound = (f" <b>stable</b>: selection probability at least {stability['threshold']} over "
                 f"{stability['pairs']} complementary pairs of half-samples, each keeping its {stability['q']} best "
                 f"genes, so that the expected number of falsely stable genes is at most "
                 f"{stability['bound']:.2f} (Shah &amp; Samworth 2013).")
    classes = ", ".join(f"{html.escape(c)} ({n})" for c, n in dataset.class_counts().items())
    names = ", ".join(f"{s} = {m}" for m, s in SHORT.items() if s != m)
    warning = f"<b>{html.escape(no_signal)}</b> " if no_signal else ""
    patients = (f" from {len(set(dataset.groups))} patients (limma treats one patient's arrays as correlated)"
                if dataset.grouped else "")
    return (warning + f"{dataset.n_samples} arrays ({classes}){patients}, {dataset.n_probes} probes. Sort by any "
            "column; search by "
            f"symbol{', probe or title' if has_title else ' or probe'}; copy or download the table with the buttons. "
            "<b>Click a row</b> to see that gene's expression by class. <b>evidence</b>: which kinds of method found "
            f"the gene, not what the gene does ({names}). Fold changes are log2, one per contrast against "
            f"{html.escape(dataset.reference_class)}, each with its moderated q (limma, all arrays: descriptive); a "
            f"direction is named only where its q is below {DIRECTION_Q}. The held-out p is a mean-shift test on test "
            "arrays only: it cannot see an interaction, so genes spred's nonlinear head carries read 'not a mean "
            "effect'." + bound + " <b>head</b>: the spred head that carries most of the gene's weight (nonlinear = "
            "MLP). Terms: see Summary → glossary.")


#: draws one gene's log2 expression by class (dots and the median) in the panel under the table
_EXPRESSION_JS = """
<div id="expression" style="margin-top:1em"><i>Click a row (one of the first %d) to see the gene's expression by class.</i></div>
<script>
const EXPR = %s;
function drawGene(probe) {
  const box = document.getElementById("expression"), v = EXPR.values[probe];
  if (!v) { box.innerHTML = "<i>" + probe + ": expression not included (the page holds it for the first " +
                             Object.keys(EXPR.values).length + " rows only).</i>"; return; }
  const k = EXPR.classes.length, W = 120 * k + 80, H = 260, lo = Math.min(...v.filter(isFinite)),
        hi = Math.max(...v.filter(isFinite)), y = x => 20 + (H - 60) * (hi - x) / ((hi - lo) || 1);
  let s = `<svg id="expression-figure" data-probe="${probe}" width="${W}" height="${H}" font-size="11">`;
  s += `<text x="4" y="12">${EXPR.names[probe]}: log2 expression by class</text>`;
  s += `<text x="4" y="${y(hi) + 4}">${hi.toFixed(1)}</text><text x="4" y="${y(lo) + 4}">${lo.toFixed(1)}</text>`;
  EXPR.classes.forEach((name, c) => {
    const xs = 70 + 120 * c, these = v.filter((x, i) => EXPR.y[i] === c && isFinite(x)).sort((a, b) => a - b);
    these.forEach((x, i) => { s += `<circle cx="${xs + ((i * 37) %% 40) - 20}" cy="${y(x)}" r="2.5" fill="black" fill-opacity="0.5"/>`; });
    if (these.length) { const m = these[Math.floor(these.length / 2)];
      s += `<line x1="${xs - 30}" x2="${xs + 30}" y1="${y(m)}" y2="${y(m)}" stroke="crimson" stroke-width="2"/>`; }
    s += `<text class="class-name" x="${xs}" y="${H - 22}" text-anchor="middle">${name} (${these.length})</text>`;
  });
  box.innerHTML = s + `<text x="4" y="${H - 4}">red: median; one dot per array</text></svg>`;
}
document.addEventListener("click", event => {
  const row = event.target.closest("table#genes tbody tr");
  if (!row || event.target.closest("a")) return;
  const cell = row.children[%d];
  if (cell) drawGene(cell.textContent.trim());
});
</script>
"""


def expression_panel(dataset: Dataset, probes: list[str], symbols: list[str], probe_column: int) -> str:
    """The data (log2 expression of ``probes``, rounded) and the script that draws a gene when its row is clicked."""
    X = log2_of(dataset, probes)
    data = {"classes": list(dataset.class_names), "y": dataset.y.tolist(),
            "values": {p: [None if not np.isfinite(v) else round(float(v), 2) for v in X[:, k]]
                       for k, p in enumerate(probes)},
            "names": {p: f"{s} ({p})" if s else p for p, s in zip(probes, symbols)}}
    return _EXPRESSION_JS % (len(probes), json.dumps(data).replace("</", "<\\/"), probe_column)


def fitted_panel(dataset: Dataset, probes: list[str], symbols: list[str], probe_column: int, page_bytes: int,
                 limit: int = MAX_PAGE_BYTES) -> str:
    """:func:`expression_panel` for the first rows (at most :data:`EXPRESSION_ROWS`) whose data keep a page of
    ``page_bytes`` without it within ``limit`` bytes, so that the report can still open it (:data:`MAX_PAGE_BYTES`)."""
    rows = min(EXPRESSION_ROWS, len(probes))
    while True:
        panel = expression_panel(dataset, probes[:rows], symbols[:rows], probe_column)
        size = len(panel.encode("utf-8"))
        if rows == 0 or page_bytes + size <= limit:
            return panel
        rows = max(0, min(rows - 1, int(rows * (limit - page_bytes) / size)))


def write_candidates(dataset: Dataset, genes: dict[str, pd.DataFrame], tiers: pd.DataFrame, stability: dict,
                     predictions: dict[str, pd.DataFrame], out: dict) -> None:
    """The ``candidates`` verb: the candidate page (``out["page"]``) and the volcano, boxplot, gene-pair and
    confusion figures (``out["volcano"]`` ...). ``stability``: method -> its stability summary."""
    table = candidate_table(genes, tiers, dataset)
    primary = primary_method(genes)
    probes = [html.unescape(p.split(">")[1].split("<")[0]) if ">" in p else html.unescape(p) for p in table.probe]
    symbols = genes[primary].set_index("probe_id").gene_symbol.reindex(probes).fillna("").tolist()
    title, download = f"{dataset.name}: candidate genes", f"{dataset.name}_candidate_genes"  # not a gene CSV's name
    intro = candidates_intro(dataset, stability.get(primary), "gene title" in table, _no_signal(genes, primary))
    bare = len(table_page(table, title, intro, download).encode("utf-8"))  # the page without the expression data
    panel = fitted_panel(dataset, probes, symbols, table.columns.get_loc("probe"), bare)
    write_table_page(table, title, intro, out["page"], download, panel)
    plain = genes[primary].merge(tiers[["probe_id", "tier"]], on="probe_id", how="left")
    ordered = plain.set_index("probe_id").loc[probes].reset_index()
    candidate_figures.plot_volcano(genes[primary], tiers, dataset, out["volcano"])
    candidate_figures.plot_gene_boxplots(dataset, ordered, out["boxplots"])
    candidate_figures.plot_gene_pairs(dataset, genes.get("spred", genes[primary]), out["pairs"])
    candidate_figures.plot_confusion(predictions, dataset.class_names, dataset.name, out["confusion"])


def _no_signal(genes: dict[str, pd.DataFrame], primary: str) -> str:
    """The note on methods without evidence of class signal: the table's own method (its ranks fill the table)
    first; another such method only concerns the genes whose "found by" names it."""
    others = [SHORT.get(m, m) for m in genes if m != primary and no_signal_note({m: genes[m]})]
    note = no_signal_note({primary: genes[primary]})
    if others:
        note += (f" {', '.join(others)} also showed {NO_SIGNAL}: a gene that only "
                 f"{'it' if len(others) == 1 else 'they'} found is noise until shown otherwise.")
    return note.strip()


def method_of(path) -> str:
    """A gene CSV or fit named ``{method}.csv`` / ``{method}.npz``: its method."""
    return Path(path).stem
