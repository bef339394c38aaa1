"""What the report's HTML pages share: links to NCBI, a gene's direction of change, the page frame, sortable
tables with CSV / Excel / copy buttons, and the glossary the captions link to.

Each page stands alone and works offline (the DataTables library that itables ships, with its Buttons
extension, is embedded), so the Snakemake report shows it inline and a biologist can sort, search and
download it without leaving the page.
"""

from __future__ import annotations

import html
import re
from pathlib import Path

import numpy as np
import pandas as pd

from genesel.io import atomic_path

NCBI = "https://www.ncbi.nlm.nih.gov"
#: the descriptive moderated q under which a gene's largest fold change is called a direction
DIRECTION_Q = 0.05


def _link(url: str, text: str) -> str:
    return f'<a href="{html.escape(url, quote=True)}" target="_blank" rel="noopener">{html.escape(text)}</a>'


def _entrez(entrez) -> str:
    first = "" if entrez is None or (isinstance(entrez, float) and np.isnan(entrez)) else str(entrez)
    first = first.split(" /// ")[0].strip()
    return first[:-2] if first.endswith(".0") else first


def gene_link(symbol: str, entrez: str = "") -> str:
    """NCBI Gene: the record when the Entrez id is known, else a search for the symbol."""
    if not symbol:
        return ""
    first = _entrez(entrez)
    if re.fullmatch(r"[0-9]+", first):
        return _link(f"{NCBI}/gene/{first}", symbol)
    return _link(f"{NCBI}/gene/?term={symbol.split(' /// ')[0]}%5Bsym%5D+AND+human%5Borgn%5D", symbol)


def symbol_or_probe(symbol, probe: str, entrez="") -> str:
    """The gene's symbol linked to NCBI Gene, with its probe; the probe alone where there is no symbol."""
    symbol = symbol if isinstance(symbol, str) else ""
    return f"{gene_link(symbol, entrez)} ({html.escape(probe)})" if symbol else html.escape(probe)


def geo_link(probe: str, accession: str) -> str:
    """GEO Profiles of the probe in this dataset (a GDS or GSE accession; plain text otherwise)."""
    if re.fullmatch(r"G(DS|SE)[0-9]+", accession or ""):
        return _link(f"{NCBI}/geoprofiles/?term={probe}+{accession}", probe)
    return html.escape(probe)


def contrast_q(row: pd.Series, column: str) -> float:
    """The moderated q of one contrast (``log2fc_X_vs_REF`` -> ``q_X_vs_REF``; with two classes the gene's q)."""
    q = row.get("q_" + column[len("log2fc_"):], row.get("q_descriptive", np.nan))
    return float(q) if q is not None else float("nan")


def direction(row: pd.Series, fold_columns: list[str]) -> tuple[str, float]:
    """The contrast against the reference with the largest |log2 fold change|: 'up in X vs REF' / 'down in X vs
    REF', or 'no clear mean shift' when that contrast's moderated q is not below ``DIRECTION_Q``; 'down in every
    class vs REF (most in X)' where every contrast of three or more classes moves the same way, each with q below
    it (the reference is then the odd one out)."""
    values = row[fold_columns].astype(float)
    if values.isna().all():
        return "", float("nan")
    column = values.abs().idxmax()
    if not contrast_q(row, column) < DIRECTION_Q:
        return "no clear mean shift", float(values[column])
    name, reference = column[len("log2fc_"):].rsplit("_vs_", 1)
    word = "up" if values[column] > 0 else "down"
    every = len(fold_columns) > 1 and all(
        np.sign(values[c]) == np.sign(values[column]) and contrast_q(row, c) < DIRECTION_Q for c in fold_columns)
    if every:
        return f"{word} in every class vs {reference} (most in {name})", float(values[column])
    return f"{word} in {name} vs {reference}", float(values[column])


STYLE = ("body{font-family:sans-serif;margin:1em;font-size:14px} table.summary{border-collapse:collapse}"
         " table.summary td,table.summary th{border:1px solid #ccc;padding:3px 8px;text-align:left}"
         " .genes-box{border:2px solid #2c7a7b;border-radius:6px;padding:0.3em 1em;margin:0.8em 0;background:#f5fbfb}"
         " .genes-box h3{margin:0.3em 0} .genes-box th{text-align:left}")


def page(title: str, body: str) -> str:
    return (f'<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
            f'<style>{STYLE}</style></head><body>\n<h2>{html.escape(title)}</h2>\n{body}\n</body></html>\n')


#: columns of long text that get room to wrap in two or three lines rather than one word a line
WIDE_COLUMNS = ("found by", "gene title", "evidence")
#: columns of p- and q-values held as text
NUMERIC_PREFIXES = ("q ", "held-out p")


def datatable_html(table: pd.DataFrame, download: str, caption: str | None = None, table_id: str | None = None) -> str:
    """A sortable, searchable table with the DataTables library embedded (no network needed) and buttons that
    copy it or save it as CSV or Excel named ``download`` (plus the extension)."""
    from itables import options, to_html_datatable
    from itables.javascript import _itables_underscore_version, generate_init_offline_itables_html

    loader = generate_init_offline_itables_html(options.dt_bundle)
    setup = ("<script type=\"module\">const { set_or_remove_dark_class } = await window."
             f"{_itables_underscore_version()}; set_or_remove_dark_class();</script>")
    wide = [i for i, column in enumerate(table.columns) if column in WIDE_COLUMNS]
    # p- and q-values written as text ("3.3e-09", "not a mean effect") still sort as numbers (text first)
    numeric = [i for i, column in enumerate(table.columns) if column.startswith(NUMERIC_PREFIXES)]
    buttons = ["pageLength", {"extend": "copyHtml5", "title": download},
               {"extend": "csvHtml5", "title": download}, {"extend": "excelHtml5", "title": download}]
    body = to_html_datatable(table, caption=caption, connected=False, allow_html=True, pageLength=25,
                             display_logo_when_loading=False, classes="display compact", autoWidth=False,
                             columnDefs=[{"targets": wide, "width": "18em"}, {"targets": numeric, "type": "num"}],
                             buttons=buttons,
                             layout={"topStart": "buttons"}, table_id=table_id, maxBytes=0,  # every row: no downsampling
                             text_in_header_can_be_selected=False)  # a click on a header sorts
    return loader + setup + body


