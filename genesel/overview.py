"""The report's landing (verb ``overview``): for each dataset the genes to validate, the headline (the best
method among those that select genes, and the methods level with it), the datasets, every method's result,
the paste-ready methods paragraph, and the config as its own file."""

from __future__ import annotations

import html
import json
from pathlib import Path

import numpy as np
import pandas as pd

from genesel.dataset import Dataset
from genesel.io import atomic_path
from genesel.pages import direction, page, symbol_or_probe
from genesel.registry import label

#: a method "selects genes" on a dataset when it keeps at most this share of the probes on average
SELECTING_SHARE = 0.5
#: the most genes a dataset's "genes to validate" box lists (the rest are in its candidate table)
BOX_ROWS = 15


def report_link(path, text: str) -> str:
    """A link, on the Snakemake report's front page, that opens the HTML report item at ``path`` (as the rule
    names its output) with its description, as the item's eye button does (the report's ``app.setView``). The same
    page is also a Summary item, shown in an iframe without ``app``: there the link asks the front page's listener
    (:func:`frame_listener`), as :func:`frame_link` does."""
    key = json.dumps(str(path)).replace('"', "'")
    script = (f"javascript:void(window.app ? app.setView({{navbarMode: 'resultinfo', resultPath: {key}, content: 'html', "
              f"contentPath: results[{key}].data_uri}}) : window.parent.postMessage({{geneselOpen: {key}}}, '*'))")
    return f'<a href="{html.escape(script, quote=True)}">{html.escape(text)}</a>'


#: installs, on the report's front page, the listener that opens a report item a page in the report's iframe asks
#: for (:func:`frame_link`): Snakemake shows an HTML item in an iframe of a data URI, which can reach the report
#: only by a message, and the front page's HTML is inserted without running its scripts, so the listener is an
#: image's onload handler (once per window)
_LISTENER = ("if (!window.geneselListens) { window.geneselListens = true; window.addEventListener('message', e => { "
             "const p = e.data && e.data.geneselOpen; if (typeof p === 'string' && window.results && results[p]) "
             "app.setView({navbarMode: 'resultinfo', resultPath: p, content: 'html', contentPath: results[p].data_uri}); "
             "}); }")
#: a 1 x 1 transparent GIF: an image that loads, so that its onload handler runs
_PIXEL = "data:image/gif;base64,R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7"


def frame_listener() -> str:
    """The (invisible) element of the front page that lets :func:`frame_link` links open report items."""
    return f'<img id="genesel-listener" alt="" hidden src="{_PIXEL}" onload="{html.escape(_LISTENER, quote=True)}">'


def frame_link(path, page_path, text: str) -> str:
    """A link, on a page the Snakemake report shows in an iframe (the overview), to the report item at ``path``
    (as the rule names its output): it asks the report's front page to open it (:func:`frame_listener`); opened
    from the results folder itself, it goes to the file, relative to ``page_path``, the page's own path."""
    import os

    relative = os.path.relpath(str(path), os.path.dirname(str(page_path)) or ".")
    message = json.dumps({"geneselOpen": str(path)})
    script = f"if (window.parent !== window) {{ window.parent.postMessage({message}, '*'); return false; }}"
    return (f'<a class="report-link" href="{html.escape(relative, quote=True)}" '
            f'onclick="{html.escape(script, quote=True)}">{html.escape(text)}</a>')


def selects_genes(summary: pd.DataFrame, datasets: list[Dataset]) -> pd.Series:
    """Per row of ``summary``: whether the method keeps at most ``SELECTING_SHARE`` of the dataset's probes on
    average (an MLP that keeps every gene gives no list, whatever its accuracy)."""
    probes = summary.dataset.map({d.name: d.n_probes for d in datasets})
    return (summary.genes_selected_mean <= SELECTING_SHARE * probes).fillna(False)


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
    if not row.selecting:
        return "keeps most genes: not compared"
    if row.method == row.best:
        return "best"
    if pd.isna(row.difference):
        return ""
    if pd.isna(row.p):
        return f"{row.difference:+.3f} on every split: no spread to test"
    return (f"{row.difference:+.3f} [{row.ci_low:+.3f}, {row.ci_high:+.3f}], "
            f"p {row.p_holm:.2g}{'' if row.level else ' (worse)'}")


