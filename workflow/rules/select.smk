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
        gpu=gpu_claim,
        mem_mb=lookup(dpath="methods/{method}/mem_mb", within=config, default=4000),
    params:
        settings=method_params,
        device=config["device"],
        seed=config["splits"]["seed"],
    shell:
        "genesel select --method {wildcards.method} --dataset {input.dataset:q} --splits {input.splits:q}"
        " --params {params.settings:q} --device {params.device} --seed {params.seed}"
        " --threads {threads} --out {output.fit:q} > {log:q} 2>&1"


rule stability:
    input:
        dataset=rules.prepare.output.dataset,
        fit=rules.select.output.fit,
    output:
        "results/{dataset}/stability/{method}.npz",
    log:
        "logs/stability/{dataset}/{method}.log",
    benchmark:
        "results/{dataset}/benchmark/stability_{method}.tsv"
    conda:
        "../envs/genesel.yaml"
    resources:
        gpu=gpu_claim,
        mem_mb=lookup(dpath="methods/{method}/mem_mb", within=config, default=4000),
    params:
        settings=method_params,
        device=config["device"],
        seed=config["splits"]["seed"],
        pairs=lookup(dpath="stability/pairs", within=config, default=25),
        threshold=lookup(dpath="stability/threshold", within=config, default=0.75),
        max_false=lookup(dpath="stability/max_false", within=config, default=1.0),
    shell:
        "genesel stability --method {wildcards.method} --dataset {input.dataset:q} --fit {input.fit:q}"
        " --params {params.settings:q} --pairs {params.pairs} --threshold {params.threshold}"
        " --max-false {params.max_false} --device {params.device} --seed {params.seed}"
        " --threads {threads} --out {output:q} > {log:q} 2>&1"


rule rank_genes:
    input:
        dataset=rules.prepare.output.dataset,
        splits=rules.prepare.output.splits,
        fit=rules.select.output.fit,
        stability=rules.stability.output[0],
    output:
        "results/{dataset}/genes/{method}.csv",
    log:
        "logs/rank/{dataset}/{method}.log",
    conda:
        "../envs/genesel.yaml"
    shell:
        "genesel rank --dataset {input.dataset:q} --fit {input.fit:q} --splits {input.splits:q}"
        " --stability {input.stability:q} --out {output:q} > {log:q} 2>&1"