#: the most bytes a report page should have: the Snakemake report opens an HTML item as a base64 data URL (a
#: third longer), and Chromium navigates to a URL of at most 2 MiB; a longer one leaves the item blank, even
#: from the report's own buttons (the demo's GDSSIM3 candidate page, 1.7 MB with 1,200 arrays' expression)
MAX_PAGE_BYTES = 1_500_000


def table_page(table: pd.DataFrame, title: str, intro: str, download: str, extra: str = "") -> str:
    """A standalone HTML page: a title, an explanation, the sortable table (downloads named ``download``) and
    any ``extra`` HTML after it."""
    return page(title, f"<p>{intro}</p>\n" + datatable_html(table, download, table_id="genes") + extra)


def write_table_page(table: pd.DataFrame, title: str, intro: str, path, download: str, extra: str = "") -> Path:
    """:func:`table_page` written to ``path``."""
    with atomic_path(Path(path)) as tmp:
        tmp.write_text(table_page(table, title, intro, download, extra), encoding="utf-8")
    return Path(path)


#: the terms captions and tables use, in plain words (the glossary page)
GLOSSARY = {
    "stable": "A gene that stability selection keeps: in at least the threshold share (0.75 by default) of many "
              "random halves of the arrays, the method ranked it among its q best genes.",
    "bound (expected false stable genes)": "An upper bound on how many of a method's stable genes are expected to "
              "carry no signal at all (Shah & Samworth 2013). 'At most about 1 of these 4' means that, on average, "
              "one of the four may be a false discovery. A list that several methods found carries the sum of their "
              "bounds; each method's own stable genes keep its own bound.",
    "best method": "The most accurate of the methods that keep at most half of the probes per split (a short gene "
              "list); 'level with it': not shown to be worse over the splits. A method keeping more than half can "
              "predict better: the headline names it ('more accurate, keeping most probes'), but it gives no short "
              "list.",
    "selection probability": "The share of random halves of the arrays in which the method kept the gene among its "
              "q best. 0 means no half kept it; such a gene gets no rank.",
    "selection frequency": "The share of the train/validation/test splits whose training arrays selected the gene.",
    "held-out p (mean-shift test)": "Each split's selected genes tested on that split's test arrays only, with "
              "limma's moderated t/F test of a difference in mean (Bonferroni over the split's genes, splits "
              "combined as twice the median). It cannot see a gene that works through an interaction or a change "
              "of spread: such genes read 'not a mean effect'.",
    "moderated q (descriptive)": "limma's moderated test on all arrays, Benjamini-Hochberg adjusted. The arrays "
              "that selected the gene are among them, so it describes the gene; it does not test the selection. "
              "Where a patient gave several arrays, limma treats that patient's arrays as correlated "
              "(duplicateCorrelation).",
    "log2 FC X vs REF": "Mean log2 expression in class X minus that in the reference class (positive: higher in X); "
              "where a patient gave several arrays, limma's estimate with the patients as blocks.",
    "signal p": "For spred on its κ path: whether the models chosen on validation predict the validation arrays "
              "better than always guessing the commonest class, pooled over every split's validation arrays and tested "
              "against the same question with shuffled labels. Above 0.05 there is no evidence of class signal for "
              "the method: its genes are still listed, marked 'no evidence of class signal', and should be read as "
              "noise; its accuracy is that of guessing the commonest class.",
    "converged": "For spred on its κ path: the chosen model passed its optimality (KKT) certificate. For the "
              "MLP head (non-convex) this certifies a stationary point, not the best model. On the SGD grid: the "
              "set of kept genes settled before the epoch cap. For L1 logistic regression: its optimality (KKT) "
              "conditions hold over every gene. For HSIC-Lasso: its path reached the number of genes asked for "
              "(n_features); below 100% the path ended earlier, when no further gene added dependence on the class, "
              "and the method kept fewer genes. That is not an error. limma is closed-form (always 100%).",
    "head": "spred has two heads that share one weight per gene: a linear one and a small neural network (MLP). "
            "'nonlinear' means most of the gene's weight goes to the MLP: its effect may be an interaction.",
    "Eq. 8": "The spred paper's model (Ziyin & Wang, ICML 2023): a linear and an MLP head sharing one "
             "Hadamard-product weight per gene, whose L2 penalty equals an L1 (group-lasso) penalty at its minima.",
    "κ (kappa)": "The sparsity strength of spred: larger κ keeps fewer genes. It is chosen on the validation arrays "
                 "of each split.",
    "evidence": "Which kinds of method found the gene: every method; only methods that can model interactions "
                "(spred, the MLPs, HSIC-Lasso); only linear methods; or some of each. It says what the methods "
                "found, not what the gene does: a plain mean shift may be found only by interaction-capable methods.",
}


def write_glossary(path) -> Path:
    """The glossary page of the report."""
    items = "".join(f"<dt><b>{html.escape(term)}</b></dt><dd>{html.escape(text)}</dd>" for term, text in GLOSSARY.items())
    with atomic_path(Path(path)) as tmp:
        tmp.write_text(page("genesel: glossary", f"<dl>{items}</dl>"), encoding="utf-8")
    return Path(path)
