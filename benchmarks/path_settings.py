"""spred's κ path under two settings on the same simulated GDS-scale data, splits and seeds: do they choose the
same genes?

    python benchmarks/path_settings.py run --hidden 1024 --splits 2 --out none.json
    python benchmarks/path_settings.py run --hidden 1024 --splits 2 --settings '{"warm_iter": 50}' --out w50.json
    python benchmarks/path_settings.py compare none.json w50.json

``run`` solves the path on ``bench_spred.py``'s data (120 training arrays x 54,675 probes, 5 classes by default),
κ chosen on validation per split (the test over splits off), and saves each split's chosen genes, κ and test
accuracy with the CPU time. ``compare`` prints the Jaccard index of the chosen lists split by split, the
splits with the same κ, and both runs' test accuracy and CPU seconds. Prints; not a test.
"""

from __future__ import annotations

import argparse
import json
import resource
import time

import numpy as np
import torch
from bench_spred import data

from genesel.cli.fitting import keep_freed_memory
from genesel.solver import PathConfig, solve_path


def run(args) -> None:
    torch.set_num_threads(args.threads)
    keep_freed_memory()  # as genesel select does: without it a third of the CPU time is the kernel's
    parts = data(args.arrays, args.probes, args.classes, args.splits)
    config = PathConfig(variant="spred", hidden=args.hidden, device="cpu", signal_alpha=None, **json.loads(args.settings))
    cpu, wall = time.process_time(), time.time()
    result = solve_path(*parts["train"], *parts["val"], parts["test"][0], args.classes, config)
    cpu, wall = time.process_time() - cpu, time.time() - wall
    chosen = result.choose_per_split()
    picked = [(s, k) for s, k in enumerate(chosen) if k >= 0]
    out = dict(settings=json.loads(args.settings), hidden=args.hidden, cpu=cpu, wall=wall,
               peak_gb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6,
               genes={s: np.flatnonzero(result.scores[s, k] > 0).tolist() for s, k in picked},
               kappa={s: float(result.kappas[k]) for s, k in picked},
               accuracy={s: float((result.test_proba[s, k].argmax(-1) == parts["test"][1][s]).mean()) for s, k in picked},
               certified=int(result.certified[[s for s, _ in picked], [k for _, k in picked]].sum()),
               path_certified=float(result.certified.mean()), steps=result.iterations.sum(1).tolist())
    with open(args.out, "w") as f:
        json.dump(out, f)
    print(f"{args.settings}: CPU {cpu:.0f} s, wall {wall:.0f} s, test accuracy {np.mean(list(out['accuracy'].values())):.3f}, "
          f"chosen genes {[len(g) for g in out['genes'].values()]}, certified {out['certified']}/{len(picked)} chosen, "
          f"{out['path_certified']:.2f} of the path")


def compare(args) -> None:
    a, b = (json.load(open(path)) for path in (args.a, args.b))
    splits = sorted(set(a["genes"]) & set(b["genes"]), key=int)
    jaccard = [len(set(a["genes"][s]) & set(b["genes"][s])) / max(1, len(set(a["genes"][s]) | set(b["genes"][s])))
               for s in splits]
    # the same point of the path: κ_max comes from float32 gradients (two runs of different code differ in its 7th
    # digit), neighbouring points differ by 10% or more
    same = sum(abs(a["kappa"][s] - b["kappa"][s]) <= 1e-4 * a["kappa"][s] for s in splits)
    acc = lambda r: np.array([r["accuracy"][s] for s in splits])  # noqa: E731
    print(f"{a['settings']} against {b['settings']}: Jaccard of the chosen lists {np.round(jaccard, 2).tolist()}; "
          f"same kappa in {same}/{len(splits)} splits; test accuracy {acc(a).mean():.3f} / {acc(b).mean():.3f} "
          f"(SE {acc(b).std() / np.sqrt(len(splits)):.3f}); CPU {a['cpu']:.0f} / {b['cpu']:.0f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    r = sub.add_parser("run")
    r.add_argument("--hidden", type=int, default=1024)
    r.add_argument("--splits", type=int, default=2)
    r.add_argument("--arrays", type=int, default=200, help="arrays in all (60%% train)")
    r.add_argument("--probes", type=int, default=54675)
    r.add_argument("--classes", type=int, default=5)
    r.add_argument("--threads", type=int, default=1)
    r.add_argument("--settings", default="{}", help="PathConfig settings as JSON")
    r.add_argument("--out", required=True)
    c = sub.add_parser("compare")
    c.add_argument("a")
    c.add_argument("b")
    args = parser.parse_args()
    run(args) if args.command == "run" else compare(args)


if __name__ == "__main__":
    main()
