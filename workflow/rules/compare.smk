rule dataset_metrics:
    input:
        expand("results/{{dataset}}/fits/{method}.metrics.tsv", method=METHODS),
    output:
        "results/{dataset}/metrics.tsv",
    log:
        "logs/metrics/{dataset}.log",
    conda:
        "../envs/genesel.yaml"
    shell:
        "genesel combine --inputs {input:q} --out {output:q} > {log:q} 2>&1"


rule summary:
    input:
        metrics=expand("results/{dataset}/metrics.tsv", dataset=DATASETS),
        datasets=expand("results/{dataset}/dataset.npz", dataset=DATASETS),
        splits=expand("results/{dataset}/splits.tsv", dataset=DATASETS),
    output:
        csv=report(
            "results/summary/accuracy.csv",
            category="Summary",
            labels={"table": "accuracy (CSV)"},
            caption="../report/accuracy.rst",
        ),
        md="results/summary/accuracy.md",
    log:
        "logs/summary.log",
    conda:
        "../envs/genesel.yaml"
    shell:
        "genesel summarize --metrics {input.metrics:q} --datasets {input.datasets:q}"
        " --splits {input.splits:q} --out-csv {output.csv:q} --out-md {output.md:q} > {log:q} 2>&1"
