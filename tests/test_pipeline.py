"""The Snakemake workflow: dry run of the default config, a small offline run, reruns, config errors."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

from genesel.compare import TIERS
from genesel.splits import load_splits

REPO = Path(__file__).resolve().parents[1]

#: the config CI runs, kept where snakemake-workflows keep it
SMALL = yaml.safe_load((REPO / ".test" / "config" / "config.yaml").read_text())


def snakemake(workdir: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    cmd = [sys.executable, "-m", "snakemake", "-s", str(REPO / "Snakefile"), "--directory", str(workdir), *args]
    result = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if check and result.returncode:
        raise AssertionError(result.stdout[-3000:] + result.stderr[-3000:])
    return result


def write_config(path: Path, config: dict) -> Path:
    path.write_text(yaml.safe_dump(config))
    return path


def test_default_config_plans_all_six_datasets(tmp_path):
    # the cost plan stops the paper's grid on a CPU (tests/test_plan.py); a budget this large lets it plan
    out = snakemake(tmp_path, "-n", "--configfile", str(REPO / "config" / "config.yaml"),
                    "--config", "budget_hours=1000000").stdout
    stats = out.split("Job stats:")[1]
    counts = {}
    for line in stats.splitlines()[3:]:
        fields = line.split()
        if len(fields) != 2 or not fields[1].isdigit():
            break
        counts[fields[0]] = int(fields[1])
    assert counts["download"] == 6 and counts["prepare"] == 6
    assert counts["select"] == 6 * 7 and counts["stability"] == 6 * 7
    for accession in ("GDS1815", "GDS1816", "GDS3268", "GDS3952", "GDS4761", "GDS5027"):
        assert f"resources/geo/{accession}_full.soft.gz" in out


@pytest.fixture(scope="module")
def small_run(tmp_path_factory):
    work = tmp_path_factory.mktemp("pipeline")
    config = write_config(work / "small.yaml", SMALL)
    snakemake(work, "--cores", "2", "--configfile", str(config))
    return work, config


def test_outputs_exist_and_parse(small_run):
    work, _ = small_run
    methods = list(SMALL["methods"])
    for dataset in SMALL["datasets"]:
        splits = load_splits(work / f"results/{dataset}/splits.tsv")
        grouped = ["group"] if SMALL["datasets"][dataset].get("group", "none") != "none" else []
        assert list(splits.columns) == ["sample_id", *grouped, "split_00", "split_01"]
        metrics = pd.read_csv(work / f"results/{dataset}/metrics.tsv", sep="\t")
        assert sorted(metrics.method.unique()) == sorted(methods)
        assert len(metrics) == len(methods) * 2
        assert metrics.accuracy.between(0, 1).all() and (metrics.device == "cpu").all()
        for column in ("balanced_accuracy", "macro_f1", "n_selected", "hyperparameters", "seconds"):
            assert metrics[column].notna().all()
        for method in methods:
            genes = pd.read_csv(work / f"results/{dataset}/genes/{method}.csv")
            assert list(genes.columns[:7]) == ["rank", "status", "probe_id", "gene_symbol", "score",
                                               "selection_frequency", "median_rank"]
            chosen = genes.selection_frequency > 0
            ranked = chosen & (genes.selection_probability > 0)  # no rank where no stability half kept the gene
            assert genes["rank"][ranked].tolist() == list(range(1, ranked.sum() + 1))
            assert genes["rank"][~ranked].isna().all() and (genes.status[~chosen] == "not selected").all()
            assert (genes.status[chosen & ~ranked] == "no half kept it").all()
            assert genes.selection_frequency.between(0, 1).all() and genes.selection_probability.between(0, 1).all()
            assert (genes.stable == (genes.status == "stable")).all()
            assert genes.heldout_p.between(0, 1).all() and (genes.heldout_p[~chosen] == 1).all()
            assert {"p_descriptive", "q_descriptive"} <= set(genes.columns)
            assert any(c.startswith("log2fc_") and c.endswith("_vs_adenoma") for c in genes.columns) or dataset != "GDSTINY1"
        assert "subset types" in (work / f"results/{dataset}/inspect.txt").read_text()
    summary = pd.read_csv(work / "results/summary/accuracy.csv")
    assert len(summary) == 2 * len(methods) and summary.majority_rate.between(0, 1).all()
    assert (work / "results/summary/accuracy.md").read_text().startswith("| dataset | method |")
    paired = pd.read_csv(work / "results/summary/paired.csv")  # every ordered pair of methods, per dataset
    assert len(paired) == 2 * len(methods) * (len(methods) - 1) and (paired.splits == 2).all()
    tested = paired.dropna(subset=["p"])  # no p where a difference is the same on both splits
    assert len(tested) and tested.p.between(0, 1).all() and (tested.ci_low <= tested.difference).all()
    assert paired.difference.notna().all()
    timing = pd.read_csv(work / "results/summary/timing.tsv", sep="\t")  # every job, costed before and at its start
    assert len(timing) == 2 * len(methods) * len(SMALL["datasets"])
    assert (timing.predicted_s > 0).all() and (timing.at_start_s > 0).all() and (timing.measured_s > 0).all()
    page = (work / "results/summary/timing.html").read_text()  # the report shows it (a TSV item only downloads)
    within = ((timing.measured_over_predicted >= 0.5) & (timing.measured_over_predicted <= 2)).sum()
    assert f"Predicted before any work: {within} of {len(timing)} jobs within a factor of 2" in page


def test_every_method_tested_on_the_same_arrays(small_run):
    work, _ = small_run
    for dataset in SMALL["datasets"]:
        splits = load_splits(work / f"results/{dataset}/splits.tsv").set_index("sample_id")
        for method in SMALL["methods"]:
            predictions = pd.read_csv(work / f"results/{dataset}/fits/{method}.predictions.tsv", sep="\t")
            for k in (0, 1):
                tested = set(predictions.query("split == @k").sample_id)
                assert tested == set(splits.index[splits[f"split_{k:02d}"] == "test"])


def test_rerun_does_nothing_and_a_changed_method_reruns_alone(small_run, tmp_path):
    work, config = small_run
    assert "Nothing to be done" in snakemake(work, "-n", "--configfile", str(config)).stdout
    changed = yaml.safe_load(config.read_text())
    changed["methods"]["hsic_lasso"]["n_features"] = 4
    other = write_config(tmp_path / "changed.yaml", changed)
    plan = (work / "results/summary/plan.tsv").read_bytes()
    out = snakemake(work, "-n", "--configfile", str(other)).stdout
    # a dry run prints the plan but keeps the one made before the run (the report's timing table reads it)
    assert (work / "results/summary/plan.tsv").read_bytes() == plan
    selects = [line for line in out.splitlines() if line.strip().startswith("wildcards:") and "method=" in line]
    assert selects and all("method=hsic_lasso" in line for line in selects)


def test_bad_config_fails_before_any_work_naming_the_key(tmp_path):
    bad = dict(SMALL, splits={"n": "twenty", "seed": 0})
    result = snakemake(tmp_path, "-n", "--configfile", str(write_config(tmp_path / "bad.yaml", bad)), check=False)
    assert result.returncode != 0
    message = result.stdout + result.stderr
    assert "twenty" in message and "splits" in message and "is not of type" in message
    assert not (tmp_path / "results").exists()


def test_figures_and_tables(small_run):
    import xml.etree.ElementTree as ET

    work, config = small_run
    for dataset in SMALL["datasets"]:
        figures = work / f"results/{dataset}/figures"
        names = ["accuracy", "topk", "overlap", "training_spred"]
        names += [f"{kind}_{m}" for m in SMALL["methods"] for kind in ("frequency", "heatmap")]
        for name in names:
            root = ET.parse(figures / f"{name}.svg").getroot()
            assert root.tag.endswith("svg")
        assert "test accuracy" in (figures / "accuracy.svg").read_text()
        topk = pd.read_csv(work / f"results/{dataset}/topk.tsv", sep="\t")
        assert set(topk.columns) == {"method", "split", "classifier", "k", "accuracy"}
        assert set(topk.method) == set(SMALL["methods"]) and topk.accuracy.between(0, 1).all()
        tiers = pd.read_csv(work / f"results/{dataset}/genes/tiers.csv")
        assert {"probe_id", "tier", "found_by", "selection_probability_spred"} <= set(tiers.columns)
        assert set(tiers.tier) <= set(TIERS)
        for name in ("volcano", "candidate_boxplots", "gene_pairs", "confusion", *[f"stability_{m}" for m in SMALL["methods"]]):
            assert ET.parse(figures / f"{name}.svg").getroot().tag.endswith("svg")
        recovery = pd.read_csv(work / f"results/{dataset}/planted_recovery.csv")  # simulated datasets only
        truth = pd.read_csv(work / f"resources/simulated/{dataset}_truth.tsv", sep="\t")
        every = recovery[recovery.kind == "all"]
        assert set(every.method) == set(SMALL["methods"]) and (every.planted == len(truth)).all()
        for row in recovery.itertuples():  # the counts are the genes CSVs' own ranks of the planted probes
            genes = pd.read_csv(work / f"results/{dataset}/genes/{row.method}.csv")
            these = truth if row.kind == "all" else truth[truth.kind == row.kind]
            rank = these.probe_id.map(genes.set_index("probe_id")["rank"])
            assert row.k == len(truth) and row.recovered_in_top_k == int((rank <= row.k).sum())
            assert (pd.isna(row.best_rank) and rank.isna().all()) or row.best_rank == rank.min()


@pytest.fixture(scope="module")
def built_report(small_run, tmp_path_factory):
    work, config = small_run
    report = tmp_path_factory.mktemp("report") / "report.html"
    built = snakemake(work, "--report", str(report), "--configfile", str(config))
    assert "genesel plan" not in built.stderr  # no job runs: no plan, and no budget stop for a finished run
    return report


@pytest.fixture(scope="module")
def browser():
    """Chromium through Playwright, as a biologist opens the report."""
    import shutil

    from playwright.sync_api import sync_playwright

    chromium = shutil.which("chromium")
    if chromium is None:
        pytest.fail("chromium is not installed: apt-get install chromium (see README, Run the tests)")
    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        yield launched
        launched.close()


@pytest.fixture
def report_page(built_report, browser):
    """The report in a 1366x768 window (a common laptop screen); fails the test on a console error."""
    page = browser.new_page(viewport={"width": 1366, "height": 768}, accept_downloads=True)
    errors = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(built_report.as_uri())
    yield page
    page.close()
    assert not errors


def _stable_labels(work: Path, dataset: str, method: str) -> set[str]:
    from genesel.plots import gene_label

    genes = pd.read_csv(work / f"results/{dataset}/genes/{method}.csv")
    stable = genes[genes.stable]
    return {gene_label(p, s) for p, s in zip(stable.probe_id, stable.gene_symbol.fillna(""))}


def test_report_front_page_starts_at_its_introduction(report_page, small_run):
    """At 1366x768 the introduction, the headline and the methods are on screen without scrolling; the methods
    paragraph cites the methods and names versions and the seed; the config is its own item, not a dump."""
    page = report_page
    intro = page.locator("#genesel-intro").bounding_box()
    assert intro and 0 <= intro["y"] < 200 and intro["x"] >= 0
    for heading in ("Headline", "Methods"):
        box = page.get_by_role("heading", name=heading, exact=True).bounding_box()
        assert box and 0 <= box["y"] < 768 - box["height"], heading
    text = page.inner_text("body")
    named = re.search(rf"with {len(SMALL['methods'])} methods \(([^)]*)\)", " ".join(text.split()))
    assert named and set(named.group(1).split(", ")) == set(SMALL["methods"])  # the methods that ran
    assert "Shah & Samworth" in text and "Smyth" in text and "seed 3" in text and "snakemake 9." in text
    assert '"stability"' not in text and "level with it" in text
    page.get_by_role("link", name="Summary", exact=True).click()
    assert page.locator("tr", has_text="configuration (YAML)").count() == 1


def test_report_genes_to_validate_and_their_link(report_page, small_run):
    """Each dataset's box names every gene a method calls stable, says how many may be false in words, and
    links to the dataset's candidate table."""
    work, _ = small_run
    page = report_page
    for dataset in SMALL["datasets"]:
        box = page.locator(".genes-box", has_text=f"{dataset}: genes to validate")
        text = box.inner_text()
        stable = set().union(*(_stable_labels(work, dataset, m) for m in SMALL["methods"]))
        assert stable and all(label in text for label in stable), (stable, text)
        assert re.search(r"expected to be (a )?false discover|may (well )?be (a )?false discover", text)
    page.locator(".genes-box", has_text="GDSTINY2: genes to validate").get_by_text("candidate table").click()
    page.frame_locator("iframe").get_by_text("GDSTINY2: candidate genes").wait_for(timeout=15000)


