"""Accuracy tables across datasets and methods (Table-1 style)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from genesel.dataset import Dataset
from genesel.splits import n_splits_in, split_indices


def majority_rates(dataset: Dataset, splits: pd.DataFrame) -> np.ndarray:
    """Per split: test accuracy of always predicting the training set's most common class."""
    rates = []
    for k in range(n_splits_in(splits)):
        parts = split_indices(splits, k, dataset.sample_ids)
        majority = np.bincount(dataset.y[parts["train"]]).argmax()
        rates.append(float(np.mean(dataset.y[parts["test"]] == majority)))
    return np.asarray(rates)


def held_out_ratio(dataset: Dataset, splits: pd.DataFrame) -> float:
    """Test arrays per training array, averaged over the splits (the corrected t-test's ``n_test/n_train``)."""
    ratios = []
    for k in range(n_splits_in(splits)):
        parts = split_indices(splits, k, dataset.sample_ids)
        ratios.append(len(parts["test"]) / len(parts["train"]))
    return float(np.mean(ratios))


def paired_differences(metrics: pd.DataFrame, held_out: dict[str, float], level: float = 0.95) -> pd.DataFrame:
    """Every ordered pair of methods on each dataset, on the splits both could fit: the mean test-accuracy
    difference ``method - versus``, its standard error, a ``level`` confidence interval and a two-sided
    p-value from the corrected resampled t-test (:func:`genesel.signal.corrected_t`). The splits share
    arrays, so a plain paired t-test over them would be far too confident (Nadeau & Bengio 2003); this one
    widens the standard error by ``sqrt(1 + J n_test/n_train)``. The interval is clipped to [-1, 1]. Where
    the difference is the same on every split (common with few splits and a dozen test arrays) there is no
    spread to test it against: p is 1 if it is zero, NaN (no test) otherwise. ``held_out``: per dataset, test
    arrays per training array (:func:`held_out_ratio`)."""
    from scipy.stats import t as student

    from genesel.signal import corrected_t

    fitted = metrics[~metrics["failed"].eq(True)] if "failed" in metrics else metrics
    rows = []
    for dataset, table in fitted.groupby("dataset", sort=False):
        wide = table.pivot_table(index="split", columns="method", values="accuracy", sort=False)
        for method in wide.columns:
            for versus in wide.columns.drop(method):
                both = wide[[method, versus]].dropna()
                row = {"dataset": dataset, "method": method, "versus": versus, "splits": len(both)}
                difference = both[method] - both[versus]
                if len(both) >= 2 and np.ptp(difference) > 0:
                    mean, se, df = corrected_t(difference, held_out[dataset])
                    half = student.ppf(0.5 + level / 2, df) * se
                    row |= {"difference": mean, "se": se, "ci_low": max(-1.0, mean - half),
                            "ci_high": min(1.0, mean + half), "p": float(min(1.0, 2 * student.sf(abs(mean) / se, df)))}
                elif len(both) >= 2 and difference.iloc[0] == 0:  # equal on every split
                    row |= {"difference": 0.0, "se": 0.0, "ci_low": 0.0, "ci_high": 0.0, "p": 1.0}
                elif len(both) >= 1:  # the same difference on every split (or one split): no variance to test
                    row["difference"] = float(difference.mean())
                rows.append(row)
    columns = ["dataset", "method", "versus", "difference", "se", "ci_low", "ci_high", "p", "splits"]
    return pd.DataFrame(rows, columns=columns)


def summarize(metrics: pd.DataFrame, majority: dict[str, float]) -> pd.DataFrame:
    """One row per dataset x method: accuracy, balanced accuracy, genes selected (mean and sd
    over the splits the method could fit), the number of splits, how many of them the method
    could not fit (``failed_splits``), the relaxed refit's accuracy where a method ran with
    ``relaxed: true``, the test over splits of whether its chosen models beat the majority class on
    validation (``signal_p``, spred on its κ path) and the dataset's majority-class rate."""
    metrics = metrics.assign(failed=metrics["failed"].fillna(False).astype(bool) if "failed" in metrics else False)
    grouped = metrics.groupby(["dataset", "method"], sort=False)
    table = grouped.agg(
        splits=("split", "count"),
        accuracy_mean=("accuracy", "mean"), accuracy_sd=("accuracy", "std"),
        balanced_accuracy_mean=("balanced_accuracy", "mean"), balanced_accuracy_sd=("balanced_accuracy", "std"),
        macro_f1_mean=("macro_f1", "mean"),
        genes_selected_mean=("n_selected", "mean"), genes_selected_sd=("n_selected", "std"),
        seconds_mean=("seconds", "mean"),
        converged_share=("converged", "mean"),
        failed_splits=("failed", "sum"),
    ).reset_index()
    if "accuracy_relaxed" in metrics:  # methods run with relaxed: true (NaN for the others)
        relaxed = grouped["accuracy_relaxed"].agg(["mean", "std"]).reset_index()
        relaxed.columns = ["dataset", "method", "accuracy_relaxed_mean", "accuracy_relaxed_sd"]
        table = table.merge(relaxed, on=["dataset", "method"], how="left")
    if "signal_p" in metrics:  # one value per (dataset, method); NaN for methods without the test
        table = table.merge(grouped["signal_p"].first().reset_index(), on=["dataset", "method"], how="left")
    table["majority_rate"] = table["dataset"].map(majority)
    return table


def to_markdown(table: pd.DataFrame) -> str:
    """Dataset x method accuracy table as Markdown (mean ± sd over splits)."""
    lines = ["| dataset | method | accuracy | balanced accuracy | genes selected | majority rate | splits | converged "
             "| signal p |", "|---|---|---|---|---|---|---|---|---|"]
    signal = table["signal_p"] if "signal_p" in table else pd.Series(np.nan, index=table.index)
    for row, p in zip(table.itertuples(), signal):
        lines.append(
            f"| {row.dataset} | {row.method} | {row.accuracy_mean:.3f} ± {row.accuracy_sd:.3f} | "
            f"{row.balanced_accuracy_mean:.3f} ± {row.balanced_accuracy_sd:.3f} | "
            f"{row.genes_selected_mean:.0f} ± {row.genes_selected_sd:.0f} | {row.majority_rate:.3f} | "
            f"{row.splits}{f' ({row.failed_splits} not fitted)' if row.failed_splits else ''} | "
            f"{row.converged_share:.0%} | {'–' if pd.isna(p) else f'{p:.3g}'} |"
        )
    return "\n".join(lines) + "\n"


def run_info(metrics: pd.DataFrame) -> pd.DataFrame:
    """Software versions and the devices the fits ran on, as a two-column table."""
    import platform
    from importlib.metadata import PackageNotFoundError, version

    rows = [("python", platform.python_version())]
    for package in ("genesel", "torch", "numpy", "pandas", "scikit-learn", "scipy", "GEOparse", "snakemake"):
        try:
            rows.append((package, version(package)))
        except PackageNotFoundError:
            rows.append((package, "not installed"))
    for device in sorted(metrics["device"].dropna().unique()):
        rows.append(("device used", str(device)))
    try:
        import torch

        if torch.cuda.is_available():
            rows.append(("GPU", torch.cuda.get_device_name(0)))
    except ImportError:
        pass
    return pd.DataFrame(rows, columns=["item", "value"])
