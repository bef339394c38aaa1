"""Figures about genes: volcano, class boxplots of the candidates, gene pairs, the stability path,
and each method's confusion matrix."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from genesel.dataset import Dataset
from genesel.figures import _save, gene_label, plot_note, plt
from genesel.preprocess import display_log2
from genesel.registry import label

TIER_COLOURS = {"all methods": "tab:purple", "nonlinear only": "tab:red", "linear only": "tab:blue",
                "some of each": "tab:orange"}


def class_colours(n: int) -> list:
    return [plt.get_cmap("tab10")(i % 10) for i in range(n)]


def plot_volcano(genes: pd.DataFrame, tiers: pd.DataFrame, dataset: Dataset, path) -> Path:
    """log2 fold change (largest against the reference) against -log10 descriptive moderated p, the
    genes some method found coloured by tier and the top ones named."""
    folds = [c for c in genes.columns if c.startswith("log2fc_")]
    if not folds:
        return plot_note(f"{dataset.name}: no fold change to draw", path)
    values = genes[folds].to_numpy(float)
    pick = np.nanargmax(np.abs(np.nan_to_num(values, nan=0.0)), axis=1)
    fold = values[np.arange(len(values)), pick]
    logp = -np.log10(np.clip(genes.p_descriptive.to_numpy(float), 1e-300, 1))
    fig, ax = plt.subplots(figsize=(7, 5))
    ax.scatter(fold, logp, s=5, color="lightgrey", label="other genes", rasterized=True)
    tier_of = genes.probe_id.map(tiers.set_index("probe_id").tier) if len(tiers) else pd.Series(np.nan, genes.index)
    for tier, colour in TIER_COLOURS.items():
        these = (tier_of == tier).to_numpy()
        if these.any():
            ax.scatter(fold[these], logp[these], s=18, color=colour, label=f"found by {tier} ({these.sum()})")
    named = np.flatnonzero(tier_of.notna().to_numpy())
    for i in named[np.argsort(-logp[named])][:12]:
        ax.annotate(genes.gene_symbol.iloc[i] or genes.probe_id.iloc[i], (fold[i], logp[i]), fontsize=7,
                    xytext=(3, 3), textcoords="offset points")
    what = folds[0][len("log2fc_"):].replace("_vs_", " vs ") if len(folds) == 1 else f"largest class vs {dataset.reference_class}"
    ax.set_xlabel(f"log2 fold change ({what})")
    ax.set_ylabel("-log10 moderated p (limma, all arrays: descriptive)")
    ax.set_title(f"{dataset.name}: volcano plot")
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1))
    return _save(fig, path)


def _log2_of(dataset: Dataset, probes: list[str]) -> np.ndarray:
    index = {p: i for i, p in enumerate(dataset.probe_ids)}
    cols = [index[p] for p in probes]
    return display_log2(dataset.X[:, cols], reference=dataset.X, value_type=dataset.metadata.get("value_type"))


def plot_gene_boxplots(dataset: Dataset, candidates: pd.DataFrame, path, top: int = 12) -> Path:
    """log2 expression of the top candidate genes by class (classes in config order, reference first)."""
    head = candidates.head(top)
    if not len(head):
        return plot_note(f"{dataset.name}: no gene was selected", path)
    X = _log2_of(dataset, head.probe_id.tolist())
    ncol = 4
    nrow = int(np.ceil(len(head) / ncol))
    fig, axes = plt.subplots(nrow, ncol, figsize=(3.2 * ncol, 2.6 * nrow), squeeze=False)
    colours = class_colours(len(dataset.class_names))
    for k, ax in enumerate(axes.flat):
        if k >= len(head):
            ax.axis("off")
            continue
        data = [X[dataset.y == c, k][np.isfinite(X[dataset.y == c, k])] for c in range(len(dataset.class_names))]
        parts = ax.boxplot(data, widths=0.6, showfliers=False, patch_artist=True)
        for patch, colour in zip(parts["boxes"], colours):
            patch.set_facecolor(colour)
            patch.set_alpha(0.5)
        rng = np.random.default_rng(k)
        for c, values in enumerate(data, start=1):
            ax.scatter(c + rng.uniform(-0.15, 0.15, len(values)), values, s=6, color="black", alpha=0.5)
        ax.set_xticks(range(1, len(data) + 1), [f"{n}\n({len(v)})" for n, v in zip(dataset.class_names, data)],
                      fontsize=7)
        row = head.iloc[k]
        ax.set_title(f"{gene_label(row.probe_id, row.gene_symbol or '')}\n{row.tier or ''}", fontsize=8)
        ax.tick_params(axis="y", labelsize=7)
    fig.supylabel("log2 expression")
    fig.suptitle(f"{dataset.name}: top candidate genes by class", y=1.0)
    fig.tight_layout()
    return _save(fig, path)


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
    X = _log2_of(dataset, chosen.probe_id.tolist())
    pairs = [(i, j) for i in range(len(chosen)) for j in range(i + 1, len(chosen))][:n_pairs]
    fig, axes = plt.subplots(1, len(pairs), figsize=(4.2 * len(pairs), 4), squeeze=False)
    colours = class_colours(len(dataset.class_names))
    names = [gene_label(p, s or "") for p, s in zip(chosen.probe_id, chosen.gene_symbol)]
    for ax, (i, j) in zip(axes[0], pairs):
        for c, name in enumerate(dataset.class_names):
            these = dataset.y == c
            ax.scatter(X[these, i], X[these, j], s=10, color=colours[c], alpha=0.7, label=f"{name} ({these.sum()})")
        ax.set_xlabel(names[i], fontsize=8)
        ax.set_ylabel(names[j], fontsize=8)
    axes[0][-1].legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1))
    fig.suptitle(f"{dataset.name}: pairs of genes spred's MLP head uses (log2 expression)")
    fig.tight_layout()
    return _save(fig, path)


def stability_labels(stability, probe_ids, genes: pd.DataFrame, top: int = 15) -> pd.DataFrame:
    """The genes a stability path draws, found by **dataset position** (the order of ``probe_ids``, the
    order of ``stability.probability``) and named by probe id from ``genes`` (in any row order): the
    ``top`` genes by selection probability that some half kept, with ``position``, ``probe_id``, ``label``,
    ``probability`` and ``stable``."""
    probe_ids = np.asarray(probe_ids)
    if len(probe_ids) != len(stability.probability):
        raise ValueError(f"{len(probe_ids)} probe ids for {len(stability.probability)} selection probabilities")
    order = np.argsort(-stability.probability, kind="stable")[:top]
    order = order[stability.probability[order] > 0]
    probes = probe_ids[order]
    symbols = genes.drop_duplicates("probe_id").set_index("probe_id").gene_symbol.reindex(probes).fillna("")
    probability = stability.probability[order]
    return pd.DataFrame({"position": order, "probe_id": probes,
                         "label": [gene_label(p, s) for p, s in zip(probes, symbols)],
                         "probability": probability, "stable": probability >= stability.threshold})


def spread_labels(y, gap: float, low: float = 0.0, high: float = 1.0) -> np.ndarray:
    """Label heights near ``y`` and at least ``gap`` apart (same order as ``y``): from the top (at most
    ``high``) down, each label goes no higher than ``gap`` below the one above; if the lowest falls below
    ``low``, all move up together."""
    y = np.asarray(y, dtype=float)
    order = np.argsort(-y, kind="stable")
    placed = y[order].copy()
    if len(placed):
        placed[0] = min(placed[0], high)
    for i in range(1, len(placed)):
        placed[i] = min(placed[i], placed[i - 1] - gap)
    if len(placed) and placed[-1] < low:
        placed += low - placed[-1]
    out = np.empty_like(placed)
    out[order] = placed
    return out


def plot_stability_path(stability, genes: pd.DataFrame, probe_ids, dataset: str, path, top: int = 15) -> Path:
    """Selection probability of the top genes as each half keeps more genes (q), with the threshold
    and the q the error level allows. Each line is labelled at the right, labels spaced apart; stable
    genes' labels are red and carry the SVG id ``stable-label-{k}`` (others ``other-label-{k}``), so what
    the figure names can be read back from the file."""
    method = stability.method
    drawn = stability_labels(stability, probe_ids, genes, top)
    fig, ax = plt.subplots(figsize=(8.5, 4.5))
    q = np.arange(1, stability.path.shape[0] + 1)
    heights = spread_labels(stability.path[-1, drawn.position], gap=0.055, low=0.0, high=1.02)
    for k, row in enumerate(drawn.itertuples()):
        colour = "tab:red" if row.stable else "grey"
        ax.plot(q, stability.path[:, row.position], color=colour, lw=1.5 if row.stable else 0.8,
                alpha=0.9 if row.stable else 0.6)
        text = ax.annotate(row.label, (q[-1], stability.path[-1, row.position]), xytext=(q[-1] * 1.04 + 0.3, heights[k]),
                           textcoords="data", fontsize=7, va="center", color="tab:red" if row.stable else "dimgrey",
                           arrowprops={"arrowstyle": "-", "color": colour, "lw": 0.5, "alpha": 0.6},
                           annotation_clip=False)
        text.set_gid(f"{'stable' if row.stable else 'other'}-label-{k}")
    ax.axhline(stability.threshold, color="black", ls="--", lw=1, label=f"threshold {stability.threshold}")
    ax.set_xlabel("genes kept per half-sample (q)")
    ax.set_ylabel("selection probability")
    ax.set_ylim(0, 1.02)
    ax.set_title(f"{dataset}: stability path of {label(method)}\n{int(stability.stable.sum())} stable genes (red), "
                 f"expected false ones <= {stability.bound:.2f} ({stability.pairs} complementary pairs)", fontsize=9)
    ax.legend(fontsize=7, loc="lower left")
    return _save(fig, path)


def plot_confusion(predictions: dict[str, pd.DataFrame], class_names: list[str], dataset: str, path) -> Path:
    """Each method's confusion matrix, test arrays summed over splits (rows: true class)."""
    from sklearn.metrics import confusion_matrix

    methods = [m for m, p in predictions.items() if len(p)]
    if not methods:
        return plot_note(f"{dataset}: no predictions", path)
    fig, axes = plt.subplots(1, len(methods), figsize=(2.2 + 1.1 * len(class_names) * len(methods), 3.4),
                             squeeze=False)
    for ax, method in zip(axes[0], methods):
        table = predictions[method]
        matrix = confusion_matrix(table["true"].astype(str), table["predicted"].astype(str), labels=class_names)
        shares = matrix / np.maximum(matrix.sum(axis=1, keepdims=True), 1)
        ax.imshow(shares, vmin=0, vmax=1, cmap="Blues")
        for i in range(len(class_names)):
            for j in range(len(class_names)):
                ax.text(j, i, str(matrix[i, j]), ha="center", va="center", fontsize=7,
                        color="white" if shares[i, j] > 0.6 else "black")
        ax.set_xticks(range(len(class_names)), class_names, rotation=40, ha="right", fontsize=7)
        ax.set_yticks(range(len(class_names)), class_names if ax is axes[0][0] else [], fontsize=7)
        ax.set_title(label(method), fontsize=8)
        ax.set_xlabel("predicted", fontsize=7)
    axes[0][0].set_ylabel("true class", fontsize=7)
    fig.suptitle(f"{dataset}: test arrays of every split (counts; colour = share of the true class)", fontsize=9)
    fig.tight_layout()
    return _save(fig, path)

