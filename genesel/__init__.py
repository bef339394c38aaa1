"""genesel: nonlinear gene selection for microarray data.

The public names below are imported lazily, so ``import genesel`` (and the CLI) stay quick.
"""

import os
from importlib import import_module

# Intel oneMKL's strict conditional numerical reproducibility (its developer guide, "Reproducibility Conditions"):
# PyTorch's CPU matrix products then give bitwise the same result on any number of threads. Without it, some of
# them round differently on 1 and 2 threads, and spred's nonconvex κ path can amplify that into a neighbouring κ
# on some splits of a rerun that gets other threads (benchmarks/RESULTS.md). MKL reads this at its first call, so it
# applies where genesel is imported before any CPU matrix product; a value the user set is kept.
os.environ.setdefault("MKL_CBWR", "AUTO,STRICT")

__version__ = "0.1.0"

_EXPORTS = {
    "Dataset": "genesel.dataset", "read_expression_table": "genesel.sources.table",
    "Design": "genesel.sources.design", "read_series": "genesel.sources.series", "read_h5ad": "genesel.sources.h5ad",
    "read_annotation": "genesel.sources.annotation", "collapse_to_genes": "genesel.sources.annotation",
    "DatasetError": "genesel.errors", "DownloadError": "genesel.errors", "GeneselError": "genesel.errors",
    "NotOnGeoError": "genesel.errors", "DamagedFileError": "genesel.errors",
    "PAPER_DATASETS": "genesel.sources.gds", "load_dataset": "genesel.sources.load", "read_gds": "genesel.sources.gds",
    "fetch_geo": "genesel.sources.download",
    "make_preprocessor": "genesel.preprocess", "simulate_gds": "genesel.simulate",
    "load_splits": "genesel.splits", "make_splits": "genesel.splits", "save_splits": "genesel.splits",
    "split_indices": "genesel.splits",
    "SpredSelector": "genesel.selectors", "HSICLassoSelector": "genesel.baselines", "L1LogisticSelector": "genesel.baselines",
    "TrainConfig": "genesel.train", "train_grid": "genesel.train", "block_hsic_lasso": "genesel.hsic",
    "hadamard_lasso": "genesel.hadamard", "rank_genes": "genesel.ranking",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'genesel' has no attribute {name!r}")
