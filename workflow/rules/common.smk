import json
import os
import re
import shlex
import sys
from pathlib import Path

from snakemake.exceptions import WorkflowError
from snakemake.utils import validate

from genesel import registry
from genesel.sources.sniff import accession_kind

validate(config, schema="../schemas/config.schema.yaml")

DATASETS = list(config["datasets"])
METHODS = [
    m for m, settings in config["methods"].items() if settings.get("enabled", True)
]
GPU_METHODS = registry.GPU_METHODS
# a GPU method claims the profile's gpu only where it will run on one (see gpu_claim)
CUDA_PRESENT = config["device"] == "cuda" or (
    config["device"] == "auto" and __import__("torch").cuda.is_available()
)


wildcard_constraints:
    dataset="|".join(DATASETS) or "NONE",
    method="|".join(METHODS) or "NONE",


def dataset_settings(dataset):
    return config["datasets"][dataset]


def is_series(dataset):
    return accession_kind(dataset) == "series"


def soft_file(wildcards):
    """Where a dataset's file comes from: a local path, the simulator, or GEO (GDS or series matrix)."""
    settings = dataset_settings(wildcards.dataset)
    if settings.get("table"):
        return settings["table"]
    if settings.get("path"):
        return settings["path"]
    if settings.get("simulate") is not None:
        return f"resources/simulated/{wildcards.dataset}_full.soft.gz"
    if is_series(wildcards.dataset):
        platform = settings.get("platform")
        stem = f"{wildcards.dataset}-{platform}" if platform else wildcards.dataset
        return f"{config['geo']['cache']}/{stem}_series_matrix.txt.gz"
    return f"{config['geo']['cache']}/{wildcards.dataset}_full.soft.gz"


def annotation_file(wildcards):
    """The platform annotation of a dataset: a GPL accession (downloaded), a local file, or nothing."""
    annotation = dataset_settings(wildcards.dataset).get("annotation")
    if not annotation:
        return []
    if re.fullmatch(r"GPL[0-9]+", annotation):
        return f"{config['geo']['cache']}/{annotation}_annotation.soft.gz"
    return annotation


def design_options(wildcards, input):
    """prepare's options for the label, kept arrays, class names, groups, platform and annotation."""
    settings = dataset_settings(wildcards.dataset)
    label = settings.get("label") or {"type": settings.get("label_type")}
    # None: the reader's default label (genesel.sources.design.Design)
    label = next(iter(label.values()))
    args = ["--label", label] if label else []
    for key, values in (settings.get("where") or {}).items():
        for value in [values] if isinstance(values, str) else values:
            args += ["--where", f"{key}={value}"]
    for old, new in (settings.get("classes") or {}).items():
        args += ["--rename", f"{old}={new}"]
    order = [settings.get("reference_class")] + list(
        (settings.get("classes") or {}).values()
    )
    for name in dict.fromkeys(c for c in order if c):
        args += ["--class-order", name]
    group = settings.get("group")
    if group:
        group = {"key": group} if isinstance(group, str) else group
        args += ["--group", group["key"]]
        args += ["--group-pattern", group["pattern"]] if group.get("pattern") else []
    for key in ("platform", "collapse"):
        args += [f"--{key}", settings[key]] if settings.get(key) else []
    args += ["--annotation", input.annotation] if input.annotation else []
    return " ".join(shlex.quote(str(a)) for a in args)


def base_url_option(wildcards):
    base_url = config["geo"].get("base_url")
    return f"--base-url {shlex.quote(base_url)}" if base_url else ""


def sample_sheet_file(wildcards):
    """The sample sheet of a dataset given as an expression table, else nothing."""
    settings = dataset_settings(wildcards.dataset)
    if not settings.get("table"):
        return []
    if not settings.get("sample_sheet"):
        raise ValueError(f"dataset {wildcards.dataset}: 'table' needs a 'sample_sheet'")
    return settings["sample_sheet"]


def table_options(wildcards, input):
    """Extra prepare options for a dataset given as an expression table plus sample sheet."""
    if not input.sheet:
        return ""
    options = f"--sample-sheet '{input.sheet}'"
    symbol = dataset_settings(wildcards.dataset).get("symbol_column")
    return options + (f" --symbol-column '{symbol}'" if symbol else "")


def method_params(wildcards):
    """The method's settings (what a change of which reruns only that method) as JSON."""
    settings = {
        k: v
        for k, v in config["methods"][wildcards.method].items()
        if k not in ("enabled", "mem_mb")
    }
    settings["preprocess"] = json.loads(preprocess_params())
    return json.dumps(settings, sort_keys=True)


def preprocess_params():
    """The per-split preprocessing settings (all but exclude_controls, applied in prepare) as JSON."""
    settings = {
        k: v for k, v in config["preprocess"].items() if k != "exclude_controls"
    }
    return json.dumps(settings, sort_keys=True)


