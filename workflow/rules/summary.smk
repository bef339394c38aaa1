# Tables: every method's metrics per dataset, the accuracy summary, top-k retraining and consensus tiers,
# planted-gene recovery (simulated data) and the AnnData export.


rule dataset_metrics:
    input:
        expand(rules.select.output.metrics, method=METHODS, allow_missing=True),
    output:
        report_item(
            "results/{dataset}/metrics.tsv",
            "metrics",
            "{dataset}",
            "Accuracy",
            table="every method on every split (TSV)",
        ),
    log:
        "logs/metrics/{dataset}.log",
    conda:
        "../envs/genesel.yaml"
    shell:
        "genesel combine --inputs {input:q} --out {output:q} > {log:q} 2>&1"


rule summary:
    input:
        metrics=expand(rules.dataset_metrics.output[0], dataset=DATASETS),
        datasets=expand(rules.prepare.output.dataset, dataset=DATASETS),
        splits=expand(rules.prepare.output.splits, dataset=DATASETS),
    output:
        csv=report_item(
            "results/summary/accuracy.csv", "accuracy", table="accuracy (CSV)"
        ),
        md="results/summary/accuracy.md",
        paired=report_item(
            "results/summary/paired.csv",
            "paired",
            table="methods compared pairwise (CSV)",
        ),
        info=report_item(
            "results/summary/run_info.tsv", "run_info", table="run information (TSV)"
        ),
    log:
        "logs/summary.log",
    conda:
        "../envs/genesel.yaml"
    shell:
        "genesel summarize --metrics {input.metrics:q} --datasets {input.datasets:q}"
        " --splits {input.splits:q} --out-csv {output.csv:q} --out-md {output.md:q}"
        " --run-info {output.info:q} --out-paired {output.paired:q} > {log:q} 2>&1"


rule compare:
    input:
        dataset=rules.prepare.output.dataset,
        splits=rules.prepare.output.splits,
        fits=expand(rules.select.output.fit, method=METHODS, allow_missing=True),
        genes=expand(rules.rank_genes.output[0], method=METHODS, allow_missing=True),
    output:
        topk="results/{dataset}/topk.tsv",
        tiers="results/{dataset}/genes/tiers.csv",
    log:
        "logs/compare/{dataset}.log",
    conda:
        "../envs/genesel.yaml"
    params:
        preprocess=preprocess_params(),
    shell:
        "genesel compare --dataset {input.dataset:q} --splits {input.splits:q} --fits {input.fits:q}"
        " --genes {input.genes:q} --preprocess {params.preprocess:q}"
        " --topk {output.topk:q} --tiers {output.tiers:q} > {log:q} 2>&1"


rule planted_recovery:
    input:
        truth=rules.simulate.output.truth,
        genes=expand(rules.rank_genes.output[0], method=METHODS, allow_missing=True),
    output:
        "results/{dataset}/planted_recovery.csv",
    log:
        "logs/planted_recovery/{dataset}.log",
    conda:
        "../envs/genesel.yaml"
    shell:
        "genesel recovery --name {wildcards.dataset} --truth {input.truth:q} --genes {input.genes:q}"
        " --out {output:q} > {log:q} 2>&1"


rule export_h5ad:
    input:
        dataset=rules.prepare.output.dataset,
        splits=rules.prepare.output.splits,
        genes=expand(rules.rank_genes.output[0], method=METHODS, allow_missing=True),
    output:
        "results/{dataset}/{dataset}.h5ad",
    log:
        "logs/export/{dataset}.log",
    conda:
        "../envs/genesel.yaml"
    shell:
        "genesel export --dataset {input.dataset:q} --splits {input.splits:q} --genes {input.genes:q}"
        " --out {output:q} > {log:q} 2>&1"
