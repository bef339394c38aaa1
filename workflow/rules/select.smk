rule select:
    input:
        dataset=rules.prepare.output.dataset,
        splits=rules.prepare.output.splits,
    output:
        fit="results/{dataset}/fits/{method}.npz",
        metrics="results/{dataset}/fits/{method}.metrics.tsv",
        predictions="results/{dataset}/fits/{method}.predictions.tsv",
        history="results/{dataset}/fits/{method}.history.tsv",
    log:
        "logs/select/{dataset}/{method}.log",
    benchmark:
        "results/{dataset}/benchmark/{method}.tsv"
    conda:
        "../envs/genesel.yaml"
    resources:
        gpu=lambda wc: (
            1 if wc.method in GPU_METHODS and config["device"] != "cpu" else 0
        ),
        mem_mb=lookup(dpath="methods/{method}/mem_mb", within=config, default=4000),
    params:
        settings=method_params,
        device=config["device"],
        seed=config["splits"]["seed"],
    shell:
        "genesel select --method {wildcards.method} --dataset {input.dataset:q} --splits {input.splits:q}"
        " --params {params.settings:q} --device {params.device} --seed {params.seed}"
        " --threads {threads} --out {output.fit:q} > {log:q} 2>&1"


rule rank_genes:
    input:
        dataset=rules.prepare.output.dataset,
        fit=rules.select.output.fit,
    output:
        report(
            "results/{dataset}/genes/{method}.csv",
            category="{dataset}",
            subcategory="Genes",
            labels={
                "dataset": "{dataset}",
                "method": "{method}",
                "table": "ranked genes",
            },
            caption="../report/genes.rst",
        ),
    log:
        "logs/rank/{dataset}/{method}.log",
    conda:
        "../envs/genesel.yaml"
    shell:
        "genesel rank --dataset {input.dataset:q} --fit {input.fit:q} --out {output:q} > {log:q} 2>&1"
