"""Where a spred path job's time goes: every proximal step of ``genesel select`` timed by the shape of its batch,
beside the plan's cost of one such step (:func:`genesel.pathcosts.kappa_path`'s per-step terms).

    python benchmarks/path_step_times.py select --method spred --dataset results/GDS_ALLAML/dataset.npz \\
        --splits results/GDS_ALLAML/splits.tsv --params '{"hidden": 128}' --device cpu --seed 0 --threads 1 \\
        --out /tmp/spred.npz

The arguments are ``genesel``'s (the Snakemake rule's command; the run's Snakemake log shows it). Prints, for the
15 costliest batch shapes ``(models, genes, inputs per gene)``: steps, seconds, measured and modelled milliseconds
per step (rates of ``genesel.throughput`` on this machine, the CPU threads of ``--threads``); then the totals.
"""

from __future__ import annotations

import atexit
import collections
import json
import sys
import time

import genesel.prox as prox

steps: collections.Counter = collections.Counter()
seconds: collections.Counter = collections.Counter()
arrays: dict = {}
_iterate = prox.Fista.iterate


def _timed(self, kappa, live, max_backtracks=40):
    V = self.pb.params.get("V")
    shape = None if V is None else tuple(V.shape)
    start = time.perf_counter()
    _iterate(self, kappa, live, max_backtracks)
    seconds[shape] += time.perf_counter() - start
    steps[shape] += 1
    arrays[shape] = (self.pb.n, self.pb.C)


def _argument(name: str, default=None):
    return sys.argv[sys.argv.index(name) + 1] if name in sys.argv else default


def model_ms(shape: tuple[int, int, int], n_tr: int, C: int) -> float:
    """The plan's milliseconds for one proximal step of ``shape`` (the path kind's fixed cost, its FLOP and its
    element-wise passes at this machine's measured rates)."""
    from genesel.costs import TYPICAL, _deep_flop, _widths
    from genesel.pathcosts import path_step_flop
    from genesel.throughput import measure

    method, hidden = _argument("--method"), json.loads(_argument("--params", "{}")).get("hidden")
    rates = measure("cpu", int(_argument("--threads", 1)))
    kind = "path" if method == "spred" else "path_linear"
    fixed, rate = rates.cpu[kind]
    S, ws, _ = shape
    k_in, widths = _widths(method, hidden, C)
    params = ws * k_in + _deep_flop(1, widths, C) / 2
    elementwise = S * (TYPICAL["path_elementwise"] * params
                       + TYPICAL["path_activation_passes"] * TYPICAL["path_deep_evals"] * n_tr * (k_in + sum(widths)))
    return 1e3 * (fixed + path_step_flop(method, hidden, n_tr, ws, C, S) / rate + elementwise / rates.cpu["elementwise"][1])


@atexit.register
def _report() -> None:
    print("| batch (models, genes, inputs) | steps | seconds | ms per step | the plan's ms per step |\n|---|---|---|---|---|")
    for shape in sorted(steps, key=lambda s: -seconds[s])[:15]:
        modelled = model_ms(shape, *arrays[shape]) if shape else float("nan")
        print(f"| {shape} | {steps[shape]} | {seconds[shape]:.2f} | {1e3 * seconds[shape] / steps[shape]:.1f} | "
              f"{modelled:.1f} |")
    print(f"total: {sum(steps.values())} steps, {sum(seconds.values()):.1f} s")


if __name__ == "__main__":
    prox.Fista.iterate = _timed
    from genesel.cli import main

    sys.argv = ["genesel", *sys.argv[1:]]
    main()
