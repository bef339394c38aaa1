"""Realistic GDS "full" SOFT files with planted informative genes (offline demo and test data).

Expression is drawn on the log2 scale and written as raw, log-normal intensities, like an
Affymetrix GDS with ``value type = count``. Planted genes (all on the ``disease state``
subset type) come in three kinds:

- ``linear``: the mean of one class is shifted (visible to a linear model);
- ``xor``: a pair of genes whose product's sign marks one class; each gene alone has the
  same distribution in every class (no mean or variance shift), so only a model that
  combines them nonlinearly can use them;
- ``variance``: one class has a wider spread with the same mean (a quadratic effect,
  invisible to a linear model).
"""

from __future__ import annotations

import gzip
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from genesel.io import atomic_path, write_table

_CLASS_NAMES = ["normal", "adenoma", "carcinoma", "metastasis", "relapse", "remission", "resistant", "sensitive"]
_SYMBOLS = (
    "TP53 EGFR KRAS BRCA1 BRCA2 MYC CDKN2A PTEN ERBB2 ESR1 PGR AKT1 PIK3CA BRAF NRAS VEGFA CD44 "
    "MKI67 CCND1 CDK4 RB1 SMAD4 APC CTNNB1 NOTCH1 JAK2 STAT3 IL6 TNF CXCL8 GAPDH ACTB TUBB "
    "COL1A1 FN1 VIM CDH1 EPCAM KRT18 KRT8 SOX2 POU5F1 NANOG HIF1A MMP2 MMP9 TIMP1 SPP1 FOS JUN "
    "EGR1 ATF3 HSPA1A HSP90AA1 XBP1 GATA3 FOXA1 AR MET ALK ROS1 KIT PDGFRA FLT3 NPM1 IDH1 IDH2"
).split()
#: the block GEO puts before the first entry of every SOFT file it serves (GDS full files included)
GEO_DATABASE_BLOCK = (
    "^DATABASE = Geo",
    "!Database_name = Gene Expression Omnibus (GEO)",
    "!Database_institute = NCBI NLM NIH",
    "!Database_web_link = http://www.ncbi.nlm.nih.gov/projects/geo",
    "!Database_email = geo@ncbi.nlm.nih.gov",
    "!Database_ref = Nucleic Acids Res. 2005 Jan 1;33 Database Issue:D562-6",
)
_CONTROL_PROBES = [
    "AFFX-BioB-5_at", "AFFX-BioB-M_at", "AFFX-BioB-3_at", "AFFX-BioC-5_at", "AFFX-BioC-3_at",
    "AFFX-BioDn-5_at", "AFFX-BioDn-3_at", "AFFX-CreX-5_at", "AFFX-CreX-3_at", "AFFX-r2-P1-cre-3_at",
    "AFFX-HUMGAPDH/M33197_5_at", "AFFX-HUMGAPDH/M33197_3_at", "AFFX-HSAC07/X00351_5_at",
]


@dataclass
class SimulatedGds:
    """Paths written by :func:`simulate_gds` and the planted truth."""

    soft_path: Path
    truth_path: Path
    truth: pd.DataFrame


def _planted_layout(n_classes: int, n_linear: int, n_xor_pairs: int, n_variance: int) -> list[dict]:
    """Which class each planted gene marks. Linear genes mark the first classes, XOR pairs and
    variance genes the last ones, so that telling the last classes apart needs the nonlinear genes."""
    n_lin_classes = max(1, n_classes - 2)
    planted = []
    for i in range(n_linear):
        planted.append({"kind": "linear", "target_class": i % n_lin_classes})
    for i in range(n_xor_pairs):
        target = n_classes - 2 if n_classes > 2 else 1
        planted.append({"kind": "xor", "target_class": target, "pair": i})
        planted.append({"kind": "xor", "target_class": target, "pair": i})
    for _ in range(n_variance):
        planted.append({"kind": "variance", "target_class": n_classes - 1})
    return planted


