"""Where a spred path job's time goes: every proximal step of ``genesel select`` timed by the width of its batch.

    python benchmarks/path_step_times.py select --method spred --dataset results/GDS_ALLAML/dataset.npz \\
        --splits results/GDS_ALLAML/splits.tsv --params '{"hidden": 128}' --device cpu --seed 0 --threads 1 \\
        --out /tmp/spred.npz

The arguments are ``genesel``'s (the Snakemake rule's command, ``logs/`` shows it). Prints, for the 15 costliest
batch shapes ``(models, genes, inputs per gene)``: steps, seconds, milliseconds per step; then the totals. The plan's
model of these steps is :func:`genesel.pathcosts.kappa_path` (benchmarks/RESULTS.md).
"""

from __future__ import annotations

import atexit
import collections
import sys
import time

import genesel.prox as prox

steps: collections.Counter = collections.Counter()
seconds: collections.Counter = collections.Counter()
_iterate = prox.Fista.iterate


def _timed(self, kappa, live, max_backtracks=40):
    V = self.pb.params.get("V")
    shape = None if V is None else tuple(V.shape)
    start = time.perf_counter()
    _iterate(self, kappa, live, max_backtracks)
    seconds[shape] += time.perf_counter() - start
    steps[shape] += 1


@atexit.register
def _report() -> None:
    print("| batch (models, genes, inputs) | steps | seconds | ms per step |\n|---|---|---|---|")
    for shape in sorted(steps, key=lambda s: -seconds[s])[:15]:
        print(f"| {shape} | {steps[shape]} | {seconds[shape]:.2f} | {1e3 * seconds[shape] / steps[shape]:.1f} |")
    print(f"total: {sum(steps.values())} steps, {sum(seconds.values()):.1f} s")


if __name__ == "__main__":
    prox.Fista.iterate = _timed
    from genesel.cli import main

    sys.argv = ["genesel", *sys.argv[1:]]
    main()
