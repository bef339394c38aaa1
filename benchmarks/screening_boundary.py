"""Where the screened and unscreened κ paths keep different genes, are those genes on the KKT boundary?

    OMP_NUM_THREADS=2 python benchmarks/screening_boundary.py

spred_linear, 120 training arrays x 5,000 probes (bench_spred.py's simulated data), 4 splits x 20 κ, both
solvers to the default certificate (1% of 2κ). For every gene kept by one solution and not the other, its
group gradient norm over 2κ is recomputed in float64 from each solution's own coefficients: a value
within the certificate's tolerance of 1 means the certificate cannot decide that gene. Prints two lines.
"""

import sys
from pathlib import Path

import numpy as np

sys.path[:0] = [str(Path(__file__).parent), str(Path(__file__).parents[1])]
from bench_spred import data  # noqa: E402

from genesel.solver import PathConfig, solve_path  # noqa: E402
from tests.group_lasso_reference import softmax  # noqa: E402


def main() -> None:
    parts = data(200, 5000, 5, 4)
    Xtr, ytr = parts["train"]
    res = {}
    for screen in (True, False):
        cfg = PathConfig(variant="spred_linear", n_kappas=20, kappa_ratio=0.01, screen=screen, device="cpu")
        res[screen] = solve_path(Xtr, ytr, *parts["val"], parts["test"][0], 5, cfg, keep_models=True)
    a, b = res[True], res[False]
    ratios = []
    for s in range(4):
        for k in range(len(a.kappas)):
            diff = np.flatnonzero((a.scores[s, k] > 0) != (b.scores[s, k] > 0))
            if not len(diff):
                continue
            for r in (a, b):  # each solution's own float64 gradient norm of the differing genes, over 2 kappa
                m = r.models[(s, k)]
                W = np.zeros((5000, 5))
                W[m["genes"].numpy()] = m["params"]["V"].numpy()
                X, Y = Xtr[s].astype(np.float64), np.eye(5)[ytr[s]]
                G = X.T @ (softmax(X @ W + m["params"]["b_lin"].numpy()) - Y) / len(Y)
                ratios += list(np.linalg.norm(G[diff], axis=1) / (2 * r.kappas[k]))
    ratios = np.array(ratios)
    print("models differing:", sum(((a.scores > 0) != (b.scores > 0)).any(2).ravel()), "of", a.scores.shape[0] * a.scores.shape[1])
    within = np.mean(np.abs(ratios - 1) <= 0.01)
    print(f"differing genes' |g|/2kappa at each solution: min {ratios.min():.4f} max {ratios.max():.4f}, share within 1%: {within:.3f}")


if __name__ == "__main__":
    main()
