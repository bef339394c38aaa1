"""Fitting verbs: select (one method on every split) and stability (complementary pairs)."""

from __future__ import annotations

import argparse
import sys


def keep_freed_memory() -> None:
    """Ask glibc's malloc to keep freed memory for reuse rather than return it to the kernel. The κ path frees and
    allocates tensors of the same sizes at every step; by default each one over 32 MB is a fresh ``mmap`` whose
    pages fault in again, which made a third of the path's CPU time the kernel's at GDS scale
    (``benchmarks/RESULTS.md``). PyTorch's CPU tuning guide suggests jemalloc or tcmalloc for the same reason; this
    needs neither. A no-op where the C library is not glibc."""
    import ctypes
    import ctypes.util

    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return
    m_trim_threshold, m_mmap_max = -1, -4  # glibc's malloc.h
    mallopt(m_mmap_max, 0)
    mallopt(m_trim_threshold, 2**31 - 1)


def _fit_inputs(args: argparse.Namespace):
    """select and stability: torch threads set, the dataset, the method's settings and its preprocessing."""
    import json

    from genesel.dataset import Dataset

    if args.threads:  # before the numerical libraries load: torch's, OpenMP's and BLAS's threads
        import os

        for variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
            os.environ[variable] = str(args.threads)
        if "torch" in sys.modules:  # already loaded (main() called in-process); limma and L1 never load it
            sys.modules["torch"].set_num_threads(args.threads)
    keep_freed_memory()
    params = json.loads(args.params) if args.params else {}
    return Dataset.load(args.dataset), params, params.pop("preprocess", {})


def _cmd_select(args: argparse.Namespace) -> None:
    from genesel.experiment import run_method
    from genesel.preprocess import stack_splits
    from genesel.splits import load_splits

    dataset, params, preprocess = _fit_inputs(args)
    stacked = stack_splits(dataset, load_splits(args.splits), **preprocess)
    result = run_method(args.method, dataset, stacked, params, device=args.device, seed=args.seed)
    result.save(args.out)
    m = result.metrics
    print(f"{dataset.name} {args.method}: test accuracy {m.accuracy.mean():.3f} +- {m.accuracy.std():.3f}, "
          f"{m.n_selected.mean():.0f} genes selected on average, device {m.device.iloc[0]}")


def _cmd_stability(args: argparse.Namespace) -> None:
    from genesel.results import MethodResult
    from genesel.stability import run_stability

    dataset, params, preprocess = _fit_inputs(args)
    result = run_stability(args.method, dataset, params, MethodResult.load(args.fit).metrics, preprocess,
                           pairs=args.pairs, threshold=args.threshold, max_false=args.max_false,
                           device=args.device, seed=args.seed)
    result.save(args.out)
    info = result.summary()
    print(f"{dataset.name} {args.method}: {info['n_stable']} stable genes at selection probability >= "
          f"{info['threshold']} ({info['pairs']} complementary pairs, q = {info['q']}); expected false "
          f"selections <= {info['bound']:.2f}")


def add_fit_verbs(sub) -> None:
    """select: one method on every split."""
    from genesel.registry import METHODS

    p = sub.add_parser("select", help="fit one method on every split of a prepared dataset")
    p.add_argument("--method", required=True, choices=METHODS)
    p.add_argument("--dataset", required=True, help="dataset.npz written by prepare")
    p.add_argument("--splits", required=True, help="splits.tsv written by prepare")
    p.add_argument("--params", default="", help="the method's settings as JSON")
    p.add_argument("--device", default="auto", help="auto (CUDA when present), cpu or cuda")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=0, help="CPU threads for torch, OpenMP and BLAS (0: their default)")
    p.add_argument("--out", required=True, help="fit .npz; per-split tables are written beside it")
    p.set_defaults(func=_cmd_select)

    p = sub.add_parser("stability", help="stability selection (complementary pairs) of one fitted method")
    p.add_argument("--method", required=True, choices=METHODS)
    p.add_argument("--dataset", required=True, help="dataset.npz written by prepare")
    p.add_argument("--fit", required=True, help="the method's fit .npz (its chosen regularisation is reused)")
    p.add_argument("--params", default="", help="the method's settings as JSON")
    p.add_argument("--pairs", type=int, default=25, help="complementary pairs of halves (default: %(default)s)")
    p.add_argument("--threshold", type=float, default=0.75, help="selection probability for stable (0.5, 1]")
    p.add_argument("--max-false", type=float, default=1.0,
                   help="error level: the expected number of false stable genes is bounded by this")
    p.add_argument("--device", default="auto")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=0)
    p.add_argument("--out", required=True, help="stability .npz to write")
    p.set_defaults(func=_cmd_stability)
