import os


localrules:
    download,
    download_series,
    download_annotation,


rule download:
    output:
        f"{config['geo']['cache']}/{{dataset}}_full.soft.gz",
    log:
        "logs/download/{dataset}.log",
    retries: 0
    conda:
        "../envs/genesel.yaml"
    params:
        cache=lambda wc, output: os.path.dirname(output[0]),
        base_url=base_url_option,
    shell:
        "genesel fetch {wildcards.dataset} --cache {params.cache:q} {params.base_url} > {log:q} 2>&1"


rule download_series:
    output:
        f"{config['geo']['cache']}/{{series}}_series_matrix.txt.gz",
    log:
        "logs/download/{series}.log",
    wildcard_constraints:
        series=r"GSE[0-9]+(-GPL[0-9]+)?",
    retries: 0
    conda:
        "../envs/genesel.yaml"
    params:
        cache=lambda wc, output: os.path.dirname(output[0]),
        base_url=base_url_option,
        accession=lambda wc: wc.series.split("-")[0],
        platform=lambda wc: (
            f"--platform {wc.series.split('-')[1]}" if "-" in wc.series else ""
        ),
    shell:
        "genesel fetch {params.accession} {params.platform} --cache {params.cache:q} {params.base_url}"
        " > {log:q} 2>&1"


rule download_annotation:
    output:
        f"{config['geo']['cache']}/{{platform}}_annotation.soft.gz",
    log:
        "logs/download/{platform}.log",
    wildcard_constraints:
        platform=r"GPL[0-9]+",
    retries: 0
    conda:
        "../envs/genesel.yaml"
    params:
        cache=lambda wc, output: os.path.dirname(output[0]),
        base_url=base_url_option,
    shell:
        "genesel fetch {wildcards.platform} --cache {params.cache:q} {params.base_url} > {log:q} 2>&1"


rule simulate:
    output:
        soft="resources/simulated/{dataset}_full.soft.gz",
        truth="resources/simulated/{dataset}_truth.tsv",
    log:
        "logs/simulate/{dataset}.log",
    conda:
        "../envs/genesel.yaml"
    params:
        args=lambda wc: " ".join(
            f"--{key.replace('_', '-')} {value}"
            for key, value in lookup(
                dpath=f"datasets/{wc.dataset}/simulate", within=config
            ).items()
        ),
    shell:
        "genesel simulate --out resources/simulated --name {wildcards.dataset} {params.args} > {log:q} 2>&1"


rule inspect:
    input:
        soft_file,
    output:
        report(
            "results/{dataset}/inspect.txt",
            category="{dataset}",
            subcategory="Data",
            labels={"table": "what the source file holds"},
            caption="../report/inspect.rst",
        ),
    log:
        "logs/inspect/{dataset}.log",
    conda:
        "../envs/genesel.yaml"
    shell:
        "genesel inspect {input:q} > {output:q} 2> {log:q}"


rule prepare:
    input:
        source=soft_file,
        sheet=sample_sheet_file,
        annotation=annotation_file,
    output:
        dataset="results/{dataset}/dataset.npz",
        splits="results/{dataset}/splits.tsv",
    log:
        "logs/prepare/{dataset}.log",
    conda:
        "../envs/genesel.yaml"
    params:
        design=design_options,
        label_mode=config["label_mode"],
        min_class_size=config["min_class_size"],
        controls="" if config["preprocess"]["exclude_controls"] else "--keep-controls",
        table=table_options,
        n_splits=config["splits"]["n"],
        seed=config["splits"]["seed"],
    shell:
        "genesel prepare {input.source:q} {params.table} --name {wildcards.dataset} {params.design}"
        " --label-mode {params.label_mode} --min-class-size {params.min_class_size} {params.controls}"
        " --splits {params.n_splits} --seed {params.seed}"
        " --dataset-out {output.dataset:q} --splits-out {output.splits:q} > {log:q} 2>&1"