def test_report_stability_figures_name_the_stable_genes(report_page, small_run):
    """Every stability figure the report holds: its red labels (what the figure draws) are exactly the stable
    genes of the method's CSV (the figure once named the wrong genes)."""
    import base64
    import xml.etree.ElementTree as ET

    work, _ = small_run
    page = report_page
    figures = page.evaluate("Object.entries(results).filter(([k]) => /stability_[a-z_0-9]+\\.svg$/.test(k))"
                            ".map(([k, v]) => [k, v.data_uri])")
    assert len(figures) == len(SMALL["datasets"]) * len(SMALL["methods"])
    drawn = 0
    for path, uri in figures:
        dataset, method = re.fullmatch(r"results/(\w+)/figures/stability_(\w+)\.svg", path).groups()
        root = ET.fromstring(base64.b64decode(uri.split(",", 1)[1]))
        red = {"".join(g.itertext()).strip() for g in root.iter() if g.get("id", "").startswith("stable-label-")}
        assert red == _stable_labels(work, dataset, method), path
        drawn += len(red)
    assert drawn  # some figure names a stable gene
    page.get_by_role("link", name="GDSTINY1", exact=True).click()
    page.get_by_text("Stable genes", exact=True).click()
    page.locator("tr", has_text="stability path").first.locator("a").first.click()
    shown = page.locator("div.p-3 > img")
    shown.wait_for(timeout=15000)
    assert shown.get_attribute("src") in {uri for _, uri in figures}


