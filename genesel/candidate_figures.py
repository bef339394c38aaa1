"""The figures the ``candidates`` verb draws for one dataset: the volcano plot, the candidate genes' expression by
class (one figure of the top genes, and one small figure per listed gene that a row of the table opens), pairs
of the genes spred's nonlinear head uses, and each method's confusion matrix."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from genesel.compare import TIERS
from genesel.dataset import Dataset
from genesel.plots import class_colours, gene_label, log2_of, plot_note, plt, save
from genesel.registry import label

#: one marker per kind of evidence (shape, never a colour that reads as biology)
TIER_MARKERS = dict(zip(TIERS, ("D", "^", "s", "o")))


def _largest_fold(genes: pd.DataFrame) -> tuple[np.ndarray, list[str]]:
    folds = [c for c in genes.columns if c.startswith("log2fc_")]
    values = genes[folds].to_numpy(float)
    pick = np.nanargmax(np.abs(np.nan_to_num(values, nan=0.0)), axis=1)
    return values[np.arange(len(values)), pick], folds


def plot_volcano(genes: pd.DataFrame, tiers: pd.DataFrame, dataset: Dataset, path) -> Path:
    """log2 fold change (largest against the reference) against -log10 descriptive moderated p; the genes some
    method found drawn dark, their marker saying which kinds of method found them, the top ones named."""
    if not any(c.startswith("log2fc_") for c in genes.columns):
        return plot_note(f"{dataset.name}: no fold change to draw", path)
    fold, folds = _largest_fold(genes)
    logp = -np.log10(np.clip(genes.p_descriptive.to_numpy(float), 1e-300, 1))
    fig, ax = plt.subplots(figsize=(7, 5))
    ax.scatter(fold, logp, s=5, color="lightgrey", label="other genes", rasterized=True)
    tier_of = genes.probe_id.map(tiers.set_index("probe_id").tier) if len(tiers) else pd.Series(np.nan, genes.index)
    for tier, marker in TIER_MARKERS.items():
        these = (tier_of == tier).to_numpy()
        if these.any():
            ax.scatter(fold[these], logp[these], s=22, marker=marker, facecolor="none", edgecolor="black", lw=0.9,
                       label=f"{tier} ({these.sum()})")
    named = np.flatnonzero(tier_of.notna().to_numpy())
    for i in named[np.argsort(-logp[named])][:12]:
        ax.annotate(genes.gene_symbol.fillna("").iloc[i] or genes.probe_id.iloc[i], (fold[i], logp[i]), fontsize=7,
                    xytext=(3, 3), textcoords="offset points")
    what = folds[0][len("log2fc_"):].replace("_vs_", " vs ") if len(folds) == 1 else f"each gene's largest, of every class vs {dataset.reference_class}"
    ax.set_xlabel(f"log2 fold change ({what})")
    ax.set_ylabel("-log10 moderated p (limma, all arrays: descriptive)")
    ax.set_title(f"{dataset.name}: volcano plot")
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1))
    return save(fig, path, "Every gene's log2 fold change against the reference class and its moderated p (limma on all "
                "arrays: descriptive). Black markers: genes some method found, the marker saying which kinds of "
                "method found them. A gene found only by methods that can model interactions may sit low here: "
                "its effect need not be a shift of the mean.")


def _boxes(ax, X: np.ndarray, dataset: Dataset, seed: int) -> None:
    data = [X[dataset.y == c][np.isfinite(X[dataset.y == c])] for c in range(len(dataset.class_names))]
    parts = ax.boxplot(data, widths=0.6, showfliers=False, patch_artist=True)
    for patch, colour in zip(parts["boxes"], class_colours(len(dataset.class_names))):
        patch.set_facecolor(colour)
        patch.set_alpha(0.5)
    rng = np.random.default_rng(seed)
    for c, values in enumerate(data, start=1):  # many arrays: a raster layer keeps the SVG small
        ax.scatter(c + rng.uniform(-0.15, 0.15, len(values)), values, s=6, color="black", alpha=0.5,
                   rasterized=len(values) > 50)
    ax.set_xticks(range(1, len(data) + 1), [f"{n}\n({len(v)})" for n, v in zip(dataset.class_names, data)], fontsize=7)
    ax.tick_params(axis="y", labelsize=7)


def plot_gene_boxplots(dataset: Dataset, candidates: pd.DataFrame, path, top: int = 12) -> Path:
    """log2 expression of the top candidate genes by class (classes in config order, reference first)."""
    head = candidates.head(top)
    if not len(head):
        return plot_note(f"{dataset.name}: no gene was selected", path)
    X = log2_of(dataset, head.probe_id.tolist())
    ncol = 4
    nrow = int(np.ceil(len(head) / ncol))
    fig, axes = plt.subplots(nrow, ncol, figsize=(3.2 * ncol, 2.6 * nrow), squeeze=False)
    for k, ax in enumerate(axes.flat):
        if k >= len(head):
            ax.axis("off")
            continue
        _boxes(ax, X[:, k], dataset, k)
        row = head.iloc[k]
        symbol = row.gene_symbol if isinstance(row.gene_symbol, str) else ""
        tier = row.get("tier")
        ax.set_title(gene_label(row.probe_id, symbol) + (f"\n{tier}" if isinstance(tier, str) and tier else ""),
                     fontsize=7)
    fig.supylabel("log2 expression")
    fig.suptitle(f"{dataset.name}: top candidate genes by class", y=1.0)
    fig.tight_layout()
    return save(fig, path, "log2 expression of the top candidate genes in each class (reference first; array counts "
                "under the class names), every array a dot. The line under a gene says which kinds of method found it.")


def plot_gene_expression(dataset: Dataset, probe: str, symbol: str, path) -> Path:
    """One gene's log2 expression by class: the figure a row of the candidate table opens."""
    fig, ax = plt.subplots(figsize=(1.2 + 0.9 * len(dataset.class_names), 3.0))
    _boxes(ax, log2_of(dataset, [probe])[:, 0], dataset, 0)
    ax.set_title(f"{dataset.name}: {gene_label(probe, symbol)}", fontsize=9)
    ax.set_ylabel("log2 expression", fontsize=8)
    return save(fig, path)


