"""Figures a biologist reads (matplotlib, SVG) and the comparisons behind them."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
#: text stays text in the SVGs (searchable, smaller, and what a figure names can be read back by a test)
matplotlib.rcParams["svg.fonttype"] = "none"
matplotlib.rcParams["svg.hashsalt"] = "genesel"
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.ticker import NullLocator  # noqa: E402

from genesel.dataset import Dataset  # noqa: E402
from genesel.io import atomic_path  # noqa: E402
from genesel.registry import label  # noqa: E402


def _save(fig, path) -> Path:
    try:
        with atomic_path(path) as tmp:
            fig.savefig(tmp, bbox_inches="tight", format=Path(path).suffix.lstrip("."), metadata={"Date": None})
    finally:
        plt.close(fig)
    return Path(path)


def gene_label(probe: str, symbol: str) -> str:
    return f"{symbol} ({probe})" if symbol else probe


def plot_note(text: str, path) -> Path:
    """A placeholder figure that says why there is nothing to show."""
    fig, ax = plt.subplots(figsize=(5, 1.5))
    ax.text(0.5, 0.5, text, ha="center", va="center")
    ax.axis("off")
    return _save(fig, path)


def plot_accuracy(metrics: pd.DataFrame, majority_rate: float, path) -> Path:
    """Test accuracy per method: a box over splits with every split as a point."""
    methods = list(dict.fromkeys(metrics["method"]))
    fig, ax = plt.subplots(figsize=(1.5 + 1.3 * len(methods), 4.2))
    data = [metrics.loc[metrics.method == m, "accuracy"].to_numpy() for m in methods]
    ax.boxplot(data, widths=0.5, showfliers=False)
    rng = np.random.default_rng(0)
    for i, values in enumerate(data, start=1):
        ax.scatter(i + rng.uniform(-0.12, 0.12, len(values)), values, s=14, alpha=0.7, color="tab:blue", zorder=3)
    ax.axhline(majority_rate, color="grey", ls="--", lw=1, label=f"majority class ({majority_rate:.2f})")
    ax.set_xticks(range(1, len(methods) + 1), [label(m) for m in methods], rotation=30, ha="right")
    ax.set_ylabel("test accuracy (one point per split)")
    ax.set_ylim(-0.02, 1.02)
    ax.set_title(f"{metrics.dataset.iloc[0]}: test accuracy by method")
    ax.legend(loc="lower right", fontsize=8)
    return _save(fig, path)


def plot_selection_frequency(genes: pd.DataFrame, method: str, dataset: str, path, top: int = 30) -> Path:
    """Selection frequency over the splits of the top genes (never a gene no split selected), with their
    stability-selection probability beside it where there is one."""
    head = genes[genes["rank"].notna()].head(top).iloc[::-1]
    if not len(head):
        return plot_note(f"{dataset}: {label(method)} selected no gene in any split", path)
    fig, ax = plt.subplots(figsize=(6.5, 0.26 * len(head) + 1.4))
    rows = np.arange(len(head))
    names = [gene_label(p, s) for p, s in zip(head.probe_id, head.gene_symbol.fillna(""))]
    stability = "selection_probability" in head
    height = 0.4 if stability else 0.8
    ax.barh(rows + (height / 2 if stability else 0), head.selection_frequency, height=height, color="tab:green",
            label="share of splits that selected it")
    if stability:
        ax.barh(rows - height / 2, head.selection_probability, height=height, color="tab:orange",
                label="selection probability (stability selection)")
    ax.set_yticks(rows, names)
    ax.set_xlim(0, 1)
    ax.set_xlabel("share")
    ax.set_title(f"{dataset}: top {len(head)} genes of {label(method)}")
    ax.tick_params(axis="y", labelsize=7)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1))
    return _save(fig, path)


def plot_heatmap(dataset: Dataset, genes: pd.DataFrame, method: str, path, top: int = 30) -> Path:
    """Standardised log2 expression of the top selected genes, arrays grouped by class in the dataset's
    class order (reference first), with a class colour bar and counts."""
    from genesel.preprocess import display_log2

    head = genes[genes["rank"].notna()].head(top)
    if not len(head):
        return plot_note(f"{dataset.name}: {label(method)} selected no gene in any split", path)
    index = {p: i for i, p in enumerate(dataset.probe_ids)}
    cols = [index[p] for p in head.probe_id]
    X = display_log2(dataset.X[:, cols], reference=dataset.X, value_type=dataset.metadata.get("value_type"))
    X = (X - np.nanmean(X, 0)) / (np.nanstd(X, 0) + 1e-12)
    order = np.argsort(dataset.y, kind="stable")
    fig, (bar, ax) = plt.subplots(2, 1, figsize=(7.5, 0.2 * len(cols) + 2.4), sharex=True,
                                  gridspec_kw={"height_ratios": [0.6, max(len(cols), 3)], "hspace": 0.03})
    colours = [plt.get_cmap("tab10")(c % 10) for c in dataset.y[order]]
    bar.imshow([colours], aspect="auto", interpolation="nearest")
    bar.set_yticks([])
    bar.set_title(f"{dataset.name}: top {len(cols)} genes of {label(method)}")
    image = ax.imshow(np.clip(X[order].T, -3, 3), aspect="auto", cmap="RdBu_r", vmin=-3, vmax=3, interpolation="nearest")
    counts = np.bincount(dataset.y, minlength=len(dataset.class_names))
    bounds = np.cumsum(counts)
    for b in bounds[:-1]:
        ax.axvline(b - 0.5, color="black", lw=1)
    centres = (np.concatenate([[0], bounds[:-1]]) + bounds) / 2 - 0.5
    ax.set_xticks(centres, [f"{n} ({k})" for n, k in zip(dataset.class_names, counts)], rotation=20, ha="right", fontsize=8)
    ax.set_yticks(range(len(cols)), [gene_label(p, s) for p, s in zip(head.probe_id, head.gene_symbol.fillna(""))], fontsize=7)
    ax.set_xlabel("arrays, grouped by class (colour bar above)")
    fig.colorbar(image, ax=[bar, ax], label="standardised log2 expression", shrink=0.8)
    return _save(fig, path)


def jaccard_matrix(gene_lists: dict[str, list[str]]) -> pd.DataFrame:
    """Pairwise Jaccard index of gene lists."""
    names = list(gene_lists)
    sets = [set(gene_lists[n]) for n in names]
    values = [[len(a & b) / max(len(a | b), 1) for b in sets] for a in sets]
    return pd.DataFrame(values, index=names, columns=names)


def plot_overlap(matrix: pd.DataFrame, dataset: str, top: int, path) -> Path:
    """Jaccard overlap of the methods' top gene lists."""
    n = len(matrix)
    fig, ax = plt.subplots(figsize=(1.2 * n + 2.5, 1.0 * n + 1.6))
    image = ax.imshow(matrix.to_numpy(), vmin=0, vmax=1, cmap="viridis")
    for i in range(n):
        for j in range(n):
            value = matrix.iat[i, j]
            ax.text(j, i, f"{value:.2f}", ha="center", va="center", color="white" if value < 0.6 else "black", fontsize=8)
    names = [label(m) for m in matrix.index]
    ax.set_xticks(range(n), names, rotation=30, ha="right", fontsize=8)
    ax.set_yticks(range(n), names, fontsize=8)
    ax.set_title(f"{dataset}: overlap of top-{top} gene lists (Jaccard)")
    fig.colorbar(image, ax=ax, shrink=0.8, label="Jaccard index")
    return _save(fig, path)


