"""Rates the plan turns cost into seconds with, measured in a few seconds on this machine.

Each kind of work in :mod:`genesel.costs` (an SGD epoch, a proximal step of the κ path, the L1-logistic path, HSIC
kernels, limma's fits, the per-split preprocessing) is timed by running the real code on small random problems of two
sizes: the small one gives the fixed cost of a step (Python, kernel launches), the larger one the work per
second. Torch kinds run on the device the methods would use (CUDA when present). The rates are cached for a
day per machine, device, thread count and torch version (``~/.cache/genesel``), so a dry run does not
measure again; ``measure(..., refresh=True)`` does.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from genesel.costs import Phase

#: bump when what is measured changes, so an old cache is not read
VERSION = 6
CPU_KINDS = ("signal", "l1path", "limma", "preprocess")
DEVICE_KINDS = ("sgd", "sgd_check", "path", "path_linear", "elementwise", "hsic")


@dataclass
class Throughput:
    """Per kind of work: seconds per sequential step and work per second, on the CPU and (``gpu``) on CUDA."""

    device: str  # "cpu" or "cuda": where the torch methods run
    device_name: str
    threads: int
    cpu: dict[str, list[float]]  # kind -> [seconds per step, work per second]
    gpu: dict[str, list[float]] = field(default_factory=dict)
    job_seconds: float = 3.0  # start of a job: interpreter, imports (torch among them), loading
    light_job_seconds: float = 1.5  # the same for a method that never imports torch (limma, L1-logistic)
    memory_bytes: float = 2.0 * 2**30  # the SGD trainer's memory budget on the CPU
    gpu_memory_bytes: float = 0.0  # and on the GPU: 60% of its free memory when the plan ran
    base_bytes: float = 0.4 * 2**30  # a fitting process before its data (torch, scikit-learn imported)
    measured: str = ""
    version: int = VERSION

    def seconds(self, phase: Phase, device: str) -> float:
        table = self.gpu if device == "cuda" and phase.kind in self.gpu else self.cpu
        step, rate = table[phase.kind]
        return phase.steps * step + (phase.work / rate if phase.work else 0.0)

    def describe(self) -> str:
        sgd = self.gpu.get("sgd", self.cpu["sgd"])
        return (f"rates measured {self.measured} on {self.device_name} (CPU threads: {self.threads}): SGD "
                f"{sgd[1] / 1e9:.1f} GFLOP/s and {1e3 * sgd[0]:.2f} ms per epoch; a job starts in {self.job_seconds:.1f} s")


def _timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def _overhead(run: tuple[float, float, float], rate: float) -> list[float]:
    """``[seconds per step, work per second]`` from a small run ``(seconds, steps, work)`` and a rate."""
    seconds, steps, work = run
    return [max((seconds - work / rate) / steps, 0.0), rate]


def _solve(runs: list[tuple[float, float, float]]) -> list[float]:
    """``[seconds per step, work per second]`` from runs ``(seconds, steps, work)``: a small and a large one."""
    (t0, s0, w0), (t1, s1, w1) = runs
    per_work = max((t1 - t0 * s1 / s0) / max(w1 - w0 * s1 / s0, 1e-9), 1e-15)
    per_step = max((t0 - w0 * per_work) / s0, 0.0)
    return [per_step, 1.0 / per_work]


def matmul_rate(device: str, k: int, scale: int = 1) -> float:
    """FLOP per second of the batched products the trainers make: ``(M, n, p) x (M, p, k)`` and its two
    backward products, at a size where the product, not its launch, sets the time (``k``: outputs per gene)."""
    import torch

    M, n, p = 4, 128, 4096 * scale
    X = torch.randn(M, n, p, device=device)
    W = torch.randn(M, p, k, device=device)

    def once():
        z = torch.bmm(X, W)
        torch.bmm(X.transpose(1, 2), z)
        torch.bmm(z, W.transpose(1, 2))
        if device == "cuda":
            torch.cuda.synchronize()

    once()
    reps, seconds = 0, 0.0
    while seconds < 0.2:
        seconds += _timed(once)
        reps += 1
    return reps * 3 * 2 * M * n * p * k / seconds


def _data(n: int, p: int, C: int, seed: int = 0, S: int | None = None):
    rng = np.random.default_rng(seed)
    shape = (n, p) if S is None else (S, n, p)
    X = rng.standard_normal(shape).astype(np.float32)
    y = (np.arange(n) % C) if S is None else np.tile(np.arange(n) % C, (S, 1))
    return X, y


def _sgd(device: str, p: int, n: int, hidden: int, lrs: list, S: int, epochs: int) -> tuple[float, float, float]:
    from genesel.costs import sgd_model_flop
    from genesel.train import TrainConfig, train_grid

    X, y = _data(n, p, 3, 1, S)
    Xv, yv = _data(max(3, n // 3), p, 3, 2, S)
    cfg = TrainConfig(variant="spred", hidden=hidden, lrs=tuple(lrs), kappas=(0.01,), max_epochs=epochs,
                      min_epochs=epochs, prune=False, device=device)
    seconds = _timed(lambda: train_grid(X, y, Xv, yv, None, 3, cfg))
    M = S * len(lrs)
    flop = M * epochs * sgd_model_flop("spred", hidden, n, Xv.shape[1], p, 3, cfg.check_every)
    return seconds, epochs, flop


def elementwise_rate(device: str) -> list[float]:
    """Values per second of in-place elementwise updates (parameter steps, activations): memory-bound work."""
    import torch

    a, b = torch.randn(2**21, device=device), torch.randn(2**21, device=device)

    def once():
        a.mul_(0.9).add_(b)
        if device == "cuda":
            torch.cuda.synchronize()

    once()
    reps, seconds = 0, 0.0
    while seconds < 0.1:
        seconds += _timed(once)
        reps += 1
    return [0.0, reps * 2 * a.numel() / seconds]


def _measure_sgd(device: str, rate: float) -> dict[str, list[float]]:
    _sgd(device, 20, 30, 8, [0.1], 2, 5)  # warm up
    tiny = _sgd(device, 20, 30, 8, [0.1], 1, 40)
    many = _sgd(device, 20, 30, 8, [0.1] * 8, 2, 40)
    check = max((many[0] - tiny[0]) / (40 / 10 * (16 - 1)), 0.0)  # per model per check
    return {"sgd": _overhead((tiny[0] - 4 * check, tiny[1], tiny[2]), rate), "sgd_check": [check, 1.0]}


def _path(device: str, variant: str, p: int, n: int, hidden: int, S: int, iters: int) -> tuple[float, float, float]:
    from genesel.pathcosts import path_step_flop
    from genesel.solver import PathConfig, solve_path

    X, y = _data(n, p, 3, 3, S)
    Xv, yv = _data(max(3, n // 3), p, 3, 4, S)
    cfg = PathConfig(variant=variant, hidden=hidden, n_kappas=2, kappa_ratio=0.5, max_iter=iters, kkt_tol=1e-12,
                     screen=False, direction="down", signal_alpha=None, device=device)
    seconds = _timed(lambda: solve_path(X, y, Xv, yv, None, 3, cfg))
    steps = 3 * iters
    return seconds, steps, steps * path_step_flop(variant, hidden, n, p, 3, S)


def _measure_path(device: str, wide: float, narrow: float) -> dict[str, list[float]]:
    out = {}
    for kind, variant, rate in (("path", "spred", wide), ("path_linear", "spred_linear", narrow)):
        _path(device, variant, 20, 30, 8, 1, 2)
        out[kind] = _overhead(_path(device, variant, 20, 30, 8, 2, 8), rate)
    return out


def _measure_signal() -> list[float]:
    from genesel.signal import signal_pvalue
    from genesel.solver import choose_kappa

    S, K, n, C, B = 5, 10, 40, 3, 300
    rng = np.random.default_rng(5)
    proba = rng.dirichlet(np.ones(C), size=(S, K, n)).astype(np.float32)
    y = np.tile(np.arange(n) % C, (S, 1))
    usable, n_sel, kappas = np.ones((S, K), bool), np.ones((S, K), int), np.linspace(1, 0.1, K)
    seconds = _timed(lambda: signal_pvalue(proba, y, np.full((S, C), 1 / C),
                                           lambda s: choose_kappa(s, usable, n_sel, kappas), B))
    return [0.0, B * S * K * n * (C + 8) / seconds]


def _measure_l1path() -> list[float]:
    from genesel.costs import l1_path_work
    from genesel.l1path import l1_logistic_path

    def run(n: int, p: int, Cs: tuple) -> tuple[float, float, float]:
        X, y = _data(n, p, 3, 6)
        return _timed(lambda: l1_logistic_path(X.astype(np.float64), y, Cs)), len(Cs), l1_path_work(len(Cs), n, p, 3)

    return _solve([run(60, 2000, (0.1,)), run(120, 20000, (0.03, 0.1, 0.3, 1.0))])


def _measure_hsic(device: str) -> list[float]:
    from genesel.costs import TYPICAL
    from genesel.hsic import block_hsic_lasso

    def run(n: int, p: int, k: int) -> tuple[float, float, float]:
        X, y = _data(n, p, 3, 7)
        D = (n // 20) * 3 * 20 * 21 // 2
        seconds = _timed(lambda: block_hsic_lasso(X, y, n_features=k, device=device))
        return seconds, k + 1, p * D * (TYPICAL["hsic_ops"] + 2 * (k + 1))

    run(40, 50, 2)
    return _solve([run(40, 50, 5), run(60, 3000, 10)])


def _measure_limma() -> list[float]:
    from genesel.selectors import LimmaSelector

    def run(n: int, p: int) -> tuple[float, float, float]:
        X, y = _data(n, p, 3, 8)
        Xv, yv = _data(n // 3, p, 3, 9)
        return _timed(lambda: LimmaSelector().fit(X, y, Xv, yv)), 15, n * p

    return _solve([run(30, 200), run(60, 20000)])


def _measure_limma_blocks() -> list[float]:
    """limma's fit with the patients as blocks (duplicateCorrelation, then GLS), beyond the plain fit, per value."""
    from genesel.limma import moderated_test

    def run(n: int, p: int) -> tuple[float, float, float]:
        X, y = _data(n, p, 3, 10)
        block = (np.arange(n) // 2).astype(str)  # pairs of arrays
        X = X.astype(np.float64)
        blocked = _timed(lambda: moderated_test(X, y, 3, block=block))
        return max(blocked - _timed(lambda: moderated_test(X, y, 3)), 1e-6), 1, n * p

    return _solve([run(30, 200), run(120, 20000)])


def _measure_preprocessing() -> list[float]:
    """The real per-split preprocessing (:func:`genesel.preprocess.preprocess_split`: the missing-value filter,
    median imputation, the log2 decision and scaling, fitted on the training arrays, every part transformed), on
    random float32 arrays with 0.2% of values missing; per split and per value of the dataset."""
    from genesel.preprocess import preprocess_split

    def run(n: int, p: int, S: int) -> tuple[float, float, float]:
        X, _ = _data(n, p, 3, 10)
        X[np.random.default_rng(11).random(X.shape) < 0.002] = np.nan
        cut = np.cumsum([int(0.6 * n), int(0.2 * n)])
        parts = dict(zip(("train", "val", "test"), np.split(np.arange(n), cut)))
        return _timed(lambda: [preprocess_split(X, parts) for _ in range(S)]), S, S * n * p

    return _solve([run(30, 2000, 2), run(200, 20000, 2)])


def _job_seconds(light: bool = False) -> float:
    """Start of a fitting job: a fresh interpreter importing what ``genesel select`` imports, torch among it
    unless ``light`` (a scikit-learn method's job imports no torch: 1.3 s against 2.3 s here, 2026-12-04)."""
    code = ("import genesel.experiment, genesel.baselines" if light else
            "import genesel.experiment, genesel.selectors, genesel.solver, genesel.train")
    return _timed(lambda: subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)) + 0.5