#: the headline's column of the methods that predict better than the best but keep most probes
DENSER = "more accurate, keeping most probes"
ABOVE = "better than the commonest class"


def _headline(table: pd.DataFrame, probes: dict[str, int], no_signal: dict[str, set[str]]) -> pd.DataFrame:
    """One row per dataset: the best of the methods that select genes, the ones level with it, and the methods
    more accurate than it that keep more than half of the probes (named, so that "best" is not read as "most
    accurate": on the demo's 99-probe set spred predicts far better than the best short list, with 55 probes).
    A method level with the best whose signal test found no class signal (``no_signal``: dataset -> labels) is
    marked: it predicts the commonest class, and the splits are too few to tell that from the best."""
    rows = []
    for name, p in probes.items():
        mine = table[table.dataset == name]
        selecting = mine[mine.selecting]
        top = selecting.accuracy_mean.max() if len(selecting) else -np.inf
        denser = mine[~mine.selecting & (mine.accuracy_mean > top)].sort_values("accuracy_mean", ascending=False)
        more = "; ".join(f"{r.method} {r.accuracy_mean:.3f} ({r.genes_selected_mean:.0f} of {p} probes per split)"
                         for r in denser.itertuples())
        if not len(selecting):
            rows.append({"dataset": name, "best method": "no method selected genes", "test accuracy": "",
                         "majority class": "", "stable genes": "", "level with the best (paired test)": "",
                         DENSER: more})
            continue
        best = selecting.sort_values("accuracy_mean", ascending=False).iloc[0]
        level = [r.method + _level_mark(r, no_signal.get(name, ())) for r in
                 selecting[selecting.level.ne(False) & (selecting.method != best.method)].itertuples()]
        rows.append({"dataset": name, "best method": best.method,
                     "test accuracy": f"{best.accuracy_mean:.3f} ± {best.accuracy_sd:.3f}",
                     "majority class": round(best.majority_rate, 3), ABOVE: _above(best),
                     "stable genes": best.n_stable, "level with the best (paired test)": ", ".join(level) or "none",
                     DENSER: more})
    return pd.DataFrame(rows)


def _above(row) -> str:
    """Whether a method's mean test accuracy is above always guessing the commonest class of each test part."""
    return "yes" if row.accuracy_mean > row.majority_rate else "no"


def _level_mark(row, no_signal) -> str:
    if row.method in no_signal:
        return " (no evidence of class signal)"
    return "" if _above(row) == "yes" else " (not above guessing the commonest class)"


def _accuracy_text(row) -> str:
    text = f"{row.accuracy_mean:.3f} ± {row.accuracy_sd:.3f}"
    return text if _above(row) == "yes" else f"{text} (not above the commonest class, {row.majority_rate:.3f})"


def overview_tables(summary: pd.DataFrame, datasets: list[Dataset], stable_counts: pd.DataFrame,
                    paired: pd.DataFrame | None = None,
                    no_signal: dict[str, frozenset[str]] | None = None) -> dict[str, pd.DataFrame]:
    """The overview's tables: datasets, the headline (best method per dataset among the methods that select
    genes, with the methods level with it given ``paired``, those of ``no_signal`` (dataset -> methods whose
    signal test found no class signal) marked), every method's result (with its difference to the best)."""
    described = pd.DataFrame([{
        "dataset": d.name, "title": d.metadata.get("title", ""), "arrays": d.n_samples, "probes": d.n_probes,
        "classes": ", ".join(f"{c} ({n})" for c, n in d.class_counts().items()), "reference class": d.reference_class,
        "patients grouped": "yes" if d.grouped else "no",
    } for d in datasets])
    table = summary.merge(stable_counts, on=["dataset", "method"], how="left")
    table["selecting"] = selects_genes(table, datasets).to_numpy()
    paired = paired if paired is not None else pd.DataFrame(columns=["dataset", "method", "versus", "difference",
                                                                     "ci_low", "ci_high", "p"])
    compared = versus_best(table[table.selecting], paired)
    table = table.merge(compared.drop(columns=["splits", "se"], errors="ignore"), on=["dataset", "method"], how="left")
    table["versus"] = [_versus_text(r) for r in table.itertuples()]
    table["method"] = table["method"].map(label)
    table["best"] = table["best"].map(label)
    quiet = {name: {label(m) for m in methods} for name, methods in (no_signal or {}).items()}
    headline = _headline(table, {d.name: d.n_probes for d in datasets}, quiet)
    results = pd.DataFrame({
        "dataset": table.dataset, "method": table.method,
        "test accuracy": [_accuracy_text(r) for r in table.itertuples()],
        "genes selected": [f"{m:.0f} ± {s:.0f}" for m, s in zip(table.genes_selected_mean, table.genes_selected_sd)],
        "stable genes": table.n_stable, "bound on false stable genes": table.bound.round(2),
        "splits": table.splits, "not fitted": table.failed_splits,
        "chosen models converged": [f"{v:.0%}" if pd.notna(v) else "" for v in table.converged_share],
        # the signal test: above signal_alpha its genes are marked as noise and it predicts the majority class
        "signal p": [f"{v:.3g}" if pd.notna(v) else "" for v in table.get("signal_p", pd.Series(index=table.index))],
        "against the best: difference [95% CI], Holm p": table.versus.to_numpy(),
    })
    return {"datasets": described, "headline": headline, "results": results}


