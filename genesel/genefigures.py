"""The figures the ``gene-figures`` verb draws for one method on one dataset: its genes' selection frequency,
their expression heatmap and the stability path."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from genesel.dataset import Dataset
from genesel.plots import gene_label, log2_of, plot_note, plt, save
from genesel.registry import label


def plot_selection_frequency(genes: pd.DataFrame, method: str, dataset: str, path, top: int = 30) -> Path:
    """Selection frequency over the splits of the top ranked genes (never one without a rank), with their
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
    return save(fig, path, "Green: the share of splits whose training arrays selected the gene. Orange: its selection "
                "probability under stability selection (stable genes reach the threshold of the stability path). "
                "Genes without a rank (no split selected them, or no half kept them) are never drawn.")


def plot_heatmap(dataset: Dataset, genes: pd.DataFrame, method: str, path, top: int = 30) -> Path:
    """Standardised log2 expression of the top selected genes, arrays grouped by class in the dataset's
    class order (reference first), with a class colour bar and counts."""
    head = genes[genes["rank"].notna()].head(top)
    if not len(head):
        return plot_note(f"{dataset.name}: {label(method)} selected no gene in any split", path)
    cols = head.probe_id.tolist()
    X = log2_of(dataset, cols)
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
    return save(fig, path, "Each gene standardised: red above its average, blue below. Blocks that follow the class "
                "boundaries show genes whose level differs between classes; genes without them may act nonlinearly "
                "or together with others.")


CAPTION_STABILITY = ("Stability selection: the arrays are halved again and again (complementary pairs, patients kept "
                     "whole); a gene's selection probability is the share of halves that kept it among their q best. "
                     "Red lines and labels: stable genes (at or above the dashed threshold), the ones to validate. "
                     "The title gives the expected number of false stable genes (glossary: stable, bound).")


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
    return save(fig, path, CAPTION_STABILITY)


def gene_figures(dataset: Dataset, genes: pd.DataFrame, method: str, stability, out: dict) -> None:
    """The ``gene-figures`` verb: ``out`` maps ``frequency``, ``heatmap`` and ``stability`` to paths (the
    stability path only with a ``stability`` result)."""
    plot_selection_frequency(genes, method, dataset.name, out["frequency"])
    plot_heatmap(dataset, genes, method, out["heatmap"])
    if stability is not None:
        plot_stability_path(stability, genes, dataset.probe_ids, dataset.name, out["stability"])
