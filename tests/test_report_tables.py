"""Consensus tiers and the candidate table of the report (the data behind the HTML)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from genesel.candidates import candidate_table
from genesel.compare import TIERS, consensus_tiers
from genesel.dataset import Dataset
from genesel.overview import ABOVE, DENSER, headline_sentences, overview_tables
from genesel.pages import gene_link, geo_link
from genesel.registry import label


def gene_table(stable: dict[str, bool], ranks: dict[str, float], unkept: tuple[str, ...] = ()) -> pd.DataFrame:
    """A gene CSV as `genesel rank` writes it: a rank for the genes in ``ranks``; ``unkept``: some split selected
    them but no stability half kept them (no rank); the others no split selected."""
    probes = ["a", "b", "c", "d", "e"]
    frequency = [f if p in ranks or p in unkept else 0.0 for p, f in zip(probes, [0.9, 0.5, 0.1, 0.6, 0.2])]
    return pd.DataFrame({
        "rank": pd.array([ranks.get(p) for p in probes], dtype="Int64"), "probe_id": probes,
        "gene_symbol": ["GA", "GB", "", "GD", "GE"], "selection_frequency": frequency,
        "selection_probability": [0.9 if stable.get(p) else 0.0 for p in probes],
        "stable": [bool(stable.get(p)) for p in probes],
        "log2fc_tumour_vs_normal": [1.5, -0.2, 0.0, -2.0, 0.1], "q_descriptive": [0.01, 0.5, 0.9, 0.001, 0.8],
        "p_descriptive": [0.001, 0.4, 0.8, 0.0001, 0.7],
    })


def genes() -> dict[str, pd.DataFrame]:
    return {
        "spred": gene_table({"a": True, "b": True, "d": True}, {"a": 1, "b": 2, "d": 3}, unkept=("e",)),
        "l1_logistic": gene_table({"a": True, "c": True, "d": True}, {"a": 1, "c": 2, "d": 3}),
        "limma": gene_table({"a": True, "c": True}, {"a": 1, "c": 2}),
    }


def test_tiers_say_which_kind_of_method_found_a_gene():
    tiers = consensus_tiers(genes()).set_index("probe_id")
    assert tiers.tier.to_dict() == dict(zip("abcd", TIERS))
    assert TIERS[1] == "found only by methods that can model interactions"
    assert tiers.loc["d", "found_by"] == "spred, l1_logistic" and tiers.loc["a", "n_methods"] == 3
    assert "e" not in tiers.index  # found by no method: not a candidate


def test_candidate_table_reads_not_selected_and_states_the_direction():
    data = Dataset("GSE1", np.zeros((4, 5)), list("abcde"), ["GA", "GB", "", "GD", "GE"], list("wxyz"),
                   [0, 0, 1, 1], ["normal", "tumour"])
    table = candidate_table(genes(), consensus_tiers(genes()), data)
    assert table.evidence.tolist()[:4] == list(TIERS)
    row_c = table[table.probe.str.contains(">c<")].iloc[0]
    assert row_c["spred rank"] == "not selected"
    assert table.loc[0, "direction"] == "up in tumour vs normal" and table.loc[3, "direction"] == "down in tumour vs normal"
    assert table.loc[1, "direction"] == "no clear mean shift"  # q 0.5: no direction to name
    assert table.loc[1, "log2 FC tumour vs normal"] == -0.2 and table.loc[1, "q tumour vs normal"] == "0.5"
    assert table.loc[1, "spred rank"] == "2"
    row_e = table[table.probe.str.contains(">e<")].iloc[0]  # selected in some split, but no half of stability selection kept it
    assert row_e["spred rank"] == "no half kept it" and row_e.evidence == ""
    assert "L1-logit" in table.loc[3, "found by"]
    assert table["stable (spred)"].tolist()[:2] == [True, True]


def test_the_direction_says_when_every_class_moves_against_the_reference():
    from genesel.pages import direction

    folds = ["log2fc_b_vs_ref", "log2fc_c_vs_ref"]
    row = pd.Series({"log2fc_b_vs_ref": -1.0, "log2fc_c_vs_ref": -2.0, "q_b_vs_ref": 0.01, "q_c_vs_ref": 0.001})
    assert direction(row, folds) == ("down in every class vs ref (most in c)", -2.0)
    assert direction(row.replace({0.01: 0.5}), folds)[0] == "down in c vs ref"  # b not clearly shifted
    assert direction(row.replace({-1.0: 1.0}), folds)[0] == "down in c vs ref"  # b moves the other way


def test_links_go_to_ncbi_gene_and_geo_profiles():
    assert 'href="https://www.ncbi.nlm.nih.gov/gene/7157"' in gene_link("TP53", "7157 /// 1")
    assert "gene/?term=TP53" in gene_link("TP53")
    assert "geoprofiles/?term=200001_at+GSE14520" in geo_link("200001_at", "GSE14520")
    assert geo_link("200001_at", "MYSTUDY") == "200001_at"


def test_overview_names_the_methods_level_with_the_best_and_the_worse_ones():
    """Against each dataset's best method among those that select genes (an MLP keeping every gene is never the
    best, however accurate): p-values Holm-adjusted over the methods compared, a method worse at 0.05 is marked
    so, the others are named level with the best in the headline."""
    methods = ["spred", "l1_logistic", "limma", "hsic_lasso", "mlp_l1"]
    summary = pd.DataFrame({"dataset": "D", "method": methods, "accuracy_mean": [0.9, 0.88, 0.87, 0.7, 0.95],
                            "accuracy_sd": 0.05, "genes_selected_mean": [10, 10, 10, 10, 100], "genes_selected_sd": 1,
                            "majority_rate": 0.5, "splits": 20, "failed_splits": 0, "converged_share": 1.0})
    paired = pd.DataFrame({"dataset": "D", "method": methods[1:4] + ["limma"], "versus": ["spred"] * 3 + ["l1_logistic"],
                           "difference": [-0.02, -0.03, -0.2, -0.01], "se": 0.01, "ci_low": [-0.04, -0.05, -0.22, -0.03],
                           "ci_high": [0.0, -0.01, -0.18, 0.01], "p": [0.03, 0.04, 0.001, 0.5], "splits": 20})
    stable = pd.DataFrame({"dataset": "D", "method": methods, "n_stable": 3, "bound": 1.0})
    dataset = Dataset("D", np.zeros((4, 100), np.float32), [f"p{i}" for i in range(100)], [""] * 100, list("abcd"),
                      np.array([0, 0, 1, 1]), ["x", "y"])
    tables = overview_tables(summary, [dataset], stable, paired)
    assert tables["headline"]["best method"].tolist() == [label("spred")]
    # Holm over 3 methods: 0.001 -> 0.003 (worse); 0.03 -> 0.06 and 0.04 -> 0.06 (level, though each is below 0.05)
    level = tables["headline"]["level with the best (paired test)"].tolist()
    assert level == [f"{label('l1_logistic')}, {label('limma')}"]
    # a method level with the best that showed no class signal (it predicts the commonest class) is marked
    marked = overview_tables(summary, [dataset], stable, paired, {"D": frozenset({"limma"})})
    assert marked["headline"]["level with the best (paired test)"].tolist() == \
        [f"{label('l1_logistic')}, {label('limma')} (no evidence of class signal)"]
    versus = tables["results"].set_index("method")["against the best: difference [95% CI], Holm p"]
    assert versus[label("spred")] == "best" and versus[label("l1_logistic")] == "-0.020 [-0.040, +0.000], p 0.06"
    assert versus[label("hsic_lasso")].endswith("p 0.003 (worse)")
    assert versus[label("mlp_l1")] == "keeps most genes: not compared"
    # "best" is not "most accurate": the headline names the more accurate method that keeps most probes
    assert tables["headline"][DENSER].tolist() == [f"{label('mlp_l1')} 0.950 (100 of 100 probes per split)"]
    sentence = headline_sentences(tables["headline"], {"D": 3}, {})[0]
    assert "no short gene list" in sentence and f"{label('mlp_l1')} 0.950" in sentence
    untested = paired.assign(p=[np.nan, 0.04, 0.001, 0.5], se=[np.nan, 0.01, 0.01, 0.01])
    tables = overview_tables(summary, [dataset], stable, untested)
    versus = tables["results"].set_index("method")["against the best: difference [95% CI], Holm p"]
    assert versus[label("l1_logistic")] == "-0.020 on every split: no spread to test"
    assert tables["headline"]["level with the best (paired test)"].tolist() == [label("l1_logistic")]


def test_accuracy_not_above_the_commonest_class_is_said_and_simulated_data_are_named():
    """A method no better than always guessing the commonest class of each test part (the MLPs at GDS scale:
    0.23 against 0.245) is marked where its accuracy is shown; where even the best gene-selecting method is, the
    headline says so; a simulated dataset is named as such in the headline and the methods paragraph."""
    from genesel.methods_paragraph import methods_paragraph

    methods = ["spred", "l1_logistic", "mlp_wd"]
    summary = pd.DataFrame({"dataset": "D", "method": methods, "accuracy_mean": [0.40, 0.38, 0.23],
                            "accuracy_sd": 0.05, "genes_selected_mean": [10, 10, 100], "genes_selected_sd": 1,
                            "majority_rate": 0.39, "splits": 20, "failed_splits": 0, "converged_share": 1.0})
    stable = pd.DataFrame({"dataset": "D", "method": methods, "n_stable": 1, "bound": 1.0})
    dataset = Dataset("D", np.zeros((4, 100), np.float32), [f"p{i}" for i in range(100)], [""] * 100, list("abcd"),
                      np.array([0, 0, 1, 1]), ["x", "y"],
                      metadata={"description": "Synthetic GDS written by genesel simulate with planted informative "
                                               "genes; seed 1. Not biological data."})
    tables = overview_tables(summary, [dataset], stable)
    accuracy = tables["results"].set_index("method")["test accuracy"]
    assert accuracy[label("mlp_wd")] == "0.230 ± 0.050 (not above the commonest class, 0.390)"
    assert accuracy[label("spred")] == "0.400 ± 0.050"
    assert tables["headline"][ABOVE].tolist() == ["yes"]
    assert tables["headline"]["level with the best (paired test)"].tolist() == \
        [f"{label('l1_logistic')} (not above guessing the commonest class)"]
    sentence = headline_sentences(tables["headline"], {"D": 1}, {}, frozenset({"D"}))[0]
    assert sentence.startswith("<b>D (simulated data, not biology)</b>") and "read its genes as noise" not in sentence
    worse = overview_tables(summary.assign(majority_rate=0.45), [dataset], stable)
    assert worse["headline"][ABOVE].tolist() == ["no"]
    assert "better than always guessing the commonest class: read its genes as noise" in \
        headline_sentences(worse["headline"], {"D": 1}, {})[0]
    empty = pd.DataFrame(columns=["item", "value"])
    assert "D (simulated by genesel simulate with planted genes, not biological data; 4 arrays" in \
        methods_paragraph({"methods": {}}, [dataset], pd.DataFrame(), empty)


def test_genes_to_validate_name_the_genes_and_the_expected_false_ones_in_words():
    from genesel.overview import false_in_words, genes_to_validate

    tiers = consensus_tiers(genes())
    table, words = genes_to_validate(tiers, {"spred": 0.6, "l1_logistic": 0.5, "limma": 0.2})
    assert len(table) == 4 and "GA" in table.gene.iloc[0]  # found by all three methods: first
    assert table["found by"].iloc[0] == ", ".join(label(m) for m in ("spred", "l1_logistic", "limma"))
    assert table["selection probability"].iloc[0].startswith(f"{label('spred')} 0.90")
    assert table.change.iloc[0] == "up in tumour vs normal (log2 FC +1.50)"
    assert words.startswith("At most about 1 of these 4 is expected to be a false discovery")
    # the list's bound sums the methods' bounds; each method's own stable genes keep its own
    assert (f"Taken one method at a time: {label('spred')}: 3 stable genes, at most 0.60 expected false; "
            f"{label('l1_logistic')}: 3 stable genes, at most 0.50 expected false; "
            f"{label('limma')}: 2 stable genes, at most 0.20 expected false.") in words
    _, alone = genes_to_validate(consensus_tiers({"spred": genes()["spred"]}), {"spred": 0.6})
    assert "one method at a time" not in alone
    assert false_in_words(0.3, 4).startswith("Fewer than 1 of these 4")
    assert false_in_words(2.6, 12).startswith("At most about 3 of these 12 are expected to be false discoveries")
    assert false_in_words(5.0, 3).startswith("Up to all 3")
    assert false_in_words(0.9, 1).startswith("This one gene may well be a false discovery")
    flagged, words = genes_to_validate(tiers, {"spred": 0.6, "l1_logistic": 0.5, "limma": 0.2}, frozenset({"limma"}))
    assert f"{label('limma')} (no evidence of class signal)" in flagged["found by"].iloc[0]
    assert f"{label('spred')} (no evidence" not in flagged["found by"].iloc[0] and "noise until shown" in words


def test_no_signal_methods_reads_the_summary_with_each_methods_alpha():
    from genesel.overview import no_signal_methods

    summary = pd.DataFrame({"dataset": ["A", "A", "A", "B"], "method": ["spred", "spred_linear", "limma", "spred"],
                            "signal_p": [0.37, 0.03, np.nan, 0.5]})
    assert no_signal_methods(summary, "A", {"methods": {"spred_linear": {}}}) == {"spred"}
    assert no_signal_methods(summary, "A", {"methods": {"spred_linear": {"signal_alpha": 0.01}}}) == {"spred", "spred_linear"}
    assert no_signal_methods(summary, "A", {"methods": {"spred": {"signal_alpha": None}}}) == frozenset()


def _stability(probability, threshold=0.75):
    from genesel.stability import StabilityResult

    probability = np.asarray(probability, float)
    path = np.vstack([probability * 0.5, probability])
    return StabilityResult("spred", probability, path, 2, 2.0, threshold, 1.0, 10, {})


def test_stability_figure_names_genes_by_probe_id_not_by_table_row(tmp_path):
    """The selection probabilities are in dataset order, the gene table is rank-sorted: the figure must find
    each gene's symbol by its probe id (it once read the symbol from the sorted table's row, naming the
    wrong genes), and its red labels (SVG ids stable-label-*) are exactly the stable genes."""
    import xml.etree.ElementTree as ET

    from genesel.genefigures import plot_stability_path, stability_labels

    probes = ["p0", "p1", "p2", "p3", "p4", "p5"]
    symbols = ["KRT8", "PLANT1", "PDGFRA", "PLANT2", "AKT1", "PLANT3"]
    stability = _stability([0.0, 1.0, 0.1, 0.9, 0.0, 0.8])
    ranked = pd.DataFrame({"probe_id": ["p1", "p3", "p5", "p2", "p0", "p4"]})  # rank order, not dataset order
    ranked["gene_symbol"] = ranked.probe_id.map(dict(zip(probes, symbols)))
    drawn = stability_labels(stability, probes, ranked)
    assert drawn.probe_id.tolist() == ["p1", "p3", "p5", "p2"]  # probability 0: never drawn
    assert drawn.label.tolist() == ["PLANT1 (p1)", "PLANT2 (p3)", "PLANT3 (p5)", "PDGFRA (p2)"]
    assert drawn.stable.tolist() == [True, True, True, False]
    with pytest.raises(ValueError, match="5 probe ids for 6"):
        stability_labels(stability, probes[:5], ranked)
    svg = plot_stability_path(stability, ranked, probes, "GDSX", tmp_path / "stability.svg")
    root = ET.parse(svg).getroot()
    red = ["".join(g.itertext()).strip() for g in root.iter() if g.get("id", "").startswith("stable-label-")]
    grey = ["".join(g.itertext()).strip() for g in root.iter() if g.get("id", "").startswith("other-label-")]
    assert sorted(red) == ["PLANT1 (p1)", "PLANT2 (p3)", "PLANT3 (p5)"] and grey == ["PDGFRA (p2)"]


def test_stability_labels_are_spaced_apart():
    from genesel.genefigures import spread_labels

    y = np.array([1.0, 1.0, 1.0, 0.5, 0.98, 0.0])
    placed = spread_labels(y, gap=0.05, low=0.0, high=1.02)
    gaps = np.diff(np.sort(placed))
    assert (gaps >= 0.05 - 1e-12).all() and placed.max() <= 1.02 and placed.min() >= 0.0
    assert np.argsort(-placed, kind="stable").tolist() == np.argsort(-y, kind="stable").tolist()  # order kept
    assert placed[3] == 0.5  # a label with room stays at its line


def test_figures_of_a_large_dataset_stay_small(tmp_path):
    """1200 arrays (the demo's GDSSIM3): scatter layers are rasterised, so no figure passes 500 KB (its boxplot
    SVG was 2.1 MB), and no panel is subtitled 'nan' where a gene has no tier."""
    from genesel.candidate_figures import plot_confusion, plot_gene_boxplots, plot_gene_pairs, plot_volcano
    from genesel.genefigures import plot_heatmap

    rng = np.random.default_rng(0)
    n, p = 1200, 100
    probes = [f"{200000 + j}_at" for j in range(p)]
    data = Dataset("GDSBIG", rng.normal(8, 1, (n, p)).astype(np.float32), probes, [f"G{j}" for j in range(p)],
                   [f"S{i}" for i in range(n)], rng.integers(0, 3, n), ["a", "b", "c"])
    genes = pd.DataFrame({"rank": pd.array(range(1, p + 1), dtype="Int64"), "probe_id": probes,
                          "gene_symbol": [f"G{j}" for j in range(p)], "selection_frequency": 1.0,
                          "log2fc_b_vs_a": rng.normal(0, 1, p), "log2fc_c_vs_a": rng.normal(0, 1, p),
                          "p_descriptive": rng.uniform(0, 1, p), "head": "nonlinear", "tier": np.nan})
    tiers = pd.DataFrame({"probe_id": probes[:5], "tier": "found by every method"})
    truth = pd.Series(rng.integers(0, 3, n)).map(dict(enumerate("abc")))
    predictions = {m: pd.DataFrame({"true": truth, "predicted": truth.sample(frac=1, random_state=0).to_numpy()})
                   for m in ("spred", "spred_linear", "mlp_wd", "mlp_l1", "hsic_lasso", "l1_logistic", "limma")}
    paths = [plot_gene_boxplots(data, genes, tmp_path / "box.svg"), plot_gene_pairs(data, genes, tmp_path / "pairs.svg"),
             plot_volcano(genes, tiers, data, tmp_path / "volcano.svg"),
             plot_heatmap(data, genes, "spred", tmp_path / "heat.svg"),
             plot_confusion(predictions, ["a", "b", "c"], "GDSBIG", tmp_path / "confusion.svg")]
    sizes = {path.name: path.stat().st_size for path in paths}
    assert max(sizes.values()) < 500_000, sizes
    assert ">nan<" not in (tmp_path / "box.svg").read_text()


def test_methods_paragraph_is_written_from_the_run():
    from genesel.methods_paragraph import methods_paragraph

    config = {"datasets": {"D": {"label_type": "disease state", "group": "individual"}}, "splits": {"n": 20, "seed": 7},
              "preprocess": {"max_missing": 0.5, "log2": "auto", "exclude_controls": True},
              "stability": {"pairs": 25, "threshold": 0.75, "max_false": 1.0},
              "methods": {"spred": {"solver": "path", "n_kappas": 20}, "limma": {}, "mlp_wd": {"enabled": False}}}
    data = Dataset("D", np.zeros((4, 3), np.float32), ["p1", "p2", "p3"], ["A", "B", "C"], list("abcd"),
                   np.array([0, 0, 1, 1]), ["normal", "tumour"], groups=np.array(["x", "x", "y", "z"]))
    stability = pd.DataFrame({"dataset": "D", "method": ["spred", "limma"], "q": 30, "bound": [0.8, 0.95]})
    versions = pd.DataFrame({"item": ["python", "genesel", "torch", "device used"],
                             "value": ["3.11.7", "0.1.0", "2.13.0", "cpu"]})
    text = methods_paragraph(config, [data], stability, versions)
    assert "D (4 arrays, 3 probes; classes from 'disease state': normal (n = 2), tumour (n = 2); reference normal, arrays of one patient kept together (by 'individual'))" in text
    assert "20 random stratified 60/20/20" in text and "random seed 7" in text and "(seed 7)" in text
    assert "Ziyin & Wang" in text and "n_kappas = 20; solver = \"path\"" in text and "Smyth 2004" in text
    assert "weight decay" not in text  # mlp_wd is disabled
    assert "25 pairs" in text and "at most 0.95 false stable genes" in text and "q = 30 genes per half" in text
    assert "python 3.11.7, genesel 0.1.0, torch 2.13.0; run on cpu" in text
    # grouped by the reader unasked (no group in the config): the paragraph still says so, with the key it used
    config["datasets"]["D"].pop("group")
    data.metadata["group"] = "patient"
    assert "arrays of one patient kept together (by 'patient')" in methods_paragraph(config, [data], stability, versions)


def test_front_page_counts_only_the_methods_that_ran():
    """The introduction is rendered as Snakemake renders the report's front page (jinja2, then docutils): a method
    the config turns off (enabled: false) is neither counted nor named; without spred, spred is not mentioned."""
    from pathlib import Path

    import jinja2
    import yaml
    from docutils.core import publish_parts

    repo = Path(__file__).resolve().parents[1]
    text = (repo / "workflow" / "report" / "workflow.rst").read_text()
    config = yaml.safe_load((repo / "config" / "demo.yaml").read_text())

    def intro(methods: dict) -> str:
        class Snakemake:  # what the report passes: the workflow's config
            pass
        Snakemake.config = {**config, "methods": methods}
        rst = jinja2.Environment(trim_blocks=True, lstrip_blocks=True).from_string(text).render(
            snakemake=Snakemake, files=[], categories={})
        return " ".join(publish_parts(rst, writer="html")["html_body"].split())

    methods = {**config["methods"], "mlp_wd": {**config["methods"]["mlp_wd"], "enabled": False},
               "mlp_l1": {**config["methods"]["mlp_l1"], "enabled": False}}
    shown = intro(methods)
    assert "with 5 methods (spred, spred_linear, hsic_lasso, l1_logistic, limma), among them spred" in shown
    assert "mlp_wd" not in shown and "7 methods" not in shown
    alone = intro({"limma": {"enabled": True}, "spred": {"enabled": False}})
    assert "with 1 method (limma), on the same 5" in alone and "spred" not in alone


def test_overview_links_open_the_candidate_table_in_the_report_and_on_disk(tmp_path):
    """In the report the overview is an iframe of a data URI: its link posts the item's path to the front page,
    whose listener opens it; from the results folder the same link goes to the file by a relative path."""
    import html

    from genesel.overview import frame_link, landing_html

    link = frame_link("results/GSE1/report/candidates.html", "results/summary/overview.html", "candidate table")
    assert 'href="../GSE1/report/candidates.html"' in link and ">candidate table</a>" in link
    onclick = html.unescape(link.split('onclick="')[1].split('"')[0])
    assert 'postMessage({"geneselOpen": "results/GSE1/report/candidates.html"}' in onclick and "return false" in onclick
    landing = landing_html(["s"], [], "m")
    assert 'id="genesel-listener"' in landing and "addEventListener(&#x27;message&#x27;" in landing


def test_candidate_page_of_many_arrays_stays_openable_in_the_report():
    """The report opens a page as a base64 data URL, which Chromium refuses above 2 MiB (the demo's GDSSIM3 page,
    1,200 arrays' expression for 200 rows, showed blank): the expression data shrink to the rows that fit, and a
    small study keeps all 200."""
    import re

    from genesel.candidates import EXPRESSION_ROWS, fitted_panel
    from genesel.pages import MAX_PAGE_BYTES, table_page

    rng = np.random.default_rng(0)

    def page_of(n: int, p: int = 300) -> tuple[int, str]:
        probes = [f"{200000 + j}_at" for j in range(p)]
        data = Dataset("GDSBIG", rng.normal(8, 1, (n, p)).astype(np.float32), probes, [f"G{j}" for j in range(p)],
                       [f"S{i}" for i in range(n)], rng.integers(0, 3, n), ["a", "b", "c"])
        genes = pd.DataFrame({"rank": pd.array(range(1, p + 1), dtype="Int64"), "probe_id": probes,
                              "gene_symbol": [f"G{j}" for j in range(p)], "selection_frequency": 1.0,
                              "log2fc_b_vs_a": rng.normal(0, 1, p), "q_descriptive": rng.uniform(0, 1, p)})
        table = candidate_table({"spred": genes}, pd.DataFrame({"probe_id": [], "tier": [], "found_by": []}), data)
        bare = len(table_page(table, "t", "intro", "GDSBIG_spred_genes").encode())
        panel = fitted_panel(data, probes, [f"G{j}" for j in range(p)], table.columns.get_loc("probe"), bare)
        return bare + len(panel.encode()), panel

    size, panel = page_of(1200)
    rows = int(re.search(r"one of the first (\d+)", panel).group(1))
    assert size <= MAX_PAGE_BYTES and 0 < rows < EXPRESSION_ROWS
    assert 4 * size / 3 + 100 < 2 * 1024 * 1024  # as a base64 data URL, within Chromium's limit
    size, panel = page_of(45)
    assert f"one of the first {EXPRESSION_ROWS})" in panel and size < MAX_PAGE_BYTES


def test_a_sortable_table_keeps_every_row():
    """itables downsamples a table above 64 KB by default: at GDS scale the candidate page showed 451 of its 500
    rows, and its CSV button saved those. Every row must be in the page."""
    from genesel.pages import datatable_html

    table = pd.DataFrame({"probe": [f"probe{i:05d}_at" for i in range(3000)], "score": np.linspace(0, 1, 3000),
                          "note": ["a long description of the gene " * 3] * 3000})
    page = datatable_html(table, "X_candidate_genes")
    assert all(f"probe{i:05d}_at" in page for i in (0, 1500, 2999))
    assert "downsampled" not in page.lower()


def test_candidate_note_on_no_signal_names_whose_genes_it_concerns():
    """The candidate table is the primary method's: another method without class signal gets a plain sentence
    about the genes only it found, not the bold 'treat these genes as noise' (read as about the table's genes)."""
    from genesel.candidates import _no_signal
    from genesel.ranking import NO_SIGNAL

    tables = genes()
    tables["limma"] = tables["limma"].assign(status=NO_SIGNAL, signal_p=0.4)
    note = _no_signal(tables, "spred")
    assert not note.startswith("limma:") and "treat these genes as noise" not in note
    assert "limma also showed no evidence of class signal: a gene that only it found is noise" in note
    tables["spred"] = tables["spred"].assign(status=NO_SIGNAL, signal_p=0.3)
    assert _no_signal(tables, "spred").startswith("spred: no evidence of class signal (signal p 0.3)")


def test_a_caption_sits_under_rotated_tick_labels():
    """The accuracy figure's method names, rotated, reach below the figure's edge; the caption went over them."""
    import matplotlib.pyplot as plt

    from genesel.plots import add_caption

    fig, ax = plt.subplots(figsize=(9, 4))
    ax.boxplot([[0.1, 0.2], [0.3, 0.4], [0.5, 0.6]])
    ax.set_xticks([1, 2, 3], ["limma moderated t/F + SVC"] * 3, rotation=30, ha="right")
    caption = add_caption(fig, "One point per split: " * 20)
    renderer = fig.canvas.get_renderer()
    lowest = min(label.get_window_extent(renderer).y0 for label in ax.get_xticklabels())
    assert caption.get_window_extent(renderer).y1 <= lowest
    plt.close(fig)