def _cache_path(device_name: str, threads: int) -> Path:
    import torch

    root = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "genesel"
    key = f"{platform.node()}-{device_name}-{threads}t-torch{torch.__version__}-v{VERSION}"
    return root / ("throughput-" + "".join(c if c.isalnum() or c in "-._" else "_" for c in key) + ".json")


def measure(device: str = "auto", threads: int | None = None, refresh: bool = False,
            max_age_hours: float = 24.0) -> Throughput:
    """The rates of this machine (cached for ``max_age_hours``): torch kinds on ``device`` (auto: CUDA when
    present), with ``threads`` CPU threads (default torch's)."""
    import torch

    from genesel.costs import memory_budget
    from genesel.device import resolve_device

    dev = resolve_device(device).type
    threads = threads or torch.get_num_threads()
    name = torch.cuda.get_device_name() if dev == "cuda" else "cpu"
    path = _cache_path(name, threads)
    if not refresh and path.exists() and time.time() - path.stat().st_mtime < max_age_hours * 3600:
        try:
            cached = Throughput(**json.loads(path.read_text()))
            if cached.version == VERSION:
                return cached
        except (TypeError, ValueError):
            pass
    from threadpoolctl import threadpool_limits

    saved = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:  # numpy's BLAS on the fitting jobs' threads too (genesel select sets OMP_NUM_THREADS; 2 BLAS threads on
        with threadpool_limits(limits=threads):  # the L1 path's small products ran 4-30x slower under load)
            throughput = _measure_all(dev, name, threads)
    finally:
        torch.set_num_threads(saved)
    throughput.memory_bytes = memory_budget()
    if dev == "cuda":
        throughput.gpu_memory_bytes = 0.6 * torch.cuda.mem_get_info()[0]
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(asdict(throughput)))
    except OSError:  # a read-only home: measure again next time
        pass
    return throughput


def _measure_all(dev: str, name: str, threads: int) -> Throughput:
    cpu = {"signal": _measure_signal(), "l1path": _measure_l1path(), "limma": _measure_limma(),
           "limma_blocks": _measure_limma_blocks(),
           "preprocess": _measure_preprocessing(), "hsic": _measure_hsic("cpu")}
    gpu = {}
    for device, table, scale in (("cpu", cpu, 1), ("cuda", gpu, 8)):
        if device == "cuda" and dev != "cuda":
            continue
        wide, narrow = matmul_rate(device, 256, scale), matmul_rate(device, 4, scale)
        table.update({**_measure_sgd(device, wide), **_measure_path(device, wide, narrow),
                      "elementwise": elementwise_rate(device)})
    if gpu:
        gpu["hsic"] = _measure_hsic("cuda")
    stamp = time.strftime("%Y-%m-%d %H:%M", time.localtime())
    return Throughput(dev, name, threads, cpu, gpu, _job_seconds(), light_job_seconds=_job_seconds(light=True),
                      measured=stamp)
