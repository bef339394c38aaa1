"""The cost plan of a run, before any work: one row per dataset x method x job with its fits, FLOP, peak
memory and predicted wall time on the device found, and the total against ``budget_hours``.

Times come from the cost models of the table of methods (:mod:`genesel.registry`, :mod:`genesel.costs`) and
rates measured here in a few seconds (:mod:`genesel.throughput`): small real fits of each method family on the
device the methods would use. Dataset sizes come from the config (simulated data), a file's header (a cached
GDS, series matrix, table or ``.h5ad``), or, for a dataset not downloaded yet, a stated estimate flagged as such
(:mod:`genesel.plansize`). The plan never fits, downloads or writes results.
"""

from __future__ import annotations

import html
from pathlib import Path

import pandas as pd

from genesel.costs import Job, PlanError, Shape, preprocessing
from genesel.plansize import dataset_shape
from genesel.throughput import Throughput, measure

#: the config key of the budget and its default (hours of predicted job time)
BUDGET_KEY = "budget_hours"
DEFAULT_BUDGET_HOURS = 12.0
#: the config that fits a CPU (issue 28); the budget message names it
CPU_CONFIG = "config/cpu.yaml"
#: a job's share of the arrays in training and validation: the main splits and the stability halves
FRACTIONS = {"select": (0.6, 0.2), "stability": (0.5, 0.25)}
COLUMNS = ["dataset", "method", "job", "arrays", "probes", "classes", "grouped", "size_from", "estimated", "fits",
           "detail", "flop", "peak_gb", "device", "seconds"]


def _section(config: dict, key: str) -> dict:
    value = config.get(key) or {}
    if not isinstance(value, dict):
        raise PlanError(f"{key}: {value!r} is not a mapping")
    return value


def _count(config: dict, section: str, key: str, default: int) -> int:
    value = _section(config, section).get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise PlanError(f"{section}.{key}: {value!r} is not a whole number >= 1")
    return value


def enabled_methods(config: dict) -> dict[str, dict]:
    """The config's methods that run, with their settings; a method genesel does not know is named."""
    from genesel.registry import REGISTRY

    methods = {}
    for name, settings in _section(config, "methods").items():
        if name not in REGISTRY:
            raise PlanError(f"methods.{name}: not a method genesel knows ({', '.join(REGISTRY)})")
        settings = settings or {}
        if not isinstance(settings, dict):
            raise PlanError(f"methods.{name}: {settings!r} is not a mapping of settings")
        if settings.get("enabled", True):
            methods[name] = settings
    return methods


def device_of(method: str, throughput: Throughput) -> str:
    """Where a method's work runs: the GPU methods and HSIC-Lasso on CUDA when the plan found one."""
    from genesel.registry import REGISTRY

    gpu = REGISTRY[method].on_device
    return throughput.device if gpu else "cpu"


def job_rows(name: str, shape: Shape, method: str, settings: dict, config: dict, throughput: Throughput) -> list[dict]:
    """The select and stability rows of one dataset x method."""
    splits = _count(config, "splits", "n", 20)
    pairs = _count(config, "stability", "pairs", 25)
    return [job_row(name, shape, method, settings, job, S, throughput)
            for job, S in (("select", splits), ("stability", 2 * pairs))]


def job_row(name: str, shape: Shape, method: str, settings: dict, job: str, S: int, throughput: Throughput) -> dict:
    """One job's row: ``S`` fits of ``method`` with ``settings`` (the stability job: regularisation fixed)."""
    from genesel.registry import REGISTRY

    device = device_of(method, throughput)
    memory = throughput.gpu_memory_bytes if device == "cuda" else throughput.memory_bytes
    spec = Job(method, settings, shape, S, FRACTIONS[job], job == "stability", device, memory)
    cost = REGISTRY[method].cost(spec)
    phases = cost.phases + (preprocessing(spec),)
    return {
        "dataset": name, "method": method, "job": job, "arrays": shape.n, "probes": shape.p,
        "classes": shape.classes, "grouped": shape.grouped, "size_from": shape.source, "estimated": shape.estimated, "fits": cost.fits,
        "detail": cost.detail, "flop": cost.flop, "peak_gb": (cost.peak_bytes + throughput.base_bytes) / 2**30,
        "device": throughput.device_name if device != "cpu" else "cpu",
        "seconds": (throughput.job_seconds if REGISTRY[method].on_device else throughput.light_job_seconds)
        + sum(throughput.seconds(ph, device) for ph in phases),
    }


