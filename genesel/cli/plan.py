"""Plan verbs: plan (the cost of a config before any work) and timing (predicted against measured)."""

from __future__ import annotations

import argparse

from genesel.cli.common import write_atomic


def _cmd_plan(args: argparse.Namespace) -> None:
    import yaml

    from genesel.plan import format_plan, over_budget, plan_config
    from genesel.throughput import measure

    with open(args.configfile) as fh:
        config = yaml.safe_load(fh) or {}
    throughput = measure(args.device or str(config.get("device", "auto")), args.threads, refresh=args.remeasure)
    plan = plan_config(config, throughput)
    print(format_plan(plan, throughput))
    if args.out:
        write_atomic(plan, args.out, sep="\t")
    message = over_budget(plan, config, args.configfile, plan_file=args.out)
    print(f"over budget: {message}" if message else "within budget_hours")


def _cmd_timing(args: argparse.Namespace) -> None:
    import pandas as pd

    from genesel.plan import timing_table, write_timing_page
    from genesel.stability import StabilityResult
    from genesel.throughput import measure

    files = {(dataset, method, job): path for dataset, method, job, path in args.benchmark}
    fixed = {}
    for dataset, method, path in args.stability:
        result = StabilityResult.load(path)
        fixed[(dataset, method)] = (result.settings, result.pairs)
    throughput = measure(args.device, args.threads) if fixed else None
    table = timing_table(pd.read_csv(args.plan, sep="\t"), files, fixed, throughput)
    write_atomic(table, args.out, sep="\t")
    if args.html:
        write_timing_page(table, args.html)


def add_plan_verbs(sub) -> None:
    p = sub.add_parser("plan", help="the cost of a config before any work: fits, FLOP, memory, time per job")
    p.add_argument("--configfile", required=True, help="a workflow config (config/config.yaml, config/demo.yaml, ...)")
    p.add_argument("--device", default=None, help="auto, cpu or cuda (default: the config's device)")
    p.add_argument("--threads", type=int, default=None, help="CPU threads of a fitting job (default: torch's)")
    p.add_argument("--remeasure", action="store_true", help="measure the rates again rather than reuse today's")
    p.add_argument("--out", default=None, help="TSV of every job's prediction")
    p.set_defaults(func=_cmd_plan)

    p = sub.add_parser("timing", help="each job's predicted time (plan.tsv) against its measured time")
    p.add_argument("--plan", required=True, help="results/summary/plan.tsv written before the run")
    p.add_argument("--benchmark", nargs=4, action="append", default=[], metavar=("DATASET", "METHOD", "JOB", "TSV"),
                   help="a job's Snakemake benchmark file (JOB: select or stability); repeat")
    p.add_argument("--stability", nargs=3, action="append", default=[], metavar=("DATASET", "METHOD", "NPZ"),
                   help="a stability result: its job is costed again with the settings it ran with; repeat")
    p.add_argument("--device", default="auto", help="auto, cpu or cuda: the rates' device (default: %(default)s)")
    p.add_argument("--threads", type=int, default=None, help="CPU threads of a fitting job (default: torch's)")
    p.add_argument("--out", required=True, help="the table (TSV)")
    p.add_argument("--html", default=None, help="the table as a report page, with its summary in words")
    p.set_defaults(func=_cmd_timing)