def test_report_candidate_table_tools(report_page):
    """The candidate table: CSV / Excel / copy buttons, the CSV named by dataset, symbols linked to
    NCBI Gene, the search finds a symbol (the data has no title column), a click on a row draws that gene's
    expression by class, and a per-contrast column sorts."""
    from playwright.sync_api import expect

    page = report_page
    page.get_by_role("link", name="GDSTINY1", exact=True).click()
    page.get_by_text("Candidate genes", exact=True).click()
    page.locator("tr", has_text="candidate genes (sortable)").locator("a").first.click()
    frame = page.frame_locator("iframe")
    rows = frame.locator("table.dataTable tbody tr")
    rows.first.wait_for(timeout=15000)
    assert rows.count() > 5
    for name in ("Copy", "CSV", "Excel"):
        expect(frame.get_by_role("button", name=name, exact=True)).to_be_visible()
    with page.expect_download() as download:
        frame.get_by_role("button", name="CSV", exact=True).click()
    assert download.value.suggested_filename == "GDSTINY1_candidate_genes.csv"  # not the gene CSV's name
    headers = [h.strip() for h in frame.locator("thead th[data-dt-column]").all_inner_texts()]
    assert "gene title" not in headers
    link = rows.first.locator("td").nth(headers.index("symbol")).locator("a")
    symbol = link.inner_text()
    assert link.get_attribute("href").startswith("https://www.ncbi.nlm.nih.gov/gene/")
    frame.locator("input[type=search]").fill(symbol)
    expect(rows).not_to_have_count(0)
    assert all(symbol in text for text in rows.all_inner_texts())
    frame.locator("input[type=search]").fill("")
    probe = rows.nth(2).locator("td").nth(headers.index("probe")).inner_text().strip()
    rows.nth(2).locator("td").nth(headers.index("direction")).click()
    figure = frame.locator("#expression-figure")
    expect(figure).to_have_attribute("data-probe", probe)
    assert figure.locator("text.class-name").count() == 3
    column = next(i for i, h in enumerate(headers) if h.startswith("log2 FC"))
    header = frame.locator("thead th[data-dt-column]").nth(column)
    header.click()
    expect(header).to_have_class(re.compile(r"dt-ordering-(asc|desc)"))
    values = [float(v) for v in frame.locator(f"table.dataTable tbody tr td:nth-child({column + 1})").all_inner_texts()]
    assert values in (sorted(values), sorted(values, reverse=True))
    page.reload()
    page.get_by_role("link", name="Summary", exact=True).click()
    page.locator("tr", has_text="overview").locator("a").first.click()
    overview = page.frame_locator("iframe").locator("body")
    overview.get_by_text("Headline").wait_for(timeout=15000)
    assert "GDSTINY1: genes to validate" in overview.inner_text() and "Holm p" in overview.inner_text()
    # the overview (an iframe of a data URI) links to each dataset's candidate table, in the one-file report too
    overview.locator(".genes-box", has_text="GDSTINY2: genes to validate").get_by_role("link", name="candidate table").click()
    page.frame_locator("iframe").get_by_text("GDSTINY2: candidate genes").wait_for(timeout=15000)


