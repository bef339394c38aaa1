"""genesel: nonlinear gene selection for microarray data."""

from genesel.dataset import Dataset, read_expression_table
from genesel.errors import DatasetError, DownloadError, GeneselError, NotOnGeoError
from genesel.geo import PAPER_DATASETS, fetch_gds, load_dataset, read_gds
from genesel.preprocess import make_preprocessor
from genesel.simulate import simulate_gds
from genesel.splits import load_splits, make_splits, save_splits, split_indices

__version__ = "0.1.0"

__all__ = [
    "Dataset", "DatasetError", "DownloadError", "GeneselError", "NotOnGeoError", "PAPER_DATASETS",
    "fetch_gds", "load_dataset", "load_splits", "make_preprocessor", "make_splits", "read_expression_table",
    "read_gds", "save_splits", "simulate_gds", "split_indices",
]
