# Predicted against measured time of every fitting job: the cost plan written before the run
# (common.smk, results/summary/plan.tsv) beside Snakemake's benchmark files.


rule timing:
    input:
        plan=ancient(PLAN),
        fits=expand(rules.select.output.fit, dataset=DATASETS, method=METHODS),
        stability=expand(rules.stability.output[0], dataset=DATASETS, method=METHODS),
    output:
        table="results/summary/timing.tsv",
        page=report_item(
            "results/summary/timing.html",
            "timing",
            table="predicted and measured time of every job",
        ),
    log:
        "logs/timing.log",
    conda:
        "../envs/genesel.yaml"
    params:
        jobs=lambda wc: " ".join(
            f"--benchmark {shlex.quote(d)} {m} {job} {shlex.quote(f'results/{d}/benchmark/{prefix}{m}.tsv')}"
            for d in DATASETS
            for m in METHODS
            for job, prefix in (("select", ""), ("stability", "stability_"))
        ),
        stability=lambda wc: " ".join(
            f"--stability {shlex.quote(d)} {m} {shlex.quote(f'results/{d}/stability/{m}.npz')}"
            for d in DATASETS
            for m in METHODS
        ),
        device=config["device"],
        threads=fitting_threads(),
    shell:
        "genesel timing --plan {input.plan:q} {params.jobs} {params.stability}"
        " --device {params.device} --threads {params.threads} --out {output.table:q} --html {output.page:q}"
        " > {log:q} 2>&1"
