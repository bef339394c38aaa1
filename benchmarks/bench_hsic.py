"""genesel's block HSIC-Lasso against pyHSICLasso 1.4.2: time, peak memory, same genes.

    python benchmarks/bench_hsic.py                      # 120 x 54,675 and 120 x 10,000
    python benchmarks/bench_hsic.py --sizes 120x5000     # quicker

Each run is a fresh subprocess, so the peak resident memory (ru_maxrss) is that run's own.
"above imports" subtracts the resident memory the process had before the selection started
(interpreter, numpy/torch libraries and the data: about 0.2 GB with torch, 0.17 GB without).
Prints a table; not a test.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time

import numpy as np


def make_data(n: int, p: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Standardised expression-like data with 3 classes and 30 informative genes (10 nonlinear)."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    X = rng.standard_normal((n, p)).astype(np.float32)
    X[:, :20] += 1.2 * (y[:, None] == (np.arange(20) % 3))
    X[:, 20:30] *= np.where(y[:, None] == 2, 2.0, 0.6)
    return (X - X.mean(0)) / X.std(0), y


def run_one(impl: str, n: int, p: int, k: int, device: str) -> dict:
    X, y = make_data(n, p)
    if impl == "pyHSICLasso":
        np.linalg.linalg = np.linalg  # numpy 2 shim for its singular-matrix fallback
        from pyHSICLasso import HSICLasso
    else:
        from genesel.hsic import block_hsic_lasso
    imports_gb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # interpreter + libraries + data
    start = time.perf_counter()  # imports excluded: torch alone takes about 2 s to import
    if impl == "pyHSICLasso":
        model = HSICLasso()
        model.input(X, y)
        model.classification(k, B=20, M=3, n_jobs=1)
        genes = [int(a) for a in model.A]
    else:
        genes = block_hsic_lasso(X, y, k, device=device, memory_budget_gb=2.0).selected.tolist()
    seconds = time.perf_counter() - start
    peak_gb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    extra = {}
    if impl == "genesel" and device != "cpu":
        import torch

        if torch.cuda.is_available():
            extra["gpu_peak_gb"] = torch.cuda.max_memory_allocated() / 2**30
    return {"impl": impl, "n": n, "p": p, "seconds": seconds, "peak_rss_gb": peak_gb, "imports_gb": imports_gb, "genes": genes, **extra}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", nargs="+", default=["120x54675", "120x10000"])
    parser.add_argument("--genes", type=int, default=50)
    parser.add_argument("--device", default="cpu", help="device for genesel (cpu, cuda, auto)")
    parser.add_argument("--only", choices=["genesel", "pyHSICLasso"])
    parser.add_argument("--worker", nargs=4, metavar=("IMPL", "N", "P", "DEVICE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        impl, n, p, device = args.worker
        print(json.dumps(run_one(impl, int(n), int(p), args.genes, device)))
        return
    print(f"{'size':>12} {'impl':>12} {'device':>7} {'seconds':>9} {'peak GB':>8} {'above imports':>14} {'overlap':>8} {'first10':>8}")
    for size in args.sizes:
        n, p = map(int, size.split("x"))
        runs = {}
        for impl in ("pyHSICLasso", "genesel"):
            if args.only and impl != args.only:
                continue
            device = args.device if impl == "genesel" else "cpu"
            out = subprocess.run([sys.executable, __file__, "--genes", str(args.genes), "--worker", impl, str(n), str(p), device],
                                 capture_output=True, text=True, check=True)
            runs[impl] = json.loads(out.stdout.strip().splitlines()[-1])
        ref = runs.get("pyHSICLasso", {}).get("genes")
        for impl, r in runs.items():
            overlap = len(set(r["genes"]) & set(ref)) / max(len(ref), 1) if ref else float("nan")
            same10 = (r["genes"][:10] == ref[:10]) if ref else False
            device = args.device if impl == "genesel" else "cpu"
            peak = r.get("gpu_peak_gb", r["peak_rss_gb"])
            above = r["peak_rss_gb"] - r["imports_gb"]
            print(f"{size:>12} {impl:>12} {device:>7} {r['seconds']:9.1f} {peak:8.2f} {above:14.2f} {overlap:8.0%} {str(same10):>8}")
        if len(runs) == 2:
            a, b = runs["pyHSICLasso"], runs["genesel"]
            print(f"{size:>12} {'ratio':>12} {'':>7} {a['seconds'] / b['seconds']:8.1f}x "
                  f"{b['peak_rss_gb'] / a['peak_rss_gb']:7.2f}x "
                  f"{(b['peak_rss_gb'] - b['imports_gb']) / (a['peak_rss_gb'] - a['imports_gb']):13.2f}x (genesel / pyHSICLasso)")


if __name__ == "__main__":
    main()