def simulate_expression(
    n_samples: int = 120,
    n_probes: int = 2000,
    n_classes: int = 3,
    n_linear: int = 6,
    n_xor_pairs: int = 3,
    n_variance: int = 2,
    effect: float = 2.0,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray, list[dict], np.ndarray]:
    """Log2 expression (samples x probes), class codes, planted layout and planted columns."""
    rng = np.random.default_rng(seed)
    if n_classes < 2:
        raise ValueError("n_classes must be >= 2")
    weights = np.linspace(1.0, 0.7, n_classes)
    counts = np.maximum(3, np.floor(weights / weights.sum() * n_samples).astype(int))
    counts[0] += n_samples - counts.sum()
    y = rng.permutation(np.repeat(np.arange(n_classes), counts))
    mu = rng.uniform(5.0, 12.0, n_probes)
    sd = rng.uniform(0.2, 0.6, n_probes)
    z = rng.standard_normal((n_samples, n_probes))
    # a little shared structure: array-level intensity offsets and a few co-expression modules
    z += 0.3 * rng.standard_normal((n_samples, 1))
    modules = rng.integers(0, 20, n_probes)
    z += 0.5 * rng.standard_normal((n_samples, 20))[:, modules]
    planted = _planted_layout(n_classes, n_linear, n_xor_pairs, n_variance)
    n_controls = min(len(_CONTROL_PROBES), max(0, n_probes // 100))
    columns = rng.choice(np.arange(n_controls, n_probes), size=len(planted), replace=False)
    pair_sign: dict[int, np.ndarray] = {}
    for gene, column in zip(planted, columns):
        in_class = y == gene["target_class"]
        noise = rng.standard_normal(n_samples)
        if gene["kind"] == "linear":
            z[:, column] = noise + effect * np.where(in_class, 1.0, 0.0) - effect * in_class.mean()
        elif gene["kind"] == "xor":
            # first gene: a random sign; second: same sign outside the class, opposite inside
            if gene["pair"] not in pair_sign:
                pair_sign[gene["pair"]] = rng.choice([-1.0, 1.0], n_samples)
                z[:, column] = effect * pair_sign[gene["pair"]] + 0.5 * noise
            else:
                flip = np.where(in_class, -1.0, 1.0)
                z[:, column] = effect * pair_sign[gene["pair"]] * flip + 0.5 * noise
        else:  # variance: same mean, wider spread in the class
            z[:, column] = noise * np.where(in_class, 1.0 + effect, 1.0) / np.sqrt(1.0 + effect)
    log2 = mu + sd * z
    log2[:, :n_controls] = rng.uniform(8.0, 14.0, n_controls) + 0.1 * rng.standard_normal((n_samples, n_controls))
    return log2, y, planted, columns


def simulate_gds(
    out_dir: str | os.PathLike,
    name: str = "GDSSIM1",
    n_samples: int = 120,
    n_probes: int = 2000,
    n_classes: int = 3,
    n_linear: int = 6,
    n_xor_pairs: int = 3,
    n_variance: int = 2,
    effect: float = 2.0,
    missing_rate: float = 0.002,
    seed: int = 0,
    patient_effect: float = 0.0,
) -> SimulatedGds:
    """Write ``{name}_full.soft.gz`` and ``{name}_truth.tsv`` into ``out_dir``.

    The SOFT file has the layout of a GEO GDS full file: GEO's ``^DATABASE`` block, dataset metadata
    (the ``!dataset_*`` lines GEO writes), subsets of four
    types (``disease state`` carries the planted signal; ``individual``, ``gender`` and
    ``other`` are noise), column descriptions, and a table with ``ID_REF``, ``IDENTIFIER``,
    one column per array (raw intensities, ``null`` for missing) and annotation columns.

    With ``patient_effect`` > 0 the ``individual`` subsets are patients: each patient has about
    four arrays of one class and a profile of its own (a normal offset of that standard deviation,
    in log2 units, on every unplanted probe), so a split that puts one patient's arrays in training
    and test leaks. With 0 (the default) ``individual`` is drawn at random, as a noise type.
    """
    if n_classes > len(_CLASS_NAMES):
        raise ValueError(f"n_classes must be <= {len(_CLASS_NAMES)}")
    rng = np.random.default_rng(seed + 1)
    log2, y, planted, columns = simulate_expression(
        n_samples, n_probes, n_classes, n_linear, n_xor_pairs, n_variance, effect, seed
    )
    patients = None
    if patient_effect > 0:
        log2, patients = _add_patients(log2, y, columns, patient_effect, seed)
    probe_ids, symbols = _probe_annotation(n_probes, columns, rng)
    raw = np.round(np.exp2(log2), 1)
    missing = rng.random(raw.shape) < missing_rate
    missing[:, columns] = False  # keep the planted signal intact
    sample_ids = [f"GSM{900000 + seed * 10000 + i}" for i in range(n_samples)]
    class_names = _CLASS_NAMES[:n_classes]

    subsets = _subsets(sample_ids, y, class_names, rng, patients)

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    soft_path = out_dir / f"{name}_full.soft.gz"
    lines = _dataset_header(name, n_classes, n_probes, n_samples, seed) + _subset_lines(name, subsets)
    lines.append(f"^DATASET = {name}")
    label_of = dict(zip(sample_ids, (class_names[k] for k in y)))
    lines += _table_lines(sample_ids, label_of, probe_ids, symbols, raw, missing)
    _write_gzip_atomic(soft_path, "\n".join(lines) + "\n")

    truth = _truth_table(planted, columns, probe_ids, symbols, class_names)
    truth_path = write_table(truth, out_dir / f"{name}_truth.tsv", sep="\t")
    return SimulatedGds(soft_path, truth_path, truth)


def _truth_table(planted: list[dict], columns, probe_ids, symbols, class_names: list[str]) -> pd.DataFrame:
    """One row per planted gene: its probe, symbol, kind, the class it marks and its XOR pair."""
    return pd.DataFrame({
        "probe_id": [probe_ids[c] for c in columns],
        "gene_symbol": [symbols[c] for c in columns],
        "kind": [g["kind"] for g in planted],
        "target_class": [class_names[g["target_class"]] for g in planted],
        "pair": [g.get("pair", "") for g in planted],
    })


def _add_patients(log2: np.ndarray, y: np.ndarray, columns, patient_effect: float, seed: int):
    """Patients of about four arrays of one class, each with a profile of its own (a normal offset
    with SD ``patient_effect`` on every unplanted probe); returns the values and the patient per array."""
    patients = _patients(y, np.random.default_rng(seed + 2))
    offsets = patient_effect * np.random.default_rng(seed + 3).standard_normal((patients.max() + 1, log2.shape[1]))
    offsets[:, columns] = 0.0  # the planted signal stays as simulated
    return log2 + offsets[patients], patients


def _probe_annotation(n_probes: int, columns, rng) -> tuple[list[str], np.ndarray]:
    """Affymetrix-like probe ids (a few AFFX- controls first) and symbols (planted genes: PLANT1, ...)."""
    n_controls = min(len(_CONTROL_PROBES), max(0, n_probes // 100))
    probe_ids = [*_CONTROL_PROBES[:n_controls], *(f"{200000 + j}_at" for j in range(n_controls, n_probes))]
    symbols = np.where(
        rng.random(n_probes) < 0.3,
        rng.choice(_SYMBOLS, n_probes),
        np.asarray([f"LOC{100000 + j}" for j in range(n_probes)]),
    )
    symbols[:n_controls] = ""
    for k, column in enumerate(columns):  # planted genes get distinct symbols
        symbols[column] = f"PLANT{k + 1}"
    return probe_ids, symbols


def _subset_lines(name: str, subsets) -> list[str]:
    lines = []
    for k, (stype, description, members) in enumerate(subsets, start=1):
        lines += [
            f"^SUBSET = {name}_{k}",
            f"!subset_dataset_id = {name}",
            f"!subset_description = {description}",
            f"!subset_sample_id = {','.join(members)}",
            f"!subset_type = {stype}",
        ]
    return lines


def _patients(y: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Patient index per array: about four arrays per patient, every patient within one class."""
    patients = np.empty(len(y), dtype=int)
    first = 0
    for c in np.unique(y):
        members = rng.permutation(np.flatnonzero(y == c))
        n_patients = max(3, len(members) // 4)
        patients[members] = first + np.arange(len(members)) % n_patients
        first += n_patients
    return patients


def _subsets(
    sample_ids: list[str], y: np.ndarray, class_names: list[str], rng, patients: np.ndarray | None = None
) -> list[tuple[str, str, list[str]]]:
    """GDS subsets of four types: ``disease state`` (the planted classes), then ``individual``
    (``patients`` where given), ``gender`` and ``other`` drawn at random (noise types a user could
    pick by mistake)."""
    n_samples = len(sample_ids)
    subsets: list[tuple[str, str, list[str]]] = []
    for c, cname in enumerate(class_names):
        subsets.append(("disease state", cname, [s for s, k in zip(sample_ids, y) if k == c]))
    if patients is None:
        n_individuals = max(2, n_samples // 4)
        individual = rng.integers(0, n_individuals, n_samples)
    else:
        n_individuals, individual = patients.max() + 1, patients
    for i in range(n_individuals):
        members = [s for s, k in zip(sample_ids, individual) if k == i]
        if members:
            subsets.append(("individual", f"patient {i + 1}", members))
    gender = rng.random(n_samples) < 0.5
    subsets.append(("gender", "female", [s for s, g in zip(sample_ids, gender) if g]))
    subsets.append(("gender", "male", [s for s, g in zip(sample_ids, gender) if not g]))
    batch = rng.integers(0, 2, n_samples)
    for b in range(2):
        subsets.append(("other", f"batch {b + 1}", [s for s, k in zip(sample_ids, batch) if k == b]))
    return subsets


def _dataset_header(name: str, n_classes: int, n_probes: int, n_samples: int, seed: int) -> list[str]:
    """GEO's ^DATABASE block and the ``!dataset_*`` lines GEO writes for a GDS."""
    return [
        *GEO_DATABASE_BLOCK,
        f"^DATASET = {name}",
        f"!dataset_title = Simulated expression profiles of {n_classes} disease states (genesel)",
        "!dataset_description = Synthetic GDS written by genesel simulate with planted informative genes; seed "
        f"{seed}. Not biological data.",
        "!dataset_type = Expression profiling by array",
        "!dataset_pubmed_id = 0",
        "!dataset_platform = GPL570",
        "!dataset_platform_organism = Homo sapiens",
        "!dataset_platform_technology_type = in situ oligonucleotide",
        f"!dataset_feature_count = {n_probes}",
        "!dataset_sample_organism = Homo sapiens",
        "!dataset_sample_type = RNA",
        "!dataset_channel_count = 1",
        f"!dataset_sample_count = {n_samples}",
        "!dataset_value_type = count",
        f"!dataset_reference_series = GSE{90000 + seed}",
        "!dataset_order = none",
        "!dataset_update_date = Nov 22 2026",
    ]


def _table_lines(sample_ids, label_of, probe_ids, symbols, raw, missing) -> list[str]:
    """The ``#`` column descriptions and the data table (raw values, ``null`` where missing, GEO's annotation columns)."""
    lines = ["#ID_REF = Platform reference identifier", "#IDENTIFIER = identifier"]
    lines += [f"#{s} = Value for {s}: {label_of[s]} array; src: tissue" for s in sample_ids]
    lines += ["#Gene title = Entrez Gene name", "#Gene symbol = Entrez Gene symbol", "#Gene ID = Entrez Gene identifier"]
    lines.append("!dataset_table_begin")
    lines.append("\t".join(["ID_REF", "IDENTIFIER", *sample_ids, "Gene title", "Gene symbol", "Gene ID"]))
    for j in range(len(probe_ids)):
        cells = ["null" if missing[i, j] else f"{raw[i, j]:.1f}" for i in range(len(sample_ids))]
        lines.append("\t".join([probe_ids[j], symbols[j], *cells, f"{symbols[j]} gene", symbols[j], str(1000 + j)]))
    lines.append("!dataset_table_end")
    return lines


def _write_gzip_atomic(path: Path, text: str) -> None:
    with atomic_path(path) as tmp, open(tmp, "wb") as raw, gzip.GzipFile(filename="", fileobj=raw, mode="wb", mtime=0) as handle:
        handle.write(text.encode("utf-8"))
