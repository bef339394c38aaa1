import json
import os
import re
import shlex

from snakemake.utils import validate

from genesel import registry
from genesel.sources.sniff import accession_kind

validate(config, schema="../schemas/config.schema.yaml")

DATASETS = list(config["datasets"])
METHODS = [
    m for m, settings in config["methods"].items() if settings.get("enabled", True)
]
GPU_METHODS = registry.GPU_METHODS


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
    ]
    for dataset in DATASETS:
        settings = dataset_settings(dataset)
        if not settings.get("table") and not settings.get("path", "").endswith(".h5ad"):
            outputs.append(f"results/{dataset}/inspect.txt")
        outputs.append(f"results/{dataset}/metrics.tsv")
        outputs += [f"results/{dataset}/genes/{method}.csv" for method in METHODS]
        outputs.append(f"results/{dataset}/topk.tsv")
        outputs.append(f"results/{dataset}/report/candidates.html")
        outputs.append(f"results/{dataset}/figures/accuracy.svg")
        outputs.append(f"results/{dataset}/{dataset}.h5ad")
        outputs += [
            f"results/{dataset}/figures/frequency_{method}.svg" for method in METHODS
        ]
        if dataset_settings(dataset).get("simulate") is not None:
            outputs.append(f"results/{dataset}/planted_recovery.csv")
    return outputs