def plot_path(history: pd.DataFrame, dataset: str, path) -> Path:
    """spred's κ path of every split: validation accuracy and genes kept against κ, the chosen κ
    of each split marked (black), models that missed the KKT certificate marked (red x); splits that fell
    back to the class prior (no signal shown on validation: no κ chosen, no gene) are counted in the title."""
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(13, 4.3))
    fig.subplots_adjust(wspace=0.3)
    for _, run in history.groupby("split"):
        run = run.sort_values("kappa")
        ax1.plot(run.kappa, run.val_acc, color="tab:blue", alpha=0.35, lw=1)
        ax2.plot(run.kappa, run.n_active.clip(lower=0.8), color="tab:red", alpha=0.35, lw=1)
    chosen, failed = history[history.chosen], history[~history.certified & history.val_acc.notna()]
    ax1.scatter(chosen.kappa, chosen.val_acc, color="black", zorder=3, s=18, label="chosen κ of a split")
    ax2.scatter(chosen.kappa, chosen.n_active.clip(lower=0.8), color="black", zorder=3, s=18, label="chosen κ of a split")
    ax2.scatter(failed.kappa, failed.n_active.clip(lower=0.8), marker="x", color="tab:red", zorder=4, s=22,
                label="optimality (KKT) not certified")
    for ax, ylabel in ((ax1, "validation accuracy"), (ax2, "genes kept (non-zero rows)")):
        ax.set_xscale("log")
        ax.invert_xaxis()
        ax.set_xlabel("κ (sparsity strength; the path runs right to left)")
        ax.set_ylabel(ylabel)
        ax.legend(loc="best", fontsize=7)
    ax1.set_ylim(0, 1.02)
    ax2.set_yscale("log")
    _plain_log_ticks(ax2.yaxis)
    fitted = history[history.val_acc.notna()].split.unique()  # splits with a finite model (not failed)
    n_prior = len(set(fitted) - set(chosen.split))
    fallback = f"\n{n_prior} split(s) fell back to the class prior (no signal on validation), no gene kept" if n_prior else ""
    ax1.set_title(f"{dataset}: spred along its κ path, one line per split{fallback}")
    ax2.set_title("genes kept along the path")
    return _save(fig, path)


