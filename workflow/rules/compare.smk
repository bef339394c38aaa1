rule dataset_metrics:
    input:
        expand(rules.select.output.metrics, method=METHODS, allow_missing=True),
    output:
        report(
            "results/{dataset}/metrics.tsv",
            category="{dataset}",
            subcategory="Accuracy",
            labels={"table": "every method on every split"},
            caption="../report/metrics.rst",
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
        csv=report(
            "results/summary/accuracy.csv",
            category="Summary",
            labels={"table": "accuracy (CSV)"},
            caption="../report/accuracy.rst",
        ),
        md="results/summary/accuracy.md",
        paired=report(
            "results/summary/paired.csv",
            category="Summary",
            labels={"table": "methods compared pairwise (CSV)"},
            caption="../report/paired.rst",
        ),
        info=report(
            "results/summary/run_info.tsv",
            category="Summary",
            labels={"table": "run information"},
            caption="../report/run_info.rst",
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
        tiers=report(
            "results/{dataset}/genes/tiers.csv",
            category="{dataset}",
            subcategory="Genes",
            labels={"table": "consensus tiers (CSV)"},
            caption="../report/tiers.rst",
        ),
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


rule dataset_figures:
    input:
        dataset=rules.prepare.output.dataset,
        splits=rules.prepare.output.splits,
        metrics=rules.dataset_metrics.output[0],
        topk=rules.compare.output.topk,
        fits=expand(rules.select.output.fit, method=METHODS, allow_missing=True),
        genes=expand(rules.rank_genes.output[0], method=METHODS, allow_missing=True),
    output:
        accuracy=report(
            "results/{dataset}/figures/accuracy.svg",
            category="{dataset}",
            subcategory="Accuracy",
            labels={"figure": "test accuracy by method"},
            caption="../report/fig_accuracy.rst",
        ),
        topk=report(
            "results/{dataset}/figures/topk.svg",
            category="{dataset}",
            subcategory="Accuracy",
            labels={"figure": "accuracy on top-k genes"},
            caption="../report/fig_topk.rst",
        ),
        overlap=report(
            "results/{dataset}/figures/overlap.svg",
            category="{dataset}",
            subcategory="Genes",
            labels={"figure": "overlap of top-50 gene lists"},
            caption="../report/fig_overlap.rst",
        ),
        training=report(
            "results/{dataset}/figures/training_spred.svg",
            category="{dataset}",
            subcategory="Diagnostics",
            labels={"figure": "spred training"},
            caption="../report/fig_training.rst",
        ),
    log:
        "logs/figures/{dataset}.log",
    conda:
        "../envs/genesel.yaml"
    params:
        out=lambda wc, output: os.path.dirname(output.accuracy),
    shell:
        "genesel figures --dataset {input.dataset:q} --splits {input.splits:q} --metrics {input.metrics:q}"
        " --topk {input.topk:q} --fits {input.fits:q} --genes {input.genes:q} --out {params.out:q}"
        " > {log:q} 2>&1"


rule gene_figures:
    input:
        dataset=rules.prepare.output.dataset,
        genes=rules.rank_genes.output[0],
        stability=rules.stability.output[0],
    output:
        frequency=report(
            "results/{dataset}/figures/frequency_{method}.svg",
            category="{dataset}",
            subcategory="Genes",
            labels={"figure": "selection frequency", "method": "{method}"},
            caption="../report/fig_frequency.rst",
        ),
        heatmap=report(
            "results/{dataset}/figures/heatmap_{method}.svg",
            category="{dataset}",
            subcategory="Genes",
            labels={"figure": "expression heatmap", "method": "{method}"},
            caption="../report/fig_heatmap.rst",
        ),
        stability=report(
            "results/{dataset}/figures/stability_{method}.svg",
            category="{dataset}",
            subcategory="Stable genes",
            labels={"figure": "stability path", "method": "{method}"},
            caption="../report/fig_stability.rst",
        ),
    log:
        "logs/gene_figures/{dataset}/{method}.log",
    conda:
        "../envs/genesel.yaml"
    shell:
        "genesel gene-figures --dataset {input.dataset:q} --genes {input.genes:q} --method {wildcards.method}"
        " --frequency {output.frequency:q} --heatmap {output.heatmap:q} --stability {input.stability:q}"
        " --stability-path {output.stability:q} > {log:q} 2>&1"


rule planted_recovery:
    input:
        truth=rules.simulate.output.truth,
        genes=expand(rules.rank_genes.output[0], method=METHODS, allow_missing=True),
    output:
        report(
            "results/{dataset}/planted_recovery.csv",
            category="{dataset}",
            subcategory="Genes",
            labels={"table": "planted genes recovered (simulated data)"},
            caption="../report/planted_recovery.rst",
        ),
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


rule candidates:
    input:
        dataset=rules.prepare.output.dataset,
        genes=expand(rules.rank_genes.output[0], method=METHODS, allow_missing=True),
        tiers=rules.compare.output.tiers,
        stability=expand(rules.stability.output[0], method=METHODS, allow_missing=True),
        fits=expand(rules.select.output.fit, method=METHODS, allow_missing=True),
    output:
        page=report(
            "results/{dataset}/report/candidates.html",
            category="{dataset}",
            subcategory="Candidate genes",
            labels={"table": "candidate genes (sortable)"},
            caption="../report/candidates.rst",
        ),
        volcano=report(
            "results/{dataset}/figures/volcano.svg",
            category="{dataset}",
            subcategory="Candidate genes",
            labels={"figure": "volcano plot"},
            caption="../report/fig_volcano.rst",
        ),
        boxplots=report(
            "results/{dataset}/figures/candidate_boxplots.svg",
            category="{dataset}",
            subcategory="Candidate genes",
            labels={"figure": "top candidates by class"},
            caption="../report/fig_boxplots.rst",
        ),
        pairs=report(
            "results/{dataset}/figures/gene_pairs.svg",
            category="{dataset}",
            subcategory="Candidate genes",
            labels={"figure": "gene pairs of spred's MLP head"},
            caption="../report/fig_pairs.rst",
        ),
        confusion=report(
            "results/{dataset}/figures/confusion.svg",
            category="{dataset}",
            subcategory="Accuracy",
            labels={"figure": "confusion matrices"},
            caption="../report/fig_confusion.rst",
        ),
    log:
        "logs/candidates/{dataset}.log",
    conda:
        "../envs/genesel.yaml"
    shell:
        "genesel candidates --dataset {input.dataset:q} --genes {input.genes:q} --tiers {input.tiers:q}"
        " --stability {input.stability:q} --fits {input.fits:q} --page {output.page:q}"
        " --volcano {output.volcano:q} --boxplots {output.boxplots:q} --pairs {output.pairs:q}"
        " --confusion {output.confusion:q} > {log:q} 2>&1"


rule overview:
    input:
        summary=rules.summary.output.csv,
        paired=rules.summary.output.paired,
        datasets=expand(rules.prepare.output.dataset, dataset=DATASETS),
        stability=expand(rules.stability.output[0], dataset=DATASETS, method=METHODS),
    output:
        report(
            "results/summary/overview.html",
            category="Summary",
            labels={"table": "overview: headline, datasets, every result"},
            caption="../report/overview.rst",
        ),
    log:
        "logs/overview.log",
    conda:
        "../envs/genesel.yaml"
    shell:
        "genesel overview --summary {input.summary:q} --datasets {input.datasets:q}"
        " --stability {input.stability:q} --paired {input.paired:q} --out {output:q} > {log:q} 2>&1"