def plan_config(config: dict, throughput: Throughput | None = None, root: str | Path = ".") -> pd.DataFrame:
    """The plan of ``config`` (the workflow's config as a dict; paths relative to ``root``): one row per
    dataset x method x job (``select``, ``stability``), columns :data:`COLUMNS`."""
    datasets = _section(config, "datasets")
    if not datasets:
        raise PlanError("datasets: the config names no dataset")
    methods = enabled_methods(config)
    throughput = throughput or measure(str(config.get("device", "auto")))
    cache = Path(root) / _section(config, "geo").get("cache", "resources/geo")
    rows = []
    for name, settings in datasets.items():
        shape = dataset_shape(str(name), settings or {}, cache, Path(root))
        for method, method_settings in methods.items():
            rows += job_rows(str(name), shape, method, method_settings, config, throughput)
    return pd.DataFrame(rows, columns=COLUMNS)


def budget_hours(config: dict) -> float:
    value = config.get(BUDGET_KEY, DEFAULT_BUDGET_HOURS)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
        raise PlanError(f"{BUDGET_KEY}: {value!r} is not a number of hours > 0")
    return float(value)


def duration(seconds: float) -> str:
    """``42 s``, ``6.5 min``, ``3.2 h``, ``4.1 days``."""
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.1f} min"
    if seconds < 2 * 86400:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} days"


def over_budget(plan: pd.DataFrame, config: dict, config_file: str | None = None,
                cpu_config_seconds: float | None = None, plan_file: str | Path | None = None) -> str | None:
    """None when the plan's jobs still to run (rows without ``done``) fit ``budget_hours``; else the one-line
    message that stops the run: the prediction, the setting, and the config that fits a CPU."""
    budget = budget_hours(config)
    todo = plan[~plan["done"]] if "done" in plan else plan
    total = float(todo["seconds"].sum())
    if total <= budget * 3600:
        return None
    where = f" in {config_file}" if config_file else ""
    estimated = " (sizes of datasets not downloaded yet are estimates)" if todo["estimated"].any() else ""
    cpu = f", predicted at {duration(cpu_config_seconds)} here" if cpu_config_seconds is not None else ""
    per_method = todo.groupby("method")["seconds"].sum().sort_values(ascending=False)
    costliest = f"most of it {per_method.index[0]} ({duration(per_method.iloc[0])}); "
    is_cpu_config = config_file is not None and Path(config_file).resolve() == Path(CPU_CONFIG).resolve()
    advice = ("" if is_cpu_config else
              f"{CPU_CONFIG} holds settings that fit a CPU{cpu} (snakemake --cores 8 --configfile {CPU_CONFIG}), ")
    return (f"the plan predicts {duration(total)} of work for {len(todo)} jobs on {', '.join(sorted(set(todo.device)))}"
            f"{estimated}, more than {BUDGET_KEY}: {budget:g}{where}; {costliest}"
            f"{f'{plan_file} lists every job. ' if plan_file else ''}{advice}"
            f"or turn that method off (enabled: false) or raise {BUDGET_KEY}")