def false_in_words(expected: float, n: int) -> str:
    """The expected number of false discoveries among ``n`` listed genes, in words."""
    if n == 0:
        return "No gene is stable under any method."
    if not np.isfinite(expected):
        return "The error bound is unknown."
    if n == 1:
        if expected < 0.5:
            return f"This gene is unlikely to be a false discovery (at most {expected:.2f} expected)."
        return f"This one gene may well be a false discovery (bound {expected:.2f}): treat it as a lead to test."
    if expected < 0.5:
        return f"Fewer than 1 of these {n} is expected to be a false discovery (at most {expected:.2f} on average)."
    if expected >= n:
        return (f"Up to all {n} may be false discoveries (bound {expected:.1f}): treat them as leads to test, "
                "not findings.")
    k = int(round(expected))
    return (f"At most about {k} of these {n} {'is' if k == 1 else 'are'} expected to be "
            f"{'a false discovery' if k == 1 else 'false discoveries'} (bound {expected:.2f}).")


def genes_to_validate(tiers: pd.DataFrame, bounds: dict[str, float],
                      no_signal: frozenset[str] = frozenset()) -> tuple[pd.DataFrame, str]:
    """The genes some method calls stable (``tiers``, written by ``compare``), most methods first, then by their
    highest selection probability: gene, selection probability per method that found it, the direction and size
    of the change, the methods. With the expected number of false ones in words: the sum of the bounds
    (``bounds``, method -> expected false stable genes) of the methods that found any of them, and each such
    method's own bound on its stable genes. A method in
    ``no_signal`` (its signal test found no evidence of class signal) is marked where it is named."""
    if not len(tiers):
        return pd.DataFrame(), false_in_words(0.0, 0)
    methods = [m for m in bounds if f"selection_probability_{m}" in tiers]
    found = [set(str(v).split(", ")) for v in tiers.found_by.fillna("")]
    probability = pd.DataFrame({m: tiers[f"selection_probability_{m}"] for m in methods}, index=tiers.index)
    best = probability.max(axis=1).fillna(0.0)
    order = pd.DataFrame({"n": tiers.n_methods, "p": best}).sort_values(["n", "p"], ascending=False, kind="stable").index
    folds = [c for c in tiers.columns if c.startswith("log2fc_")]
    rows = []
    for i in order:
        row = tiers.loc[i]
        change, size = direction(row, folds)
        rows.append({
            "gene": symbol_or_probe(row.get("gene_symbol", ""), row.probe_id, row.get("entrez_id", "")),
            "selection probability": ", ".join(f"{label(m)} {probability.at[i, m]:.2f}" for m in methods
                                               if m in found[i]),
            "change": f"{change} (log2 FC {size:+.2f})" if np.isfinite(size) else change,
            "found by": ", ".join(label(m) + (" (no evidence of class signal)" if m in no_signal else "")
                                  for m in methods if m in found[i]),
        })
    users = {m for f in found for m in f if m in bounds}
    words = false_in_words(sum(bounds[m] for m in users), len(rows)) + _each_method(found, bounds, methods, users)
    if users & no_signal:
        words += (" Methods marked 'no evidence of class signal' did not predict the classes better than chance "
                  "on this dataset: a gene only they found is noise until shown otherwise.")
    return pd.DataFrame(rows), words


