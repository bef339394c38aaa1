"""limma with repeated arrays of one patient: the size of the test with and without the patients as blocks, and
what the blocks change on a real paired series.

    python benchmarks/limma_blocks.py

1. Null genes (no class difference), arrays of one patient correlated by ``rho``, every patient's arrays in one
   class (replicate arrays): the share of genes at p < 0.05, which a test of the right size keeps near 0.05.
2. GSE14520 (../shared/data/geo: tumour and non-tumour liver of 19 patients, three tumours unpaired): the
   consensus correlation, the genes at q < 0.05 and 0.01 with and without blocks, and the time of each fit.
"""

from __future__ import annotations

import time
import warnings
from pathlib import Path

import numpy as np

from genesel.limma import moderated_test
from genesel.ranking import bh

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def null_size(per_class: int, arrays: int, rho: float, genes: int = 5000, seed: int = 1) -> tuple[float, float, float]:
    rng = np.random.default_rng(seed)
    y = np.repeat([0, 1], per_class * arrays)
    patients = np.repeat(np.arange(2 * per_class), arrays)
    sd = np.sqrt(4 * 0.05 / rng.chisquare(4, genes))
    X = (np.sqrt(rho) * rng.standard_normal((2 * per_class, genes))[patients]
         + np.sqrt(1 - rho) * rng.standard_normal((len(y), genes))) * sd
    plain, blocked = moderated_test(X, y), moderated_test(X, y, block=patients.astype(str))
    return float(np.mean(plain.p_value < 0.05)), float(np.mean(blocked.p_value < 0.05)), blocked.block_correlation


def paired_series() -> None:
    from genesel.preprocess import display_log2
    from genesel.sources.design import Design
    from genesel.sources.load import load_dataset

    design = Design("tissue", where={"tissue": ["Liver Tumor Tissue", "Liver Non-Tumor Tissue"]},
                    classes={"Liver Tumor Tissue": "tumour", "Liver Non-Tumor Tissue": "non-tumour"},
                    group="individual", group_pattern=r"^(.*?)[AB]$")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        d = load_dataset(SHARED / "geo" / "GSE14520-GPL571_series_matrix.txt.gz", design, name="GSE14520",
                         min_class_size=3).reorder_classes(["non-tumour"])
    X = display_log2(d.X, value_type=d.metadata.get("value_type"))
    start = time.perf_counter()
    plain = moderated_test(X, d.y, 2)
    middle = time.perf_counter()
    blocked = moderated_test(X, d.y, 2, block=d.groups)
    end = time.perf_counter()
    print(f"\nGSE14520: {d.n_samples} arrays x {d.n_probes} probes, {len(np.unique(d.groups))} patients; consensus "
          f"correlation {blocked.block_correlation:.4f}; fit {middle - start:.1f} s without blocks, {end - middle:.1f} s with")
    print("| q below | without blocks | with blocks | in both |\n|---|---|---|---|")
    qa, qb = bh(plain.p_value), bh(blocked.p_value)
    for level in (0.05, 0.01):
        print(f"| {level} | {(qa < level).sum()} | {(qb < level).sum()} | {((qa < level) & (qb < level)).sum()} |")


def main() -> None:
    print("| patients per class x arrays each | correlation | share p < 0.05, without blocks | with blocks | "
          "consensus correlation |\n|---|---|---|---|---|")
    for per_class, arrays, rho in ((5, 3, 0.5), (10, 2, 0.5), (10, 2, 0.2), (10, 2, 0.0)):
        plain, blocked, consensus = null_size(per_class, arrays, rho)
        print(f"| {per_class} x {arrays} | {rho} | {plain:.3f} | {blocked:.3f} | {consensus:.3f} |")
    paired_series()


if __name__ == "__main__":
    main()