def final_outputs():
    outputs = [
        "results/summary/accuracy.csv",
        "results/summary/accuracy.md",
        "results/summary/paired.csv",
        "results/summary/overview.html",
        "results/summary/timing.html",
    ]
    for dataset in DATASETS:
        settings = dataset_settings(dataset)
        if not settings.get("table") and not settings.get("path", "").endswith(".h5ad"):
            outputs.append(f"results/{dataset}/inspect.txt")
        outputs.append(f"results/{dataset}/metrics.tsv")
        outputs += [f"results/{dataset}/genes/{method}.csv" for method in METHODS]
        outputs.append(f"results/{dataset}/topk.tsv")
        outputs.append(f"results/{dataset}/report/candidates.html")
        outputs += [
            f"results/{dataset}/report/{dataset}_{method}_genes.csv"
            for method in METHODS
        ]
        outputs.append(f"results/{dataset}/figures/accuracy.svg")
        outputs.append(f"results/{dataset}/{dataset}.h5ad")
        outputs += [
            f"results/{dataset}/figures/frequency_{method}.svg" for method in METHODS
        ]
        outputs += [
            f"results/{dataset}/report/{dataset}_{table}.csv"
            for table in dataset_tables(dataset)
        ]
    return outputs


# The per-dataset tables the report offers for download (beside the gene CSVs): name -> the file, its label in the
# report, and whether only simulated datasets have it. The report names a download after its file, so each is
# linked as results/{dataset}/report/{dataset}_{name}.csv (rule table_downloads; caption report/dataset_table.rst).
DATASET_TABLES = {
    "tiers": {
        "path": "results/{dataset}/genes/tiers.csv",
        "label": "evidence tiers (CSV)",
        "simulated_only": False,
    },
    "planted_recovery": {
        "path": "results/{dataset}/planted_recovery.csv",
        "label": "planted genes recovered (CSV, simulated data)",
        "simulated_only": True,
    },
}


def dataset_tables(dataset):
    """The names of DATASET_TABLES that a dataset has."""
    simulated = dataset_settings(dataset).get("simulate") is not None
    return [
        name
        for name, table in DATASET_TABLES.items()
        if simulated or not table["simulated_only"]
    ]


def gpu_claim(wildcards):
    """1 where a GPU method will run on a GPU (device cuda, or auto with CUDA present), else 0: on a machine
    without one, claiming the profile's single gpu ran these jobs one at a time for nothing (most of the
    demo's wall time on 2 cores, benchmarks/RESULTS.md)."""
    return int(wildcards.method in GPU_METHODS and CUDA_PRESENT)


# The cost plan before any work (genesel.plan): every fitting job's fits, FLOP, memory and predicted time on
# the device found, written to results/summary/plan.tsv; a run predicted to take longer than budget_hours
# stops here, before its first job, with one message naming the setting and the config that fits a CPU.
# Jobs whose results exist count as done. Not for --lint (a property of the workflow, not of this machine)
# nor in the processes that run single jobs on a cluster.
PLAN = "results/summary/plan.tsv"


def fitting_threads():
    """CPU threads of a fitting job: the select rule's (--set-threads, the profile), at most the cores."""
    wanted = workflow.resource_settings.overwrite_threads.get("select")
    wanted = int(getattr(wanted, "value", wanted) or 1)
    return max(1, min(wanted, workflow.cores or 1))


def job_done(dataset, method, job):
    folder = "fits" if job == "select" else "stability"
    return os.path.exists(f"results/{dataset}/{folder}/{method}.npz")


# the plan runs before real work: not for --lint or --report (no job runs), and a dry run (-n) prints it without
# replacing an existing plan.tsv, which keeps the prediction made before the run for the report's timing table
NO_PLAN = {"--lint", "--report"}
DRY_RUN = {"-n", "--dry-run", "--dryrun"}


def dry_run():
    """-n, --dry-run, or short flags with n (-np): read from the command line, since workflow.dryrun is still
    False while the Snakefile is parsed (Snakemake 9.27)."""
    return any(
        a in DRY_RUN or re.fullmatch(r"-[a-zA-Z]*n[a-zA-Z]*", a) for a in sys.argv[1:]
    )


if workflow.is_main_process and not NO_PLAN & {a.split("=")[0] for a in sys.argv}:
    from genesel.errors import GeneselError
    from genesel.plan import plan_run

    config_path = str(workflow.configfiles[-1]) if workflow.configfiles else None
    try:
        summary, over = plan_run(
            config,
            config_path,
            PLAN,
            threads=fitting_threads(),
            done=job_done,
            write=not (dry_run() and os.path.exists(PLAN)),
            cpu_config=Path(str(workflow.current_basedir)).parents[1]
            / "config"
            / "cpu.yaml",
        )
    except GeneselError as exc:
        raise WorkflowError(f"genesel plan: {exc}")
    print(summary, file=sys.stderr)
    if over:
        raise WorkflowError(f"genesel plan: {over}")


def report_item(path, caption, category="Summary", subcategory=None, **labels):
    """An output shown in the report: its caption is workflow/report/{caption}.rst."""
    return report(
        path,
        caption=f"../report/{caption}.rst",
        category=category,
        subcategory=subcategory,
        labels=labels,
    )


def figure(name, subcategory, title, caption=None, **labels):
    """A dataset's figure results/{dataset}/figures/{name}.svg in the report (caption fig_{name}.rst)."""
    return report_item(
        f"results/{{dataset}}/figures/{name}.svg",
        f"fig_{caption or name.split('_{')[0]}",
        "{dataset}",
        subcategory,
        figure=title,
        **labels,
    )


def named(paths, datasets, per_dataset):
    """DATASET=PATH items for genesel's options, the paths in expand()'s order (dataset by dataset)."""
    names = [d for d in datasets for _ in range(per_dataset)]
    return " ".join(shlex.quote(f"{d}={p}") for d, p in zip(names, paths))
