"""The figures the ``figures`` verb draws for one dataset: test accuracy by method, top-k retraining, the overlap
of the methods' gene lists and spred's training (its κ path or its SGD grid)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.ticker import NullLocator

from genesel.dataset import Dataset
from genesel.plots import plot_note, plt
from genesel.plots import save as _save
from genesel.registry import label


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
    return _save(fig, path, "One point per split: the method's accuracy on that split's test arrays (box: median and "
                 "quartiles). The dashed line is the accuracy of always guessing the commonest class; a method must "
                 "sit clearly above it to have learnt anything.")


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
    return _save(fig, path, f"How much two methods' top-{top} gene lists agree: genes in both lists divided by genes in "
                 "either (1: the same list, 0: nothing in common).")


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
    return _save(fig, path, "κ is the sparsity strength: larger κ keeps fewer genes. Left: validation accuracy along "
                 "the path, the κ each split chose in black. Right: genes kept; red crosses mark models whose "
                 "optimality (KKT) was not certified (see the glossary: κ, converged).")


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
    return _save(fig, path, "Left: how the chosen model of one split trained (validation accuracy, genes kept). Right: "
                 "every point of that split's grid of κ (sparsity strength) and learning rate at the end; red crosses "
                 "hit the epoch cap (not converged; see the glossary).")


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
    return _save(fig, path, "A fair comparison of gene lists: the same two classifiers retrained on each method's top k "
                 "genes of each split and tested on that split's test arrays. Higher curves: more informative genes "
                 "at the same list length.")


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
