"""The MLP baselines' SGD trainer at GDS scale: seconds per model-epoch, measured, against what the cost plan's
SGD rate on this device predicts for the same models (genesel.throughput, rates measured or cached today).

    python benchmarks/bench_mlp.py                      # 120 x 54,675, hidden 4096, 20 splits x 2 kappa, 30 epochs
    python benchmarks/bench_mlp.py --probes 5000 --hidden 512 --epochs 20

A measurement, printed; not a test. The plan's figure is the sgd kind's cost of these epochs (their FLOP by
``costs.sgd_model_flop``, one sequential step per epoch) per model-epoch; every model runs ``--epochs`` epochs
here (min_epochs is raised so nothing stops early). A one-epoch run
is timed first and subtracted: at GDS scale initialising the models costs as much as dozens of epochs."""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch
from bench_spred import _sync, data, peak_memory_gb  # benchmarks/ is on sys.path when run as a script

from genesel.costs import Phase, sgd_model_flop
from genesel.device import resolve_device
from genesel.throughput import measure
from genesel.train import TrainConfig, train_grid


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n-train", type=int, default=120)
    parser.add_argument("--probes", type=int, default=54675)
    parser.add_argument("--hidden", type=int, default=4096)
    parser.add_argument("--classes", type=int, default=5)
    parser.add_argument("--splits", type=int, default=20)
    parser.add_argument("--kappas", type=float, nargs="+", default=[0.01, 0.001])
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--method", default="mlp_wd", choices=["mlp_wd", "mlp_l1"])
    parser.add_argument("--device", default="auto")
    args = parser.parse_args()
    device = resolve_device(args.device)
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else f"cpu x{torch.get_num_threads()} threads"
    parts = data(int(round(args.n_train / 0.6)), args.probes, args.classes, args.splits)

    def timed(epochs: int):
        config = TrainConfig(variant=args.method, hidden=args.hidden, lrs=(0.1,), kappas=tuple(args.kappas),
                             max_epochs=epochs, min_epochs=epochs + 1, device=str(device))
        _sync(device)
        start = time.perf_counter()
        result = train_grid(*parts["train"], *parts["val"], parts["test"][0], args.classes, config)
        _sync(device)
        return time.perf_counter() - start, result, config

    # a run of one epoch holds the fixed costs (initialisation, data to the device, test predictions): the
    # difference is the epochs' own cost
    timed(1)  # warm-up (first calls: allocator, kernels), not counted
    fixed, _, _ = timed(1)
    wall, result, config = timed(args.epochs)
    model_epochs = int(result.epochs.sum())
    M = result.epochs.size
    per = (wall - fixed) / max(model_epochs - M, 1)
    n_va = parts["val"][0].shape[1]
    flop = sgd_model_flop(args.method, args.hidden, args.n_train, n_va, args.probes, args.classes, config.check_every)
    print(f"device: {name}; {args.method}, hidden {args.hidden}, {args.n_train} x {args.probes}, {args.classes} classes, "
          f"{args.splits} splits x {len(args.kappas)} kappa, {args.epochs} epochs")
    print(f"{wall:.1f} s wall for {model_epochs} model-epochs, of which {fixed:.1f} s fixed (a 1-epoch run): "
          f"{per * 1e3:.2f} ms per model-epoch, {flop / per / 1e12:.1f} TFLOP/s (the plan's FLOP count), "
          f"peak {peak_memory_gb(device):.1f} GB")
    plan = measure(str(device)).seconds(Phase("sgd", args.epochs - 1, (model_epochs - M) * flop), device.type)
    print(f"the plan's SGD rate predicts {plan / max(model_epochs - M, 1) * 1e3:.2f} ms per model-epoch "
          f"(measured / predicted {per * max(model_epochs - M, 1) / plan:.2f})")
    print(f"the paper's grid (49 points x 20 splits x 3000 epochs) at this rate: {per * 980 * 3000 / 3600:.1f} h per set, "
          f"plus {fixed / M * 980 / 60:.1f} min of fixed cost")
    print(f"per model-epoch FLOP {flop / 1e9:.1f} G; test accuracy {np.nanmean(result.accuracy(parts['test'][1])):.3f}")


if __name__ == "__main__":
    main()