def test_report_gene_csvs_download_named_by_dataset_and_method(report_page):
    """Every gene CSV the report offers downloads as {dataset}_{method}_genes.csv (they were all {method}.csv), and
    each dataset's tables as {dataset}_tiers.csv and {dataset}_planted_recovery.csv (both simulated here)."""
    page = report_page
    names = page.evaluate("Object.values(results).map(r => r.name).filter(n => n.endsWith('.csv'))")
    wanted = {f"{d}_{m}_genes.csv" for d in SMALL["datasets"] for m in SMALL["methods"]}
    wanted |= {f"{d}_{table}.csv" for d in SMALL["datasets"] for table in ("tiers", "planted_recovery")}
    plain = {f"{m}.csv" for m in SMALL["methods"]} | {"tiers.csv", "planted_recovery.csv"}
    assert wanted <= set(names) and not plain & set(names)
    page.get_by_role("link", name="GDSTINY2", exact=True).click()
    page.get_by_text("Genes", exact=True).click()
    row = page.locator("tr", has_text="ranked genes (CSV)").filter(has_text="limma")
    with page.expect_download() as download:
        row.locator("a").first.click()
    assert download.value.suggested_filename == "GDSTINY2_limma_genes.csv"
    row = page.locator("tr", has_text="evidence tiers (CSV)")
    with page.expect_download() as download:
        row.locator("a").first.click()
    assert download.value.suggested_filename == "GDSTINY2_tiers.csv"


