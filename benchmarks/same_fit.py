"""Fixed-seed path fits of spred and spred_linear on a simulated set, saved to compare two revisions.

``python benchmarks/same_fit.py save OUT.npz`` fits and saves; ``python benchmarks/same_fit.py compare A.npz B.npz``
prints whether every array is byte-identical (scores, probabilities, κ, chosen κ). Run ``save`` under each
revision (``PYTHONPATH`` pointing at its checkout). Options are the set's and the path's size.
"""

from __future__ import annotations

import argparse

import numpy as np
import torch

from genesel.simulate import simulate_expression
from genesel.solver import PathConfig, solve_path


def fits(n: int, p: int, splits: int, hidden: int, start_genes: int | None) -> dict[str, np.ndarray]:
    X, y, _, _ = simulate_expression(n, p, 3, n_linear=2, n_xor_pairs=1, n_variance=1, seed=5)
    X = ((X - X.mean(0)) / X.std(0)).astype(np.float32)
    rng = np.random.default_rng(0)
    parts = [rng.permutation(n) for _ in range(splits)]
    a, b = int(0.6 * n), int(0.8 * n)
    stack = lambda idx: (np.stack([X[q[idx]] for q in parts]), np.stack([y[q[idx]] for q in parts]))  # noqa: E731
    (Xt, yt), (Xv, yv), (Xs, _) = stack(slice(0, a)), stack(slice(a, b)), stack(slice(b, n))
    out = {}
    for variant in ("spred", "spred_linear"):
        cfg = PathConfig(variant=variant, hidden=hidden if variant == "spred" else None, n_kappas=6, max_iter=150,
                         max_above=3, start_genes=start_genes, device="cpu", seed=1)
        r = solve_path(Xt, yt, Xv, yv, Xs, 3, cfg)
        out.update({f"{variant}/kappas": r.kappas, f"{variant}/scores": r.scores, f"{variant}/val_proba": r.val_proba,
                    f"{variant}/test_proba": r.test_proba, f"{variant}/n_selected": r.n_selected,
                    f"{variant}/kkt_residual": r.kkt_residual, f"{variant}/iterations": r.iterations,
                    f"{variant}/chosen": np.asarray(r.choose_per_split())})
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("action", choices=("save", "compare"))
    ap.add_argument("files", nargs="+")
    ap.add_argument("--n", type=int, default=150)
    ap.add_argument("--p", type=int, default=400)
    ap.add_argument("--splits", type=int, default=3)
    ap.add_argument("--hidden", type=int, default=16)
    ap.add_argument("--start-genes", type=int, default=None)
    a = ap.parse_args()
    torch.set_num_threads(1)
    if a.action == "save":
        np.savez(a.files[0], **fits(a.n, a.p, a.splits, a.hidden, a.start_genes))
        return
    old, new = (np.load(f) for f in a.files[:2])
    same = True
    for key in sorted(old.files):
        equal = old[key].shape == new[key].shape and old[key].tobytes() == new[key].tobytes()
        same &= equal
        print(f"{key:26s} {'identical' if equal else 'DIFFERS'}")
    print("byte-identical" if same else "NOT byte-identical")
    raise SystemExit(0 if same else 1)


if __name__ == "__main__":
    main()
