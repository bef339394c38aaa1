"""The cost plan (genesel.plan): its rows, what it counts, bad input named by key, and the budget stop before
any work. Its accuracy is measured in benchmarks/plan_accuracy.py, never here."""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from genesel.costs import PlanError
from genesel.plan import COLUMNS, by_method, format_plan, over_budget, plan_config, timing_table
from genesel.registry import REGISTRY
from genesel.throughput import DEVICE_KINDS, Throughput
from tests.test_pipeline import SMALL, snakemake, write_config

REPO = Path(__file__).resolve().parents[1]
DEMO = yaml.safe_load((REPO / "config" / "demo.yaml").read_text())

#: fixed rates: the plan's arithmetic without measuring this machine
RATES = Throughput("cpu", "cpu", 1, {kind: [0.001, 1e9] for kind in ("signal", "l1path", "limma", "limma_blocks", "preprocess") + DEVICE_KINDS},
                   job_seconds=2.0, measured="test")


def plan(config: dict) -> pd.DataFrame:
    return plan_config(config, RATES, root=REPO)


def test_one_row_per_dataset_method_and_job_with_what_it_counts():
    table = plan(DEMO)
    assert list(table.columns) == COLUMNS
    assert len(table) == 3 * 7 * 2
    row = table.set_index(["dataset", "method", "job"]).sort_index()
    # spred on the demo's kappa path up: 5 splits x (10 kappas + half of the 4 allowed above kappa_max);
    # stability: 2 x 10 pairs of halves
    spred = DEMO["methods"]["spred"]
    assert row.loc[("GDSSIM1", "spred", "select"), "fits"] == 5 * (spred["n_kappas"] + spred["max_above"] // 2)
    from genesel.kappa_path import CLIMB_STEPS  # a half of the MLP head climbs to its fixed kappa

    assert row.loc[("GDSSIM1", "spred", "stability"), "fits"] == 2 * 10 * (CLIMB_STEPS + 1)
    assert row.loc[("GDSSIM1", "spred_linear", "stability"), "fits"] == 2 * 10
    assert row.loc[("GDSSIM1", "spred_linear", "select"), "fits"] == 5 * 20  # the 20-kappa path
    assert row.loc[("GDSSIM1", "limma", "select"), "fits"] == 5 * 5 * 3  # ks x Cs
    assert (row.loc["GDSSIM3", "arrays"] == 1200).all() and (row.loc["GDSSIM3", "probes"] == 100).all()
    starts = table.method.map(lambda m: RATES.job_seconds if REGISTRY[m].on_device else RATES.light_job_seconds)
    assert (table.seconds > starts).all() and (table.peak_gb > 0).all()
    # more arrays cost more: the same method on GDSSIM3 (1200 arrays) outweighs GDSSIM2 (60)
    assert row.loc[("GDSSIM3", "mlp_wd", "select"), "flop"] > row.loc[("GDSSIM2", "mlp_wd", "select"), "flop"]
    summary = by_method(table)
    assert len(summary) == 21 and summary.seconds.sum() == pytest.approx(table.seconds.sum())
    assert "total:" in format_plan(table, RATES)


def test_sizes_from_headers_and_flagged_estimates():
    shared = plan(yaml.safe_load((REPO / "config" / "shared_benchmarks.yaml").read_text()))
    colon = shared[shared.dataset == "GDS_COLON"].iloc[0]
    assert (colon.arrays, colon.probes, colon.classes) == (62, 2000, 2) and not colon.estimated
    assert "header" in colon.size_from
    default = plan(yaml.safe_load((REPO / "config" / "config.yaml").read_text()))  # nothing downloaded here
    assert default.estimated.all() and default.size_from.str.startswith("estimate").all()


def test_limma_is_costed_with_the_patients_as_blocks_where_the_arrays_will_be_grouped():
    """The plan's ``grouped``: a configured group key (``none``: never); else a simulated GDS (its ``individual``
    type), or a header whose patient-like subset or characteristic repeats; limma's blocked fit is then costed."""
    demo = plan(DEMO)  # group: individual
    assert demo.grouped.all()
    limma = demo[(demo.method == "limma") & (demo.job == "select")].iloc[0]
    assert limma.detail.endswith("patients as blocks")
    alone = {name: {**settings, "group": "none"} for name, settings in DEMO["datasets"].items()}
    plain = plan({**DEMO, "datasets": alone})
    assert not plain.grouped.any()
    assert limma.seconds > plain[(plain.method == "limma") & (plain.job == "select")].iloc[0].seconds
    simulated = {"GDSX": {"simulate": {"samples": 60, "probes": 100, "classes": 2}}}
    assert plan({**DEMO, "datasets": simulated}).grouped.all()
    shared = plan(yaml.safe_load((REPO / "config" / "shared_benchmarks.yaml").read_text()))
    assert not shared.grouped.any()  # the benchmarks' GDS layout has no patient-like subset
    series = yaml.safe_load((REPO / "config" / "geo_series.yaml").read_text())
    series["datasets"]["GSE14520"].pop("group")  # its Individual values differ (03-212A / 03-212B): no repeat
    assert not plan(series).grouped.any()


def test_a_patient_like_subset_or_characteristic_that_repeats_groups_the_arrays(tmp_path):
    from genesel.plansize import grouped

    gds = tmp_path / "GDSP_full.soft"
    gds.write_text("^DATASET = GDSP\n^SUBSET = S1\n!subset_type = individual\n!subset_sample_id = GSM1,GSM2\n"
                   "!dataset_table_begin\n")
    single = tmp_path / "GDSQ_full.soft"
    single.write_text("^DATASET = GDSQ\n^SUBSET = S1\n!subset_type = individual\n!subset_sample_id = GSM1\n"
                      "^SUBSET = S2\n!subset_type = disease state\n!subset_sample_id = GSM2,GSM3\n")
    series = tmp_path / "GSEP_series_matrix.txt"
    series.write_text('!Series_title\t"x"\n!Sample_characteristics_ch1\t"patient: 7"\t"patient: 8"\t"patient: 7"\n'
                      '!series_matrix_table_begin\n')
    assert grouped({}, gds) and not grouped({}, single) and grouped({}, series)
    assert not grouped({"group": "none"}, gds) and grouped({"group": "donor"}, single)
    assert not grouped({}, tmp_path / "absent.soft.gz") and grouped({}, None)


def test_a_file_whose_header_cannot_be_read_gets_a_flagged_estimate(tmp_path):
    """The reader names what is wrong with a damaged file, in its job; the plan does not stop the run for it."""
    import gzip

    damaged = tmp_path / "GDSBAD_full.soft.gz"
    damaged.write_bytes(gzip.compress(b"^DATASET = GDSBAD\n!dataset_sample_count = x\n")[:-8])
    config = {**DEMO, "datasets": {"GDSBAD": {"path": str(damaged)}}}
    row = plan(config).iloc[0]
    assert row.estimated and "could not be read" in row.size_from


def test_the_paper_grid_costs_more_than_the_demo_grid():
    paper = copy.deepcopy(DEMO)
    paper["methods"]["mlp_wd"] = {"hidden": 4096, "max_epochs": 3000}  # the paper's 7 x 7 grid
    small, big = plan(DEMO), plan(paper)
    pick = lambda t: t[(t.method == "mlp_wd") & (t.job == "select")].seconds.sum()  # noqa: E731
    assert pick(big) > 100 * pick(small)


def test_on_a_gpu_the_torch_methods_use_its_rates_and_the_estimators_stay_on_the_cpu():
    fast = {kind: [1e-4, 1e13] for kind in DEVICE_KINDS}
    gpu = Throughput("cuda", "NVIDIA H200", 1, RATES.cpu, fast, job_seconds=2.0, gpu_memory_bytes=80 * 2**30)
    on_gpu, on_cpu = plan_config(DEMO, gpu, root=REPO), plan(DEMO)
    devices = dict(zip(on_gpu.method, on_gpu.device))
    assert devices["spred"] == devices["mlp_wd"] == devices["hsic_lasso"] == "NVIDIA H200"
    assert devices["limma"] == devices["l1_logistic"] == "cpu"
    spred = lambda t: t[t.method == "mlp_wd"].seconds.sum()  # noqa: E731
    assert spred(on_gpu) < spred(on_cpu)


def test_a_screened_dense_start_lowers_the_cost_of_spreds_path(monkeypatch):
    import genesel.pathcosts

    config = copy.deepcopy(DEMO)
    config["methods"]["spred"] = {"solver": "path", "hidden": 64}
    full = plan(config)
    monkeypatch.setattr(genesel.pathcosts, "dense_start_genes", lambda cfg, p: min(p, 20))
    screened = plan(config)
    pick = lambda t: t[(t.method == "spred") & (t.job == "select")].flop.sum()  # noqa: E731
    assert pick(screened) < pick(full)


@pytest.mark.parametrize("edit, key", [
    (lambda c: c["methods"]["spred"].update(hiden=64), "methods.spred.hiden"),
    (lambda c: c["methods"]["spred"].update(hidden=-3), "methods.spred.hidden"),
    (lambda c: c["methods"]["mlp_wd"].update(lrs=[]), "methods.mlp_wd.lrs"),
    (lambda c: c["methods"]["limma"].update(ks="10"), "methods.limma.ks"),
    (lambda c: c["methods"].update(svm={}), "methods.svm"),
    (lambda c: c["splits"].update(n=0), "splits.n"),
    (lambda c: c["datasets"]["GDSSIM1"]["simulate"].update(probes="many"), "datasets.GDSSIM1.simulate.probes"),
    (lambda c: c["datasets"].update(MINE={"path": "no/such/file.soft.gz"}), "datasets.MINE.path"),
    (lambda c: c.update(budget_hours=-1), "budget_hours"),
])
def test_settings_it_cannot_cost_are_named_in_one_line(edit, key):
    config = copy.deepcopy(DEMO)
    edit(config)
    with pytest.raises(PlanError) as caught:
        over_budget(plan(config), config)
    message = str(caught.value)
    assert message.startswith(key) and "\n" not in message


def test_budget_names_the_setting_and_the_cpu_config_and_skips_finished_jobs():
    table = plan(DEMO)
    assert over_budget(table, {**DEMO, "budget_hours": 1000}) is None
    message = over_budget(table, {**DEMO, "budget_hours": 1e-4}, "config/demo.yaml")
    assert "budget_hours: 0.0001 in config/demo.yaml" in message and "config/cpu.yaml" in message
    assert "\n" not in message
    finished = table.assign(done=True)
    assert over_budget(finished, {**DEMO, "budget_hours": 1e-4}) is None


def test_timing_table_compares_prediction_with_benchmark_files(tmp_path):
    table = plan(DEMO)
    bench = tmp_path / "spred.tsv"
    bench.write_text("s\th:m:s\tmax_rss\n12.5\t0:00:12\t100\n")
    timing = timing_table(table, {("GDSSIM1", "spred", "select"): bench, ("GDSSIM1", "limma", "select"): tmp_path / "x"})
    assert len(timing) == 1 and timing.measured_s.iloc[0] == 12.5
    predicted = table[(table.dataset == "GDSSIM1") & (table.method == "spred") & (table.job == "select")].seconds.iloc[0]
    assert timing.measured_over_predicted.iloc[0] == pytest.approx(12.5 / predicted, abs=0.006)


def test_a_stability_job_is_costed_again_with_the_settings_its_select_job_fixed(tmp_path):
    """The MLPs' halves train for the select job's median best epoch, which no plan knows before that job:
    the timing table's ``at_start_s`` costs the job with the settings it ran with, and leaves select jobs alone."""
    import json

    from genesel.stability import fixed_settings

    table = plan(DEMO)
    files = {}
    for job, name in (("select", "mlp_wd"), ("stability", "stability_mlp_wd"), ("stability", "stability_spred")):
        files[("GDSSIM1", name.replace("stability_", ""), job)] = tmp_path / f"{name}.tsv"
        files[("GDSSIM1", name.replace("stability_", ""), job)].write_text("s\n10.0\n")
    predicted = {job: table.set_index(["dataset", "method", "job"]).seconds[("GDSSIM1", "mlp_wd", job)]
                 for job in ("select", "stability")}

    def at_start(epochs: int | None) -> pd.DataFrame:
        chosen = {"lr": 0.1, "kappa": 0.01, **({"epochs": epochs} if epochs else {})}
        metrics = pd.DataFrame({"hyperparameters": [json.dumps(chosen)] * 5, "failed": False})
        settings = fixed_settings("mlp_wd", DEMO["methods"]["mlp_wd"], metrics, q=5)
        prior = ({"model": "class prior"}, 10)
        timing = timing_table(table, files, {("GDSSIM1", "mlp_wd"): (settings, 10), ("GDSSIM1", "spred"): prior},
                              RATES)
        return timing.set_index(["method", "job"])

    short, long = at_start(10), at_start(800)
    assert short.at_start_s[("mlp_wd", "select")] == long.at_start_s[("mlp_wd", "select")] == \
        pytest.approx(predicted["select"], abs=0.06)
    assert short.at_start_s[("mlp_wd", "stability")] < predicted["stability"] < long.at_start_s[("mlp_wd", "stability")]
    assert short.measured_over_at_start[("mlp_wd", "stability")] > short.measured_over_predicted[("mlp_wd", "stability")]
    # every split of spred chose the class prior: the job fits nothing and costs its start
    assert short.at_start_s[("spred", "stability")] == RATES.job_seconds
    # settings the cost model cannot read (a result written by another version): the plan's figure, no crash
    odd = timing_table(table, files, {("GDSSIM1", "mlp_wd"): ({"no_such_setting": 1}, 10)}, RATES)
    assert odd.set_index(["method", "job"]).at_start_s[("mlp_wd", "stability")] == \
        pytest.approx(predicted["stability"], abs=0.06)


def test_cli_prints_the_plan(monkeypatch, capsys, tmp_path):
    import genesel.throughput
    from genesel.cli import main

    monkeypatch.setattr(genesel.throughput, "measure", lambda *a, **k: RATES)
    out = tmp_path / "plan.tsv"
    assert main(["plan", "--configfile", str(REPO / "config" / "demo.yaml"), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "GDSSIM3" in printed and "total:" in printed and "within budget_hours" in printed
    assert len(pd.read_csv(out, sep="\t")) == 42


def test_cli_names_the_key_of_a_bad_config(monkeypatch, capsys, tmp_path):
    import genesel.throughput
    from genesel.cli import main

    monkeypatch.setattr(genesel.throughput, "measure", lambda *a, **k: RATES)
    config = copy.deepcopy(DEMO)
    config["methods"]["mlp_wd"]["max_epochs"] = 0
    path = write_config(tmp_path / "bad.yaml", config)
    assert main(["plan", "--configfile", str(path)]) == 1
    assert capsys.readouterr().err.strip() == (
        "genesel: error: methods.mlp_wd.max_epochs: 0 is not an integer >= 1")


def test_snakemake_stops_before_any_work_over_budget(tmp_path):
    """A dry run and a real run with a tiny budget stop at the plan: one message, no job run, the plan written."""
    config = write_config(tmp_path / "c.yaml", {**SMALL, "budget_hours": 1e-6})
    for args in (["-n"], ["--cores", "2"]):
        result = snakemake(tmp_path, *args, "--configfile", str(config), check=False)
        assert result.returncode != 0
        lines = [line for line in (result.stdout + result.stderr).splitlines() if "budget_hours: 1e-06" in line]
        assert len(lines) == 1 and "config/cpu.yaml" in lines[0]
    assert (tmp_path / "results" / "summary" / "plan.tsv").exists()
    assert not list((tmp_path / "results").glob("*/dataset.npz")) and not (tmp_path / "resources").exists()


def test_rates_are_measured_on_a_machine_with_an_empty_cache(monkeypatch, tmp_path):
    """A fresh machine has no cached rates: every kind is measured for real (the plan runs before any job, so
    a measurement that breaks stops every run; it did once, when signal_pvalue's arguments changed)."""
    from genesel.throughput import measure

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    rates = measure(device="cpu", threads=1)
    assert set(rates.cpu) >= {"signal", "l1path", "limma", "preprocess", *DEVICE_KINDS}
    assert all(step >= 0 and rate > 0 for step, rate in rates.cpu.values())
    assert rates.job_seconds > 0 and rates.light_job_seconds > 0 and list((tmp_path / "genesel").glob("throughput-*.json"))


def test_the_preprocessing_rate_is_timed_on_the_real_code_with_missing_values(monkeypatch):
    """Every job is charged its per-split preprocessing at a rate measured on ``preprocess_split`` itself: a
    nanmedian stand-in had predicted 87 s where 20 splits at GDS scale take 35 s, and varied 7x between timings."""
    import genesel.preprocess
    from genesel.throughput import _measure_preprocessing

    real, seen = genesel.preprocess.preprocess_split, []

    def spy(X, parts, **kwargs):
        seen.append((X.shape, bool(np.isnan(X).any()), len(parts["train"])))
        return real(X, parts, **kwargs)

    monkeypatch.setattr(genesel.preprocess, "preprocess_split", spy)
    per_split, rate = _measure_preprocessing()
    assert {shape for shape, _, _ in seen} == {(30, 2000), (200, 20000)}
    assert all(missing for _, missing, _ in seen) and all(n_tr < shape[0] for shape, _, n_tr in seen)
    assert per_split >= 0 and rate > 0


def test_the_timing_page_says_how_many_jobs_the_plan_predicted_within_a_factor_of_two(tmp_path):
    from genesel.plan import TIMING_COLUMNS, timing_summary, write_timing_page

    table = pd.DataFrame([["D", "spred", "select", "cpu", 58.9, 58.9, 27.8, 0.47, 0.47],
                          ["D", "mlp_wd", "stability", "cpu", 6.7, 12.0, 13.6, 2.03, 1.13]], columns=TIMING_COLUMNS)
    lines = timing_summary(table)
    assert lines[0].startswith("predicted before any work: 0 of 2 jobs within a factor of 2; measured / predicted "
                               "from 0.47 to 2.03")
    assert lines[1].startswith("predicted at each job's start (stability: the settings select fixed): 1 of 2 jobs")
    page = write_timing_page(table, tmp_path / "timing.html").read_text()
    assert "Predicted at each job&#x27;s start (stability: the settings select fixed): 1 of 2 jobs" in page
    assert "mlp_wd" in page and page.count("<tr") >= 3