def _each_method(found: list[set[str]], bounds: dict[str, float], methods: list[str], users: set[str]) -> str:
    """Where several methods found the genes, each one's own guarantee: its stable genes (all in the list) and
    its bound. The list's bound is their sum (the list is the union of their stable genes), which with several
    methods reads as if every gene might be false; taken alone, each method's genes keep its own bound."""
    if len(users) < 2:
        return ""
    counts = {m: sum(m in f for f in found) for m in methods if m in users}
    return " Taken one method at a time: " + "; ".join(
        f"{label(m)}: {n} stable gene{'s' if n != 1 else ''}, at most {bounds[m]:.2f} expected false"
        for m, n in counts.items()) + "."


def no_signal_methods(summary: pd.DataFrame, dataset: str, config: dict) -> frozenset[str]:
    """The methods whose signal test found no evidence of class signal on ``dataset`` (``signal_p`` above the
    method's ``signal_alpha``, 0.05 unless its settings say otherwise)."""
    if "signal_p" not in summary:
        return frozenset()
    rows = summary[(summary.dataset == dataset) & summary.signal_p.notna()]
    settings = config.get("methods") or {}
    alpha = {m: (settings.get(m) or {}).get("signal_alpha", 0.05) for m in rows.method}
    return frozenset(m for m, p in zip(rows.method, rows.signal_p) if alpha[m] is not None and p > alpha[m])


def genes_box(name: str, table: pd.DataFrame, words: str, link: str = "") -> str:
    """A dataset's "genes to validate" box (HTML): up to ``BOX_ROWS`` genes, the expected false ones in words,
    and the link (or the way) to its candidate table."""
    shown = table.head(BOX_ROWS)
    more = f" {len(table) - len(shown)} more are in the table." if len(table) > len(shown) else ""
    where = link or f"{html.escape(name)} → Candidate genes → candidate genes (sortable)"
    body = shown.to_html(index=False, escape=False, border=0, classes="summary") if len(shown) else ""
    return (f'<div class="genes-box"><h3>{html.escape(name)}: genes to validate</h3>{body}'
            f"<p>{html.escape(words)}{more} Every gene, with its statistics: {where}.</p></div>")


def write_overview(tables: dict[str, pd.DataFrame], boxes: list[str], version: str, path) -> Path:
    """The overview page: the genes to validate per dataset first, then the headline and the tables."""
    body = ['<p>Genes to validate first: the genes that stability selection calls stable, by dataset. Then how '
            f'well each method predicts the classes. genesel {html.escape(version)}.</p>', *boxes,
            "<p>Is a method really behind the best? Only methods that keep at most half of the probes compete for "
            "best (a method that keeps every gene gives no list). Its accuracy difference to the best method is "
            "taken split by split, and tested over the splits with a t-test corrected for the arrays the splits "
            "share (Nadeau &amp; Bengio 2003). The p-values are Holm-adjusted over the methods compared with the "
            "best; <b>worse</b> marks a method below the best at 0.05. A method <b>level with the best</b> is not "
            "shown to be worse: the splits cannot tell them apart.</p>"]
    for name, title in (("headline", "Headline: the best method per dataset"), ("datasets", "Datasets"),
                        ("results", "Every method on every dataset")):
        body.append(f"<h3>{title}</h3>" + tables[name].to_html(index=False, classes="summary", border=0, na_rep=""))
    with atomic_path(Path(path)) as tmp:
        tmp.write_text(page("genesel: overview", "\n".join(body)), encoding="utf-8")
    return Path(path)