def by_method(plan: pd.DataFrame) -> pd.DataFrame:
    """One row per dataset x method: the select and stability jobs together."""
    rows = []
    for (dataset, method), jobs in plan.groupby(["dataset", "method"], sort=False):
        sel, stab = jobs[jobs.job == "select"].iloc[0], jobs[jobs.job == "stability"].iloc[0]
        size = f"{sel.arrays} x {sel.probes}" + (" (estimate)" if sel.estimated else "")
        rows.append({"dataset": dataset, "method": method, "arrays x probes": size, "fits": int(sel.fits),
                     "what": sel.detail, "stability fits": int(stab.fits), "TFLOP": jobs.flop.sum() / 1e12,
                     "peak GB": jobs.peak_gb.max(), "device": sel.device, "predicted": duration(jobs.seconds.sum()),
                     "seconds": jobs.seconds.sum()})
    return pd.DataFrame(rows)


def format_plan(plan: pd.DataFrame, throughput: Throughput) -> str:
    """The plan as a printed table with its total and where the rates come from."""
    table = by_method(plan)
    shown = table.drop(columns="seconds").to_string(index=False, float_format=lambda v: f"{v:.3g}")
    lines = [shown, "", f"total: {duration(plan.seconds.sum())} of job time ({len(plan)} jobs), "
             f"peak {plan.peak_gb.max():.2g} GB in one job"]
    estimated = plan[plan.estimated].drop_duplicates("dataset")
    for source, rows in estimated.groupby("size_from", sort=False):
        lines.append(f"{', '.join(rows.dataset)}: {source}")
    lines.append(throughput.describe())
    return "\n".join(lines)


def timing_table(plan: pd.DataFrame, benchmarks: dict[tuple[str, str, str], str | Path],
                 fixed: dict[tuple[str, str], tuple[dict, int]] | None = None,
                 throughput: Throughput | None = None) -> pd.DataFrame:
    """Predicted against measured wall time of every job that has a Snakemake ``benchmark:`` file
    (``(dataset, method, job) -> path``): the ratio measured / predicted per job.

    ``predicted_s`` is the plan's, made before any work. A stability job's cost depends on what its select job
    chose (the κ, the C, the MLPs' median best epoch: 10 at GDS scale, over 200 on the demo), which no plan can
    know before that job has run. ``at_start_s`` costs it again, at ``throughput``'s rates, with the settings it
    ran with (``fixed``: ``(dataset, method) -> (settings, pairs)``, from its stability result); a select job's
    is the plan's."""
    rows = []
    for row in plan.itertuples():
        path = benchmarks.get((row.dataset, row.method, row.job))
        if path is None or not Path(path).exists():
            continue
        measured = float(pd.read_csv(path, sep="\t")["s"].iloc[-1])
        at_start = row.seconds
        if row.job == "stability" and fixed and (row.dataset, row.method) in fixed:
            at_start = _at_start(row, *fixed[(row.dataset, row.method)], throughput or measure())
        rows.append({"dataset": row.dataset, "method": row.method, "job": row.job, "device": row.device,
                     "predicted_s": round(row.seconds, 1), "at_start_s": round(at_start, 1),
                     "measured_s": round(measured, 1),
                     "measured_over_predicted": round(measured / max(row.seconds, 1e-9), 2),
                     "measured_over_at_start": round(measured / max(at_start, 1e-9), 2)})
    return pd.DataFrame(rows, columns=TIMING_COLUMNS)


#: the timing table's columns
TIMING_COLUMNS = ["dataset", "method", "job", "device", "predicted_s", "at_start_s", "measured_s",
                  "measured_over_predicted", "measured_over_at_start"]


def timing_summary(table: pd.DataFrame) -> list[str]:
    """The timing table in words: the jobs predicted within a factor of 2, before any work and at each job's
    start, the range of measured / predicted, and the totals."""
    lines = []
    for column, when in (("measured_over_predicted", "before any work"),
                         ("measured_over_at_start", "at each job's start (stability: the settings select fixed)")):
        ratio = table[column]
        within = int(((ratio >= 0.5) & (ratio <= 2)).sum())
        lines.append(f"predicted {when}: {within} of {len(table)} jobs within a factor of 2; measured / predicted "
                     f"from {ratio.min():.2f} to {ratio.max():.2f} (median {ratio.median():.2f})")
    lines.append(f"total measured {table.measured_s.sum():.0f} s, predicted {table.predicted_s.sum():.0f} s before "
                 f"any work, {table.at_start_s.sum():.0f} s at the jobs' start")
    return lines