def test_own_expression_table_and_sample_sheet(tmp_path):
    import numpy as np

    rng = np.random.default_rng(0)
    samples = [f"S{i:02d}" for i in range(30)]
    labels = ["treated", "control"] * 15
    values = rng.normal(8, 1, (60, 30))
    values[0] += np.where(np.array(labels) == "treated", 2.0, 0.0)
    table = pd.DataFrame(values, columns=samples)
    table.insert(0, "probe", [f"p{i}" for i in range(60)])
    table.insert(1, "symbol", [f"G{i}" for i in range(60)])
    table.to_csv(tmp_path / "expr.tsv", sep="\t", index=False)
    patients = [f"P{i // 2}" for i in range(30)]  # two arrays per patient, one of each label
    pd.DataFrame({"sample": samples, "label": labels, "patient": patients}).to_csv(tmp_path / "sheet.csv", index=False)
    config = {
        "datasets": {"MYSTUDY": {"table": str(tmp_path / "expr.tsv"), "sample_sheet": str(tmp_path / "sheet.csv"),
                                 "symbol_column": "symbol", "group": "patient"}},
        "splits": {"n": 2, "seed": 0}, "device": "cpu",
        "methods": {"l1_logistic": {"Cs": [0.3, 1.0]}},
    }
    snakemake(tmp_path, "--cores", "1", "--configfile", str(write_config(tmp_path / "c.yaml", config)))
    genes = pd.read_csv(tmp_path / "results/MYSTUDY/genes/l1_logistic.csv")
    assert genes.iloc[0].probe_id == "p0" and genes.iloc[0].gene_symbol == "G0"
    assert not (tmp_path / "results/MYSTUDY/inspect.txt").exists()
    splits = load_splits(tmp_path / "results/MYSTUDY/splits.tsv")
    assert (splits.group == patients).all()
    assert (splits.groupby("group")["split_00"].nunique() == 1).all()


def test_geo_series_with_groups_and_symbols_offline(tmp_path):
    """config/geo_series.yaml's GSE14520 (real series matrix, GPL96 annotation), one fast method."""
    from tests.conftest import shared_file

    config = yaml.safe_load((REPO / "config" / "geo_series.yaml").read_text())
    hcc = config["datasets"]["GSE14520"]
    hcc["path"] = str(shared_file("geo/GSE14520-GPL571_series_matrix.txt.gz"))
    hcc["annotation"] = str(shared_file("geo/GPL96.txt.gz"))
    config.update(datasets={"GSE14520": hcc}, splits={"n": 2, "seed": 0}, device="cpu",
                  methods={"l1_logistic": {"Cs": [0.1, 1.0]}})
    snakemake(tmp_path, "--cores", "2", "--configfile", str(write_config(tmp_path / "c.yaml", config)))
    results = tmp_path / "results/GSE14520"
    genes = pd.read_csv(results / "genes/l1_logistic.csv")
    assert {"gene_symbol", "entrez_id", "gene_title"} <= set(genes.columns)
    assert (genes.gene_symbol.fillna("") != "").mean() > 0.9
    assert {"mean_log2_tumour", "mean_log2_non-tumour"} <= set(genes.columns)
    splits = load_splits(results / "splits.tsv")
    assert len(splits) == 41 and splits.group.nunique() == 22
    for k in (0, 1):
        used = splits[f"split_{k:02d}"] != "unused"
        assert (splits[used].groupby("group")[f"split_{k:02d}"].nunique() == 1).all()
    assert "'tissue': 4 values" in (results / "inspect.txt").read_text()