def headline_sentences(headline: pd.DataFrame, counts: dict[str, int], links: dict[str, str],
                       simulated: frozenset[str] = frozenset()) -> list[str]:
    """The headline in words, one sentence (HTML) per dataset (``simulated``: datasets named as such)."""
    out = []
    for _, row in headline.iterrows():
        name, best = html.escape(row["dataset"]), row["best method"]
        if row["dataset"] in simulated:
            name += " (simulated data, not biology)"
        denser = row.get(DENSER, "")
        denser = (f" More accurate, but keeping more than half of the probes (so no short gene list): "
                  f"{html.escape(denser)}." if isinstance(denser, str) and denser else "")
        if best == "no method selected genes":
            out.append(f"<b>{name}</b>: no method kept a short gene list.{denser}")
            continue
        level = row.get("level with the best (paired test)", "none")
        tie = ("no other method is level with it" if level in ("none", "") else
               f"level with it (the splits cannot tell them apart): {html.escape(level)}")
        genes, link = counts.get(row["dataset"], 0), links.get(row["dataset"], "")
        chance = ("" if row.get(ABOVE, "yes") == "yes" else " No method that selects genes predicted the test "
                  "arrays better than always guessing the commonest class: read its genes as noise.")
        out.append(f"<b>{name}</b>: best at predicting the classes among the methods that select genes is "
                   f"{html.escape(best)}, test accuracy {row['test accuracy']} (always guessing the commonest class: "
                   f"{row['majority class']}); {tie}. <b>{genes} gene{'s' if genes != 1 else ''} to validate</b>"
                   + (f" ({link})" if link else "") + "." + chance + denser)
    return out


def landing_html(sentences: list[str], boxes: list[str], methods: str) -> str:
    """The landing page's generated part (the report's front page includes it): the headline, the methods
    paragraph to paste, then each dataset's genes to validate; and the listener that lets the overview's links
    open report items (:func:`frame_listener`)."""
    return "\n".join([
        frame_listener(), "<h2>Headline</h2>", *[f"<p>{s}</p>" for s in sentences],
        "<h2>Methods</h2>", f'<p class="methods">{html.escape(methods)}</p>',
        "<h2>Genes to validate</h2>", *boxes,
    ]) + "\n"


def write_config(config: dict, path) -> Path:
    """The run's config as YAML: its own report item."""
    import yaml

    with atomic_path(Path(path)) as tmp:
        tmp.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    return Path(path)


def write_landing(summary: pd.DataFrame, paired: pd.DataFrame | None, datasets: list[Dataset],
                  stability: pd.DataFrame, tiers: dict[str, pd.DataFrame], config: dict, versions: pd.DataFrame,
                  candidates: dict[str, str], out: dict[str, Path]) -> None:
    """Everything the ``overview`` verb writes: the overview page, the landing page's generated part, the
    methods paragraph (text) and the config (YAML). ``stability``: one row per dataset and method (``dataset``,
    ``method``, ``n_stable``, ``bound``, ``q``); ``tiers``: dataset -> its consensus tiers; ``candidates``:
    dataset -> its candidate page's path as the rule names it (both pages link to it); ``out``: ``overview``,
    ``landing``, ``methods``, ``config`` -> path."""
    from importlib.metadata import version

    from genesel.methods_paragraph import methods_paragraph

    no_signal = {d.name: no_signal_methods(summary, d.name, config) for d in datasets}
    tables = overview_tables(summary, datasets, stability[["dataset", "method", "n_stable", "bound"]], paired, no_signal)
    links = {name: report_link(path, "candidate table") for name, path in candidates.items()}
    boxes, landing_boxes, counts = [], [], {}
    for d in datasets:
        bounds = stability[stability.dataset == d.name].set_index("method").bound.to_dict()
        table, words = genes_to_validate(tiers.get(d.name, pd.DataFrame()), bounds, no_signal[d.name])
        counts[d.name] = len(table)
        in_frame = frame_link(candidates[d.name], out["overview"], "candidate table") if d.name in candidates else ""
        boxes.append(genes_box(d.name, table, words, in_frame))
        landing_boxes.append(genes_box(d.name, table, words, links.get(d.name, "")))
    write_overview(tables, boxes, version("genesel"), out["overview"])
    methods = methods_paragraph(config, datasets, stability, versions)
    with atomic_path(Path(out["methods"])) as tmp:
        tmp.write_text(methods + "\n", encoding="utf-8")
    with atomic_path(Path(out["landing"])) as tmp:
        simulated = frozenset(d.name for d in datasets if d.simulated)
        tmp.write_text(landing_html(headline_sentences(tables["headline"], counts, links, simulated), landing_boxes,
                                    methods), encoding="utf-8")
    write_config(config, out["config"])
