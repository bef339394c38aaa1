import json
import os

from snakemake.utils import validate

validate(config, schema="../schemas/config.schema.yaml")

DATASETS = list(config["datasets"])
METHODS = [
    m for m, settings in config["methods"].items() if settings.get("enabled", True)
]
GPU_METHODS = {"spred", "spred_linear", "mlp_wd", "mlp_l1"}


wildcard_constraints:
    dataset="|".join(DATASETS) or "NONE",
    method="|".join(METHODS) or "NONE",


def dataset_settings(dataset):
    return config["datasets"][dataset]


def soft_file(wildcards):
    """Where a dataset's GDS SOFT file comes from: a local path, the simulator, or GEO."""
    settings = dataset_settings(wildcards.dataset)
    if settings.get("table"):
        return settings["table"]
    if settings.get("path"):
        return settings["path"]
    if settings.get("simulate") is not None:
        return f"resources/simulated/{wildcards.dataset}_full.soft.gz"
    return f"{config['geo']['cache']}/{wildcards.dataset}_full.soft.gz"


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
    settings["preprocess"] = {
        k: v for k, v in config["preprocess"].items() if k != "exclude_controls"
    }
    return json.dumps(settings, sort_keys=True)


def final_outputs():
    outputs = ["results/summary/accuracy.csv", "results/summary/accuracy.md"]
    for dataset in DATASETS:
        if not dataset_settings(dataset).get("table"):
            outputs.append(f"results/{dataset}/inspect.txt")
        outputs.append(f"results/{dataset}/metrics.tsv")
        outputs += [f"results/{dataset}/genes/{method}.csv" for method in METHODS]
        outputs.append(f"results/{dataset}/topk.tsv")
        outputs += [
            f"results/{dataset}/figures/frequency_{method}.svg" for method in METHODS
        ]
        if dataset_settings(dataset).get("simulate") is not None:
            outputs.append(f"results/{dataset}/planted_recovery.csv")
    return outputs
