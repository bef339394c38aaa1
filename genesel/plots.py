"""What every report figure shares: matplotlib set up for SVG (text kept as text), saving atomically with
the caption drawn under the figure, gene labels, placeholder figures and class colours.

Which module draws a figure says which ``genesel`` verb draws it: :mod:`genesel.figures` (``figures``),
:mod:`genesel.genefigures` (``gene-figures``), :mod:`genesel.candidate_figures` (``candidates``)."""

from __future__ import annotations

import textwrap
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
#: text stays text in the SVGs (searchable, smaller, and what a figure names can be read back by a test)
matplotlib.rcParams["svg.fonttype"] = "none"
matplotlib.rcParams["svg.hashsalt"] = "genesel"
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from genesel.dataset import Dataset  # noqa: E402
from genesel.io import atomic_path  # noqa: E402

#: characters per caption line per inch of figure width
_CHARS_PER_INCH = 15


def save(fig, path, caption: str = "") -> Path:
    """Write ``fig`` to ``path`` (format from the suffix, atomically), with ``caption`` under it."""
    if caption:
        add_caption(fig, caption)
    try:
        with atomic_path(path) as tmp:
            fig.savefig(tmp, bbox_inches="tight", format=Path(path).suffix.lstrip("."), metadata={"Date": None})
    finally:
        plt.close(fig)
    return Path(path)


def add_caption(fig, caption: str):
    """``caption``, wrapped to the figure's width, under everything drawn: rotated tick labels reach below the
    figure's own edge, and a caption at its edge overprinted them (the accuracy figure's method names)."""
    width = fig.get_size_inches()[0]
    text = "\n".join(textwrap.wrap(caption, max(40, int(_CHARS_PER_INCH * width))))
    bottom = fig.get_tightbbox(fig.canvas.get_renderer()).y0 / fig.get_size_inches()[1]
    return fig.text(0.01, min(0.0, bottom) - 0.01, text, ha="left", va="top", fontsize=8, color="#333333",
                    gid="caption", transform=fig.transFigure)


def gene_label(probe: str, symbol: str) -> str:
    return f"{symbol} ({probe})" if symbol else probe


def plot_note(text: str, path) -> Path:
    """A placeholder figure that says why there is nothing to show."""
    fig, ax = plt.subplots(figsize=(5, 1.5))
    ax.text(0.5, 0.5, text, ha="center", va="center")
    ax.axis("off")
    return save(fig, path)


def class_colours(n: int) -> list:
    return [plt.get_cmap("tab10")(i % 10) for i in range(n)]


def log2_of(dataset: Dataset, probes: list[str]) -> np.ndarray:
    """log2 expression (as GEO2R shows it) of ``probes``, arrays in rows."""
    from genesel.preprocess import display_log2

    index = {p: i for i, p in enumerate(dataset.probe_ids)}
    cols = [index[p] for p in probes]
    return display_log2(dataset.X[:, cols], reference=dataset.X, value_type=dataset.metadata.get("value_type"))
