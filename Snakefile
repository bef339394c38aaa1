# The workflow lives in workflow/Snakefile (the Snakemake workflow standard). Snakemake does not
# take a default target from an included file, so this one names it.
include: "workflow/Snakefile"


rule default:
    default_target: True
    input:
        rules.all.input,
