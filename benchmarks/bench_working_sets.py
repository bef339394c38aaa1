"""The first κ of spred's path up, per proximal step: each split on its own working set against the union.

The screened dense start gives each split ``start_genes`` genes; the union over 20 splits at GDS scale holds
about 19,000 (RESULTS.md). This times proximal steps of the batch at that first κ, in CPU seconds, with the
splits' matmuls on the union (``union``, the earlier layout) and on each split's own genes (``per_split``)::

    OMP_NUM_THREADS=1 python benchmarks/bench_working_sets.py --splits 20 --hidden 128 --steps 5

Start sets come from three cheap screens (limma, variance, co-expression) on simulated arrays of GDS shape.
Prints a table; not a test.
"""

from __future__ import annotations

import argparse
import os
import time

import torch

from benchmarks.bench_spred import data
from genesel.screen import start_sets
from genesel.solver import PathConfig, PathSolver


def step_cost(X, y, start, classes, hidden, layout, steps):
    solver = PathSolver(PathConfig(hidden=hidden, device="cpu", working_sets=layout), classes,
                        torch.as_tensor(X), torch.as_tensor(y))
    pb = solver.pb
    _, _, gnorm = solver.solve(torch.zeros(pb.M), readmit=False)
    kappa = gnorm.max(1).values / 2 * 0.01  # the path's smallest κ, where it starts up
    pb.dense_start(0, torch.as_tensor(start))
    live = torch.ones(pb.M, dtype=torch.bool)
    for block in solver.blocks:
        block.reset()
    for block in solver.blocks:  # one warm-up step (allocations), not timed
        block.iterate(kappa, live)
    cpu, wall = time.process_time(), time.perf_counter()
    for _ in range(steps):
        for block in solver.blocks:
            block.iterate(kappa, live)
    cpu, wall = (time.process_time() - cpu) / steps, (time.perf_counter() - wall) / steps
    cpu_check = time.process_time()
    pb.full_group_grad_norms(pb.params)  # the KKT check over every gene (once per check, not per step)
    return pb.cols.shape[1], cpu, wall, time.process_time() - cpu_check


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n-train", type=int, default=120)
    ap.add_argument("--probes", type=int, default=54675)
    ap.add_argument("--classes", type=int, default=5)
    ap.add_argument("--splits", type=int, default=20)
    ap.add_argument("--hidden", type=int, nargs="+", default=[128, 1024])
    ap.add_argument("--start-genes", type=int, default=2000)
    ap.add_argument("--steps", type=int, default=3)
    ap.add_argument("--layouts", nargs="+", default=["per_split", "union"])
    a = ap.parse_args()
    torch.set_num_threads(1)
    X, y = data(int(round(a.n_train / 0.6)), a.probes, a.classes, a.splits)["train"]
    cpu = time.process_time()
    start = start_sets(X, y, a.classes, a.start_genes, ("limma", "variance", "coexpression"))
    print(f"{a.splits} splits x {a.n_train} x {a.probes}: start sets of {a.start_genes}, union {int(start.any(0).sum())} "
          f"genes ({time.process_time() - cpu:.1f} CPU-s for the screens); load {os.getloadavg()[0]:.1f}")
    print(f"{'hidden':>6} {'layout':>10} {'width':>7} {'CPU-s/step':>11} {'wall-s/step':>12} {'KKT check CPU-s':>16}")
    for hidden in a.hidden:
        for layout in a.layouts:
            width, c, w, check = step_cost(X, y, start, a.classes, hidden, layout, a.steps)
            print(f"{hidden:>6} {layout:>10} {width:>7} {c:11.2f} {w:12.2f} {check:16.2f}   (load {os.getloadavg()[0]:.1f})",
                  flush=True)


if __name__ == "__main__":
    main()