def plot_gene_pairs(dataset: Dataset, genes: pd.DataFrame, path, n_pairs: int = 3) -> Path:
    """Scatter plots of pairs of spred's genes carried by its nonlinear (MLP) head, arrays coloured by
    class: an interaction shows as classes that neither gene separates alone."""
    chosen = genes[genes["rank"].notna()]
    if "head" in chosen:
        nonlinear = chosen[chosen["head"] == "nonlinear"]
        chosen = nonlinear if len(nonlinear) >= 2 else chosen
    chosen = chosen.head(2 * n_pairs)
    if len(chosen) < 2:
        return plot_note(f"{dataset.name}: fewer than two genes selected by spred", path)
    X = log2_of(dataset, chosen.probe_id.tolist())
    pairs = [(i, j) for i in range(len(chosen)) for j in range(i + 1, len(chosen))][:n_pairs]
    fig, axes = plt.subplots(1, len(pairs), figsize=(4.2 * len(pairs), 4), squeeze=False)
    colours = class_colours(len(dataset.class_names))
    names = [gene_label(p, s if isinstance(s, str) else "") for p, s in zip(chosen.probe_id, chosen.gene_symbol)]
    for ax, (i, j) in zip(axes[0], pairs):
        for c, name in enumerate(dataset.class_names):
            these = dataset.y == c
            ax.scatter(X[these, i], X[these, j], s=10, color=colours[c], alpha=0.7, label=f"{name} ({these.sum()})",
                       rasterized=len(dataset.y) > 300)
        ax.set_xlabel(names[i], fontsize=8)
        ax.set_ylabel(names[j], fontsize=8)
    axes[0][-1].legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1))
    fig.suptitle(f"{dataset.name}: pairs of genes spred's MLP head uses (log2 expression)")
    fig.tight_layout()
    return save(fig, path, "Pairs of the genes spred's nonlinear (MLP) head carries, every array a dot coloured by "
                "class. An interaction shows as classes that only the pair separates (for example diagonally "
                "opposite corners). With fewer than two such genes, spred's top genes are shown.")


def plot_confusion(predictions: dict[str, pd.DataFrame], class_names: list[str], dataset: str, path) -> Path:
    """Each method's confusion matrix in a grid, test arrays summed over splits (rows: true class)."""
    from sklearn.metrics import confusion_matrix

    methods = [m for m, p in predictions.items() if len(p)]
    if not methods:
        return plot_note(f"{dataset}: no predictions", path)
    k = len(class_names)
    ncol = min(len(methods), 4 if k <= 4 else 3)
    nrow = int(np.ceil(len(methods) / ncol))
    side = max(2.8, 0.55 * k + 1.4)
    fig, axes = plt.subplots(nrow, ncol, figsize=(side * ncol, side * nrow), squeeze=False)
    for ax in axes.flat[len(methods):]:
        ax.axis("off")
    for ax, method in zip(axes.flat, methods):
        table = predictions[method]
        matrix = confusion_matrix(table["true"].astype(str), table["predicted"].astype(str), labels=class_names)
        shares = matrix / np.maximum(matrix.sum(axis=1, keepdims=True), 1)
        ax.imshow(shares, vmin=0, vmax=1, cmap="Blues")
        for i in range(k):
            for j in range(k):
                ax.text(j, i, str(matrix[i, j]), ha="center", va="center", fontsize=10 if k <= 6 else 8,
                        color="white" if shares[i, j] > 0.6 else "black")
        ax.set_xticks(range(k), class_names, rotation=40, ha="right", fontsize=8)
        ax.set_yticks(range(k), class_names, fontsize=8)
        ax.set_title(label(method), fontsize=9)
        ax.set_xlabel("predicted", fontsize=8)
        ax.set_ylabel("true class", fontsize=8)
    fig.suptitle(f"{dataset}: test arrays of every split (counts; colour = share of the true class)", fontsize=10)
    fig.tight_layout()
    return save(fig, path, "Each method's predictions on the test arrays of every split, summed: rows are the true "
                "class, columns the predicted one; the number is a count of arrays, the colour the share of the row.")