def plot_training(history: pd.DataFrame, dataset: str, path, split: int = 0) -> Path:
    """spred diagnostics: validation accuracy and active genes per epoch (chosen model of one split),
    and validation accuracy / genes kept across kappa (final models of that split)."""
    fig, (ax1, ax3) = plt.subplots(1, 2, figsize=(13, 4.3))
    fig.subplots_adjust(wspace=0.5)
    chosen = history[(history.split == split) & history.chosen]
    ax1.plot(chosen.epoch, chosen.val_acc, color="tab:blue")
    ax1.set_xlabel("epoch")
    ax1.set_ylabel("validation accuracy", color="tab:blue")
    ax1.set_ylim(0, 1.02)
    ax2 = ax1.twinx()
    ax2.plot(chosen.epoch, chosen.n_active, color="tab:red")
    ax2.set_ylabel("genes above threshold", color="tab:red")
    ax2.set_yscale("log")
    _plain_log_ticks(ax2.yaxis)
    ax1.set_title(f"{dataset}, split {split}: training of the chosen spred model")
    final = history[history.split == split].sort_values("epoch").groupby("grid").last().reset_index()
    for lr, group in final.groupby("lr"):
        group = group.sort_values("kappa")
        ax3.plot(group.kappa, group.val_acc, marker="o", label=f"val. accuracy, lr {lr:g}")
    picked = final[final.grid.isin(chosen.grid)]
    ax3.scatter(picked.kappa, picked.val_acc, marker="*", s=160, color="black", zorder=4, label="chosen model")
    if "converged" in final:
        stopped = final[~final.converged.astype(bool)]
        ax3.scatter(stopped.kappa, stopped.val_acc, marker="x", s=60, color="tab:red", zorder=5,
                    label="hit the epoch cap (not converged)")
    ax3.set_xscale("log")
    kappas = sorted(final.kappa.unique())
    ax3.set_xticks(kappas, [f"{k:g}" for k in kappas])  # exactly the grid's values
    ax3.xaxis.set_minor_locator(NullLocator())
    ax3.set_xlabel("kappa (sparsity strength)")
    ax3.set_ylabel("validation accuracy")
    ax3.set_ylim(0, 1.02)
    ax4 = ax3.twinx()
    for lr, group in final.groupby("lr"):
        group = group.sort_values("kappa")
        ax4.plot(group.kappa, group.n_active, marker="s", ls=":", label=f"genes kept, lr {lr:g}")
    ax4.set_ylabel("genes kept (dotted)")
    ax4.set_yscale("log")
    _plain_log_ticks(ax4.yaxis)
    ax3.set_title("final models of that split across the grid")
    ax3.legend(loc="upper left", bbox_to_anchor=(1.15, 1), fontsize=7)
    return _save(fig, path)


