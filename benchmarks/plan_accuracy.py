"""The cost plan's predicted wall time against the measured time of every fitting job of a run.

    python benchmarks/plan_accuracy.py --configfile config/demo.yaml            # runs the workflow in a scratch folder
    python benchmarks/plan_accuracy.py --configfile config/demo.yaml --results /tmp/demo   # a finished run's folder

Runs ``snakemake --cores 2`` with every fitting job on 2 threads (one job at a time on a 2-core machine) unless
``--results`` names a finished run, then prints one row per select and stability job: predicted seconds (the
plan of :mod:`genesel.plan`, rates measured before the run), measured seconds (Snakemake's ``benchmark:`` file)
and their ratio, before any work and at each job's start (a stability job costed with the settings its select
job fixed), with the machine's load (``uptime``) before and after. Target (issue 28): every job within a
factor of 2.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from genesel.plan import plan_config, timing_summary, timing_table  # noqa: E402
from genesel.stability import StabilityResult  # noqa: E402
from genesel.throughput import measure  # noqa: E402


def uptime() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()


def run_workflow(configfile: Path, workdir: Path, threads: int) -> None:
    cmd = [sys.executable, "-m", "snakemake", "-s", str(REPO / "Snakefile"), "--directory", str(workdir),
           "--configfile", str(configfile), "--cores", str(threads),
           "--set-threads", f"select={threads}", f"stability={threads}"]
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    subprocess.run(cmd, check=True, env=env, capture_output=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--configfile", type=Path, default=REPO / "config" / "demo.yaml")
    parser.add_argument("--results", type=Path, default=None, help="a finished run's working folder")
    parser.add_argument("--threads", type=int, default=2, help="threads of a fitting job (default: %(default)s)")
    parser.add_argument("--remeasure", action="store_true", help="measure the rates now rather than reuse today's")
    args = parser.parse_args()
    config = yaml.safe_load(args.configfile.read_text())
    before = uptime()
    throughput = measure(str(config.get("device", "auto")), args.threads, refresh=args.remeasure)
    workdir = args.results
    if workdir is None:
        workdir = Path(tempfile.mkdtemp(prefix="plan_accuracy_"))
        run_workflow(args.configfile.resolve(), workdir, args.threads)
    plan = plan_config(config, throughput, root=REPO)
    files, fixed = {}, {}
    for row in plan.itertuples():
        name = row.method if row.job == "select" else f"stability_{row.method}"
        files[(row.dataset, row.method, row.job)] = workdir / "results" / row.dataset / "benchmark" / f"{name}.tsv"
        result = workdir / "results" / row.dataset / "stability" / f"{row.method}.npz"
        if row.job == "stability" and result.exists():
            stability = StabilityResult.load(result)
            fixed[(row.dataset, row.method)] = (stability.settings, stability.pairs)
    table = timing_table(plan, files, fixed, throughput)
    print(f"`python benchmarks/plan_accuracy.py --configfile {args.configfile}` ({throughput.describe()})")
    print(f"load before: {before}\nload after:  {uptime()}\n")
    print(table.to_markdown(index=False))
    print()
    print("\n".join(timing_summary(table)))


if __name__ == "__main__":
    main()
