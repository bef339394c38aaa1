"""A methods paragraph a user can paste into a paper, written from the run: its config, its datasets, its
stability selection and the software versions it ran with (part of the ``overview`` verb)."""

from __future__ import annotations

import json

import pandas as pd

from genesel.dataset import Dataset
from genesel.registry import label

#: what each method is, with its reference (one place; the landing page and the paragraph read it)
CITATIONS = {
    "spred": ("spred (Eq. 8: a linear and a ReLU MLP head sharing one Hadamard-product weight per gene; "
              "Ziyin & Wang, ICML 2023), solved as the group lasso it equals at its minima"),
    "spred_linear": "spred with its linear head only (Ziyin & Wang, ICML 2023), an L1-penalised linear model",
    "mlp_wd": "an MLP with weight decay (the spred paper's baseline)",
    "mlp_l1": "an MLP with a naive L1 penalty on its first layer, by subgradient (the spred paper's baseline)",
    "hsic_lasso": ("HSIC-Lasso (Yamada et al., Neural Computation 2014; block version, Climente-González et al., "
                   "Bioinformatics 2019) followed by an RBF support vector machine"),
    "l1_logistic": ("L1-penalised multinomial logistic regression (scikit-learn's objective; solved along a path of C with "
                    "working sets and a KKT check over every gene, as in glmnet: Friedman et al., J. Stat. Softw. 2010)"),
    "limma": ("the top genes by limma's moderated t/F statistic (Smyth 2004; Ritchie et al., Nucleic Acids Res. "
              "2015) followed by an RBF support vector machine"),
}
SOFTWARE = ("python", "genesel", "torch", "numpy", "scikit-learn", "scipy", "pandas", "snakemake")


def _settings(settings: dict) -> str:
    shown = {k: v for k, v in settings.items() if k not in ("enabled", "mem_mb", "memory_budget_gb")}
    if not shown:
        return "default settings"
    return "; ".join(f"{k} = {json.dumps(v)}" for k, v in sorted(shown.items()))


def _data(datasets: list[Dataset], config: dict) -> str:
    parts = []
    for d in datasets:
        settings = config.get("datasets", {}).get(d.name, {})
        label_ = settings.get("label") or {"type": settings.get("label_type", "disease state")}
        classes = ", ".join(f"{c} (n = {n})" for c, n in d.class_counts().items())
        group = settings.get("group")  # the key that grouped the arrays: the reader's (also when found unasked)
        group = d.metadata.get("group") or (group.get("key") if isinstance(group, dict) else group)
        by = f" (by '{group}')" if group and group not in ("auto", "none") else ""
        grouped = f", arrays of one patient kept together{by}" if d.grouped else ""
        made = "simulated by genesel simulate with planted genes, not biological data; " if d.simulated else ""
        parts.append(f"{d.name} ({made}{d.n_samples} arrays, {d.n_probes} probes; classes from "
                     f"'{next(iter(label_.values()))}': {classes}; reference {d.reference_class}{grouped})")
    return "; ".join(parts)


def _blocks(datasets: list[Dataset]) -> str:
    """How limma treated repeated arrays of one patient, where a dataset has them, with each dataset's
    consensus correlation."""
    from genesel.ranking import patient_correlation

    grouped = [f"{d.name} ({patient_correlation(d):.2f})" for d in datasets if d.grouped]
    if not grouped:
        return ""
    return (f"; where patients gave several arrays, limma treated each patient as a block of correlated arrays "
            f"(duplicateCorrelation's consensus correlation over all arrays: {', '.join(grouped)}; then generalised "
            "least squares; Smyth, Michaud & Scott 2005), as did the limma method's selection and the held-out tests")


def methods_paragraph(config: dict, datasets: list[Dataset], stability: pd.DataFrame, versions: pd.DataFrame) -> str:
    """One paragraph of plain text: data, preprocessing, splits, each method with its settings and citation,
    stability selection with its bound, software versions and seeds. ``stability``: one row per dataset and
    method (``dataset``, ``method``, ``q``, ``bound``); ``versions``: run_info's ``item`` / ``value`` table."""
    splits = config.get("splits", {})
    preprocess = config.get("preprocess", {})
    log2 = {"auto": "log2-transformed where the values were not already on a log scale (GEO2R's rule)",
            True: "log2-transformed", False: "used as given (no log2)"}.get(preprocess.get("log2", "auto"), "")
    methods = [m for m, s in config.get("methods", {}).items() if (s or {}).get("enabled", True)]
    described = "; ".join(f"{label(m)}: {CITATIONS.get(m, m)} ({_settings(config['methods'][m] or {})})"
                          for m in methods)
    sel = config.get("stability", {})
    bounds = ""
    if len(stability):
        worst = stability.loc[stability.bound.idxmax()]
        bounds = (f" (q = {int(stability.q.min())}" + (f" to {int(stability.q.max())}" if stability.q.nunique() > 1 else "")
                  + f" genes per half; the realised bound was at most {worst.bound:.2f} false stable genes per "
                  "method and dataset)")
    version = dict(zip(versions["item"], versions["value"])) if len(versions) else {}
    software = ", ".join(f"{k} {version[k]}" for k in SOFTWARE if k in version)
    devices = sorted(set(versions.loc[versions["item"] == "device used", "value"])) if len(versions) else []
    return (
        f"Data. {_data(datasets, config)}. Each array carries one class label. "
        f"Preprocessing. Expression values were {log2}; probes missing in more than "
        f"{preprocess.get('max_missing', 0.5):.0%} of the training arrays were dropped, missing values imputed by the "
        "training median and each gene standardised, all fitted on the training arrays of each split only"
        + ("; Affymetrix control probes (AFFX-) were removed" if preprocess.get("exclude_controls", True) else "")
        + f". Splits. {splits.get('n', 20)} random stratified 60/20/20 train/validation/test splits (seed "
        f"{splits.get('seed', 0)}), shared by every method; hyperparameters were chosen on the validation arrays and "
        f"accuracy measured on the test arrays. Methods. {described}. Stability selection. Complementary-pairs "
        f"stability selection (Meinshausen & Bühlmann 2010; Shah & Samworth 2013) with {sel.get('pairs', 25)} pairs "
        f"of half-samples at each method's chosen regularisation; a gene is stable at selection probability >= "
        f"{sel.get('threshold', 0.75)}, with the number of genes per half set so that the expected number of false "
        f"stable genes is at most {sel.get('max_false', 1.0)}{bounds}. Statistics. Fold changes and moderated "
        "p-values are limma's (Smyth 2004) on all arrays, Benjamini-Hochberg adjusted (descriptive)"
        + _blocks(datasets) + "; held-out "
        "p-values are multi-split p-values (Meinshausen, Meier & Bühlmann 2009) of a mean-shift test on each "
        "split's test arrays. Methods were compared with the corrected resampled t-test (Nadeau & Bengio 2003), "
        f"Holm-adjusted. Software. {software}" + (f"; run on {', '.join(devices)}" if devices else "")
        + f"; random seed {splits.get('seed', 0)} for splits, halves and model initialisation."
    )