def write_timing_page(table: pd.DataFrame, path) -> Path:
    """The timing table as a report page: its summary in words above the sortable table."""
    from genesel.pages import write_table_page

    intro = ("How long each fitting job took (Snakemake's benchmark files) against the cost plan made before the "
             "run (<code>genesel plan</code>, rates measured on this machine), and, for a stability job, against "
             "its cost again with the settings its select job fixed. Above 1: longer than planned.<br>"
             + "<br>".join(html.escape(line[0].upper() + line[1:]) + "." for line in timing_summary(table)))
    readable = table.rename(columns={
        "predicted_s": "predicted before any work (s)", "at_start_s": "predicted at the job's start (s)",
        "measured_s": "measured (s)", "measured_over_predicted": "measured / before any work",
        "measured_over_at_start": "measured / at the job's start"})
    return write_table_page(readable, "Predicted and measured time of every job", intro, path, "timing")


def _at_start(row, settings: dict, pairs: int, throughput: Throughput) -> float:
    """A stability job's predicted seconds with the settings it ran with; no fit where every main split chose
    the class prior (the job only writes zeros)."""
    from genesel.registry import REGISTRY

    if settings.get("model") == "class prior":
        return throughput.job_seconds if REGISTRY[row.method].on_device else throughput.light_job_seconds
    shape = Shape(int(row.arrays), int(row.probes), int(row.classes), grouped=bool(getattr(row, "grouped", False)))
    try:
        return job_row(row.dataset, shape, row.method, settings, "stability", 2 * pairs, throughput)["seconds"]
    except PlanError:  # settings the cost model cannot read (a result of another version): the plan's figure
        return float(row.seconds)


def plan_run(config: dict, config_file: str | None, out: str | Path, threads: int | None = None,
             done=None, root: str | Path = ".", cpu_config: str | Path | None = None,
             write: bool = True) -> tuple[str, str | None]:
    """What the workflow does before its first job: plan ``config``, mark the jobs ``done(dataset, method, job)``
    says are finished, write the plan to ``out`` (only when it changed, so a rerun finds nothing new; not at all
    unless ``write``: a dry run keeps the plan made before the real run), and return a one-line summary and the
    budget message (None within budget)."""
    from genesel.io import write_table

    throughput = measure(str(config.get("device", "auto")), threads)
    plan = plan_config(config, throughput, root)
    plan["done"] = [bool(done and done(r.dataset, r.method, r.job)) for r in plan.itertuples()]
    out = Path(out)
    text = plan.to_csv(sep="\t", index=False)
    if write and (not out.exists() or out.read_text() != text):
        write_table(plan, out)
    todo = plan[~plan.done]
    summary = (f"genesel plan: {len(todo)} of {len(plan)} fitting jobs to run, predicted {duration(todo.seconds.sum())} "
               f"on {throughput.device_name} (budget_hours {budget_hours(config):g}; {out} lists every job)")
    cpu_seconds = _cpu_config_seconds(config_file, throughput, root, cpu_config)
    return summary, over_budget(plan, config, config_file, cpu_seconds, out)


def _cpu_config_seconds(config_file: str | None, throughput: Throughput, root: str | Path,
                        cpu_config: str | Path | None) -> float | None:
    """The predicted total of the CPU config (:data:`CPU_CONFIG` in the repository) on this machine, when it
    exists and is not the config planned."""
    import yaml

    path = Path(cpu_config or Path(__file__).resolve().parents[1] / CPU_CONFIG)
    if not path.exists() or (config_file and Path(config_file).resolve() == path.resolve()):
        return None
    try:
        return float(plan_config(yaml.safe_load(path.read_text()), throughput, root).seconds.sum())
    except PlanError:
        return None
