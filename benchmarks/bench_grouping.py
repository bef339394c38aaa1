"""How much patient leakage inflates accuracy: the same simulated arrays, split with and without groups.

    python benchmarks/bench_grouping.py                         # 120 arrays x 1000 probes, patient effect 1.0
    python benchmarks/bench_grouping.py --patient-effect 2.0 --methods l1_logistic

The simulator (``patient_effect`` > 0) draws patients of about four arrays, each of one class, with a
profile of their own. Ungrouped splits put arrays of one patient in training and test; grouped splits
(``make_splits(groups=...)``) never do. Every method sees the same splits of each kind. Prints a table;
not a test.
"""

from __future__ import annotations

import argparse
import tempfile
import warnings

import numpy as np

from genesel.experiment import run_method
from genesel.preprocess import stack_splits
from genesel.simulate import simulate_gds
from genesel.sources.design import Design
from genesel.sources.gds import read_gds
from genesel.splits import make_splits


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=120)
    parser.add_argument("--probes", type=int, default=1000)
    parser.add_argument("--patient-effect", type=float, default=1.0)
    parser.add_argument("--effect", type=float, default=0.6, help="planted class effect (weak, so leakage shows)")
    parser.add_argument("--splits", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--methods", nargs="+", default=["l1_logistic", "spred_linear"])
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    sim = simulate_gds(tempfile.mkdtemp(), name="GDSLEAK", n_samples=args.samples, n_probes=args.probes,
                       n_classes=2, effect=args.effect, patient_effect=args.patient_effect, seed=args.seed)
    data = read_gds(sim.soft_path, design=Design("disease state", group="individual"))
    print(f"{data.n_samples} arrays from {len(set(data.groups))} patients, {data.n_probes} probes, "
          f"patient effect {args.patient_effect}, class effect {args.effect}, {args.splits} splits")
    print("| method | ungrouped splits | grouped splits | inflation (points) |")
    print("|---|---|---|---|")
    for method in args.methods:
        means = []
        for groups in (None, data.groups):
            splits = make_splits(data.sample_ids, data.y, n_splits=args.splits, seed=args.seed, groups=groups)
            result = run_method(method, data, stack_splits(data, splits), {}, device="cpu", seed=args.seed)
            accuracy = result.metrics.accuracy.to_numpy()
            means.append((accuracy.mean(), accuracy.std(ddof=1) / np.sqrt(len(accuracy))))
        (a, sa), (b, sb) = means
        print(f"| {method} | {a:.3f} ± {sa:.3f} | {b:.3f} ± {sb:.3f} | {100 * (a - b):+.1f} |")


if __name__ == "__main__":
    main()
