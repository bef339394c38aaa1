"""Where along the κ path spred's heads learn the planted genes of `recovery.py`'s designs.

    python benchmarks/path_diagnostics.py --samples 600 --probes 200 --seed 1
    python benchmarks/path_diagnostics.py --samples 600 --probes 200 --seed 1 --params '{"kappa_ratio": 0.2}'

Solves the path (`genesel.solver.solve_path`, hidden 64 unless ``--params`` says otherwise) on the data and splits
`recovery.py` builds for the seed. Per κ it prints the median genes kept, the test accuracy of the two heads' mean and of
each head alone, the splits certified, the median proximal steps, and each planted gene's median rank by ‖v_i‖
("-" where it is not selected). Then, for the κ chosen on validation, the planted genes' ranks in every split, and
how many splits rank both genes of the XOR pair in their top 3. Prints; not a test.
"""

from __future__ import annotations

import argparse
import json
import time
import warnings

import numpy as np
import pandas as pd
from recovery import simulated_dataset

from genesel.preprocess import stack_splits
from genesel.solver import PathConfig, solve_path
from genesel.splits import make_splits


def accuracy(proba: np.ndarray, y_test: np.ndarray) -> np.ndarray:
    """``(S, K)`` test accuracy of stacked probabilities ``(S, K, n, C)``; NaN where no model."""
    correct = (proba.argmax(-1) == y_test[:, None, :]).astype(float)
    return np.where(np.isnan(proba).any((-1, -2)), np.nan, correct.mean(-1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--samples", type=int, default=600)
    parser.add_argument("--probes", type=int, default=200)
    parser.add_argument("--splits", type=int, default=5)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--params", default="{}", help="PathConfig settings as JSON")
    args = parser.parse_args()
    dataset, truth = simulated_dataset("needed", args.samples, args.probes, args.seed)
    stacked = stack_splits(dataset, make_splits(dataset.sample_ids, dataset.y, n_splits=args.splits, seed=args.seed))
    planted = np.flatnonzero(np.isin(dataset.probe_ids, truth.probe_id))
    kinds = truth.set_index("probe_id").loc[dataset.probe_ids[planted], "kind"].to_numpy()
    settings = {"hidden": 64, "n_kappas": 20, "kappa_ratio": 0.02, "max_iter": 600, "seed": args.seed,
                **json.loads(args.params)}
    start = time.perf_counter()
    X, y = stacked.X, stacked.y
    result = solve_path(X["train"], y["train"], X["val"], y["val"], X["test"], len(dataset.class_names),
                        PathConfig(**settings))
    print(f"{settings}: {time.perf_counter() - start:.0f} s; planted columns {dict(zip(planted.tolist(), kinds))}")
    ranks = (-result.scores).argsort(-1).argsort(-1) + 1  # (S, K, p), 1 = largest ||v_i||
    held = np.where(result.scores[..., planted] > 0, ranks[..., planted], np.nan)
    warnings.filterwarnings("ignore", "All-NaN slice", RuntimeWarning)  # a planted gene no split keeps at a κ
    table = pd.DataFrame({
        "kappa": result.kappas, "genes": np.median(result.n_selected, 0),
        "acc": np.nanmean(accuracy(result.test_proba, y["test"]), 0),
        **{f"acc {h}": np.nanmean(accuracy(result.head_test_proba[h], y["test"]), 0) for h in ("linear", "mlp")},
        "certified": result.certified.sum(0), "steps": np.median(result.iterations, 0),
        **{f"{c} ({kind})": np.nanmedian(held[..., i], 0) for i, (c, kind) in enumerate(zip(planted, kinds))},
    })
    print(table.round(4).fillna("-").to_markdown(index=False))
    chosen = result.choose()
    fitted = np.flatnonzero(chosen >= 0)
    at_chosen = ranks[fitted, chosen[fitted]][:, planted]
    xor = kinds == "xor"
    print(f"chosen kappa index per split {chosen.tolist()}; test accuracy "
          f"{np.mean(accuracy(result.test_proba, y['test'])[fitted, chosen[fitted]]) if len(fitted) else float('nan'):.3f}")
    print(f"planted ranks at the chosen kappa, per split: {at_chosen.tolist()}")
    print(f"splits ranking both XOR genes in their top 3: {int((at_chosen[:, xor] <= 3).all(1).sum())}/{args.splits}")


if __name__ == "__main__":
    main()