def test_compare_preprocesses_as_the_methods_did(tmp_path):
    """The top-k retraining in compare uses the dataset's configured preprocessing, not defaults."""
    config = dict(SMALL, preprocess={"max_missing": 0.2, "log2": False, "exclude_controls": True})
    out = snakemake(tmp_path, "-n", "-p", "--configfile", str(write_config(tmp_path / "c.yaml", config))).stdout
    compare = [line for line in out.splitlines() if line.startswith("Shell command: genesel compare")]
    select = [line for line in out.splitlines() if line.startswith("Shell command: genesel select")]
    assert compare and select
    assert all("""--preprocess '{"log2": false, "max_missing": 0.2}'""" in line for line in compare)
    assert all('"preprocess": {"log2": false, "max_missing": 0.2}' in line for line in select)


def test_h5ad_in_and_out(tmp_path):
    """An AnnData file as a dataset (obs label and donor), and the results as AnnData."""
    import anndata
    import numpy as np

    rng = np.random.default_rng(1)
    X = rng.normal(8, 1, (36, 50)).astype(np.float32)
    condition = np.array(["case", "control"] * 18)
    X[condition == "case", 0] += 2.0
    obs = pd.DataFrame({"condition": condition, "donor": [f"D{i // 2}" for i in range(36)]},
                       index=[f"S{i:02d}" for i in range(36)])
    var = pd.DataFrame({"gene_symbol": [f"G{j}" for j in range(50)]}, index=[f"p{j}" for j in range(50)])
    anndata.AnnData(X=X, obs=obs, var=var).write_h5ad(tmp_path / "study.h5ad")
    config = {"datasets": {"MYH5AD": {"path": str(tmp_path / "study.h5ad"), "label": {"column": "condition"},
                                      "group": "donor"}},
              "splits": {"n": 2, "seed": 0}, "device": "cpu", "methods": {"l1_logistic": {"Cs": [0.3, 1.0]}}}
    snakemake(tmp_path, "--cores", "1", "--configfile", str(write_config(tmp_path / "c.yaml", config)))
    genes = pd.read_csv(tmp_path / "results/MYH5AD/genes/l1_logistic.csv")
    assert genes.iloc[0].probe_id == "p0" and genes.iloc[0].gene_symbol == "G0"
    result = anndata.read_h5ad(tmp_path / "results/MYH5AD/MYH5AD.h5ad")
    assert result.var.loc["p0", "l1_logistic_rank"] == 1
    assert (result.obs.groupby("group", observed=True)["split_00"].nunique() == 1).all()


@pytest.mark.slow
def test_demo_gdssim3_spred_ranks_its_planted_nonlinear_genes_first(tmp_path):
    """The demo's learnable nonlinear case through the workflow: spred, with the demo's settings on the demo's
    GDSSIM3 (an XOR pair and two spread genes among 100 probes, 1200 arrays), ranks all four planted genes in
    its consensus top 4; its linear head alone is not run here (its miss is in benchmarks/RESULTS.md)."""
    demo = yaml.safe_load((REPO / "config" / "demo.yaml").read_text())
    config = {**{k: v for k, v in demo.items() if k not in ("datasets", "methods", "stability")},
              "datasets": {"GDSSIM3": demo["datasets"]["GDSSIM3"]},
              "methods": {"spred": demo["methods"]["spred"]},
              "stability": {**demo["stability"], "pairs": 2}, "device": "cpu"}
    snakemake(tmp_path, "results/GDSSIM3/planted_recovery.csv", "--cores", "2",
              "--configfile", str(write_config(tmp_path / "c.yaml", config)))
    truth = pd.read_csv(tmp_path / "resources/simulated/GDSSIM3_truth.tsv", sep="\t")
    assert set(truth.kind) == {"xor", "variance"} and len(truth) == 4
    genes = pd.read_csv(tmp_path / "results/GDSSIM3/genes/spred.csv")
    ranks = truth.probe_id.map(genes.set_index("probe_id")["rank"])
    assert sorted(ranks) == [1, 2, 3, 4], dict(zip(truth.probe_id, ranks))
    recovery = pd.read_csv(tmp_path / "results/GDSSIM3/planted_recovery.csv").set_index(["method", "kind"])
    assert recovery.loc[("spred", "all"), "recovered_in_top_k"] == 4