def _plain_log_ticks(axis) -> None:
    """Log-scale ticks written as plain numbers (20, 50, 0.03) rather than powers of ten."""
    from matplotlib.ticker import FuncFormatter, LogLocator

    axis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
    axis.set_minor_locator(LogLocator(subs=()))
    axis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))


def plot_topk(table: pd.DataFrame, dataset: str, path, majority_rate: float | None = None) -> Path:
    """Accuracy of the same classifiers retrained on each method's top-k genes (a split that selected
    fewer than k genes has no point at k), with the majority-class rate."""
    if not len(table):
        return plot_note(f"{dataset}: no method selected enough genes for the top-k curves", path)
    classifiers = list(dict.fromkeys(table.classifier))
    fig, axes = plt.subplots(1, len(classifiers), figsize=(6 * len(classifiers), 4.4), squeeze=False)
    fig.suptitle(f"{dataset}: the same classifiers retrained on each method's top-k genes (per split)")
    for ax, clf in zip(axes[0], classifiers):
        sub = table[table.classifier == clf].groupby(["method", "k"]).accuracy.agg(["mean", "std"]).reset_index()
        for method, group in sub.groupby("method", sort=False):
            ax.errorbar(group.k, group["mean"], yerr=group["std"], marker="o", capsize=3, label=label(method))
        ax.set_xscale("log")
        ks = sorted(table.k.unique())
        ax.set_xticks(ks, [str(k) for k in ks])
        ax.xaxis.set_minor_locator(NullLocator())  # log-axis minor labels (3x10^1 4x10^1) overlap the ticks
        ax.set_xlabel("number of top genes used (k)")
        ax.set_ylabel("test accuracy (mean ± sd over splits)")
        ax.set_ylim(0, 1.02)
        ax.set_title(clf)
        if majority_rate is not None:
            ax.axhline(majority_rate, color="grey", ls="--", lw=1, label=f"majority class ({majority_rate:.2f})")
    axes[0][-1].legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.02, 1))  # beside the data, never on it
    return _save(fig, path)


def comparison_figures(dataset: Dataset, metrics: pd.DataFrame, majority_rate: float, topk: pd.DataFrame,
                       lists: dict[str, list[str]], top: int, spred_history: pd.DataFrame | None, out_dir) -> None:
    """The four figures of one dataset: accuracy by method, top-k retraining, overlap of each
    method's first ``top`` genes (``lists``), and spred's training (its kappa path, or its SGD grid)."""
    out_dir = Path(out_dir)
    plot_accuracy(metrics, majority_rate, out_dir / "accuracy.svg")
    plot_topk(topk, dataset.name, out_dir / "topk.svg", majority_rate)
    plot_overlap(jaccard_matrix(lists), dataset.name, top, out_dir / "overlap.svg")
    training = out_dir / "training_spred.svg"
    if spred_history is None or not len(spred_history):
        plot_note("spred was not run on this dataset", training)
    elif "certified" in spred_history:  # the kappa path
        plot_path(spred_history, dataset.name, training)
    else:  # the paper's SGD grid
        plot_training(spred_history, dataset.name, training)
