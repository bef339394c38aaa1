# The report's figures and pages, one genesel verb each: figures (accuracy, top-k, overlap, spred's training),
# gene-figures (per method: frequency, heatmap, stability path), candidates (candidate page, volcano, boxplots,
# gene pairs, confusion matrices) and overview (the landing page's text, overview, methods, config, glossary);
# gene_downloads and table_downloads put each gene CSV and each per-dataset table (DATASET_TABLES) in the
# report under a name that says what it is.


localrules:
    gene_downloads,
    table_downloads,


rule dataset_figures:
    input:
        dataset=rules.prepare.output.dataset,
        splits=rules.prepare.output.splits,
        metrics=rules.dataset_metrics.output[0],
        topk=rules.compare.output.topk,
        fits=expand(rules.select.output.fit, method=METHODS, allow_missing=True),
        genes=expand(rules.rank_genes.output[0], method=METHODS, allow_missing=True),
    output:
        accuracy=figure("accuracy", "Accuracy", "test accuracy by method"),
        topk=figure("topk", "Accuracy", "accuracy on top-k genes"),
        overlap=figure("overlap", "Genes", "overlap of top-50 gene lists"),
        training=figure("training_spred", "Diagnostics", "spred training", "training"),
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
        frequency=figure(
            "frequency_{method}", "Genes", "selection frequency", method="{method}"
        ),
        heatmap=figure(
            "heatmap_{method}", "Genes", "expression heatmap", method="{method}"
        ),
        stability=figure(
            "stability_{method}", "Stable genes", "stability path", method="{method}"
        ),
    log:
        "logs/gene_figures/{dataset}/{method}.log",
    conda:
        "../envs/genesel.yaml"
    shell:
        "genesel gene-figures --dataset {input.dataset:q} --genes {input.genes:q} --method {wildcards.method}"
        " --frequency {output.frequency:q} --heatmap {output.heatmap:q} --stability {input.stability:q}"
        " --stability-path {output.stability:q} > {log:q} 2>&1"


rule candidates:
    input:
        dataset=rules.prepare.output.dataset,
        genes=expand(rules.rank_genes.output[0], method=METHODS, allow_missing=True),
        tiers=rules.compare.output.tiers,
        stability=expand(rules.stability.output[0], method=METHODS, allow_missing=True),
        fits=expand(rules.select.output.fit, method=METHODS, allow_missing=True),
    output:
        page=report_item(
            "results/{dataset}/report/candidates.html",
            "candidates",
            "{dataset}",
            "Candidate genes",
            table="candidate genes (sortable)",
        ),
        volcano=figure("volcano", "Candidate genes", "volcano plot"),
        boxplots=figure(
            "candidate_boxplots", "Candidate genes", "top candidates by class"
        ),
        pairs=figure("gene_pairs", "Candidate genes", "gene pairs of spred's MLP head"),
        confusion=figure("confusion", "Accuracy", "confusion matrices"),
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
        info=rules.summary.output.info,
        datasets=expand(rules.prepare.output.dataset, dataset=DATASETS),
        stability=expand(rules.stability.output[0], dataset=DATASETS, method=METHODS),
        tiers=expand(rules.compare.output.tiers, dataset=DATASETS),
    output:
        page=report_item(
            "results/summary/overview.html",
            "overview",
            table="overview: genes to validate, headline, every result",
        ),
        landing=report_item(
            "results/summary/landing.html",
            "landing",
            table="the front page's headline, methods and genes (HTML)",
        ),
        methods=report_item(
            "results/summary/methods.txt",
            "methods",
            table="methods paragraph (paste into a paper)",
        ),
        config=report_item(
            "results/summary/config.yaml", "config", table="configuration (YAML)"
        ),
        glossary=report_item(
            "results/summary/glossary.html", "glossary", table="glossary"
        ),
    log:
        "logs/overview.log",
    conda:
        "../envs/genesel.yaml"
    params:
        stability=lambda wc, input: named(input.stability, DATASETS, len(METHODS)),
        tiers=lambda wc, input: named(input.tiers, DATASETS, 1),
        candidates=named(
            expand(rules.candidates.output.page, dataset=DATASETS), DATASETS, 1
        ),
        config=json.dumps(config),
    shell:
        "genesel overview --summary {input.summary:q} --datasets {input.datasets:q}"
        " --stability {params.stability} --tiers {params.tiers} --candidates {params.candidates}"
        " --paired {input.paired:q} --run-info {input.info:q} --config {params.config:q}"
        " --out {output.page:q} --landing {output.landing:q} --methods {output.methods:q}"
        " --config-out {output.config:q} --glossary {output.glossary:q} > {log:q} 2>&1"


# The report offers a file for download under its own name: {method}.csv from six datasets would all be
# spred.csv on a user's disk, so the report carries a copy named {dataset}_{method}_genes.csv.
rule gene_downloads:
    input:
        rules.rank_genes.output[0],
    output:
        report(
            "results/{dataset}/report/{dataset}_{method}_genes.csv",
            category="{dataset}",
            subcategory="Genes",
            labels={
                "dataset": "{dataset}",
                "method": "{method}",
                "table": "ranked genes (CSV)",
            },
            caption="../report/genes.rst",
        ),
    log:
        "logs/gene_downloads/{dataset}/{method}.log",
    conda:
        "../envs/genesel.yaml"
    shell:
        # a hard link: the download name without a second copy of the table (about 10 MB per method and GDS)
        "ln -f {input:q} {output:q} 2> {log:q} || cp {input:q} {output:q} >> {log:q} 2>&1"


rule table_downloads:
    input:
        lambda wc: DATASET_TABLES[wc.table]["path"].format(dataset=wc.dataset),
    output:
        report(
            "results/{dataset}/report/{dataset}_{table}.csv",
            category="{dataset}",
            subcategory="Genes",
            labels=lambda wc: {
                "dataset": wc.dataset,
                "table": DATASET_TABLES[wc.table]["label"],
            },
            caption="../report/dataset_table.rst",
        ),
    log:
        "logs/table_downloads/{dataset}/{table}.log",
    wildcard_constraints:
        table="|".join(DATASET_TABLES),
    conda:
        "../envs/genesel.yaml"
    shell:
        "ln -f {input:q} {output:q} 2> {log:q} || cp {input:q} {output:q} >> {log:q} 2>&1"
