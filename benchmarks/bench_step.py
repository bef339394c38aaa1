"""One proximal step of spred's κ path, timed by block: where a step's time goes at a working-set width.

    python benchmarks/bench_step.py --genes 2000 --threads 2    # the screened dense start at GDS scale
    python benchmarks/bench_step.py --genes 10 --threads 2      # the top of the path: a few genes, the deep layers

20 splits x 120 training arrays x 54,675 probes of random data (5 classes, hidden 1024 by default), each split with
``--genes`` random genes in its working set and random first-layer rows, as ``genesel.prox``'s dense start draws
them; ``--warmup`` steps at one κ, then ``--steps`` timed ones. Prints the seconds per step of each block (the deeper
layers, then the genes' rows ``V``) and a checksum of the parameters and step sizes, so two versions of the code can
be checked for taking the same steps. Not a test.
"""

from __future__ import annotations

import argparse
import time

import torch

from genesel.cli.fitting import keep_freed_memory
from genesel.solver import PathConfig, PathSolver


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--genes", type=int, default=2000, help="genes in each split's working set")
    parser.add_argument("--splits", type=int, default=20)
    parser.add_argument("--arrays", type=int, default=120, help="training arrays")
    parser.add_argument("--probes", type=int, default=54675)
    parser.add_argument("--classes", type=int, default=5)
    parser.add_argument("--hidden", type=int, default=1024)
    parser.add_argument("--kappa", type=float, default=0.01)
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--threads", type=int, help="torch CPU threads (default: torch's)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    keep_freed_memory()  # as genesel select does
    torch.manual_seed(0)
    M, p = args.splits, args.probes
    X, y = torch.randn(M, args.arrays, p), torch.randint(0, args.classes, (M, args.arrays))
    solver = PathSolver(PathConfig(hidden=args.hidden, device="cpu"), args.classes, X, y)
    allowed = torch.zeros(M, p, dtype=torch.bool)
    for m in range(M):
        allowed[m, torch.randperm(p)[:args.genes]] = True
    solver.pb.dense_start(0, allowed)
    for block in solver.blocks:
        block.reset()
    kappa, live = torch.full((M,), args.kappa), torch.ones(M, dtype=torch.bool)
    for _ in range(args.warmup):
        for block in solver.blocks:
            block.iterate(kappa, live)
    seconds = [0.0, 0.0]
    for _ in range(args.steps):
        for b, block in enumerate(solver.blocks):
            start = time.perf_counter()
            block.iterate(kappa, live)
            seconds[b] += time.perf_counter() - start
    checksum = float(sum(v.double().abs().sum() for v in solver.pb.params.values()))
    steps = [float(block.step.sum()) for block in solver.blocks]
    print(f"{M} splits x {args.arrays} x {p}, {args.genes} genes each, hidden {args.hidden}, "
          f"{torch.get_num_threads()} threads: a step {sum(seconds) / args.steps:.3f} s (deeper layers "
          f"{seconds[0] / args.steps:.3f}, V {seconds[1] / args.steps:.3f}); checksum {checksum:.12g}, "
          f"step sizes {steps[0]:.6g} / {steps[1]:.6g}")


if __name__ == "__main__":
    main()
