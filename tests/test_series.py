"""GEO Series: series matrix and family SOFT files, platform annotation, designs and their faults.

Real GEO downloads from ../shared/data/geo; malformed files are made from them line by line.
"""

from __future__ import annotations

import gzip
import re

import numpy as np
import pandas as pd
import pytest

from genesel.errors import DatasetError, NotOnGeoError
from genesel.sources.annotation import annotate, collapse_to_genes, read_annotation
from genesel.sources.design import Design
from genesel.sources.download import fetch_annotation, fetch_geo
from genesel.sources.gds import read_gds
from genesel.sources.series import parse_series, read_series
from genesel.splits import make_splits
from tests.conftest import shared_file

HCC = "geo/GSE14520-GPL571_series_matrix.txt.gz"
OVARIAN = "geo/GSE19161_series_matrix.txt.gz"
OVARIAN_FAMILY = "geo/GSE19161_family.soft.gz"
#: tumour (A) and non-tumour (B) arrays of one patient: "Individual: 03-212A" / "03-212B"
PAIRED = Design("tissue", where={"tissue": ["Liver Tumor Tissue", "Liver Non-Tumor Tissue"]},
                classes={"Liver Tumor Tissue": "tumour", "Liver Non-Tumor Tissue": "non-tumour"},
                group="individual", group_pattern=r"^(.*?)[AB]$")


def test_series_matrix_characteristics_by_tag():
    series = parse_series(shared_file(HCC))
    assert series.values.shape == (22268, 43)
    assert series.metadata["platform"] == "GPL571"
    keys = series.characteristics()
    assert list(keys) == ["title", "source_name", "tissue", "disease state", "individual"]
    assert keys["tissue"] == {"Liver Tumor Tissue": 22, "Liver Non-Tumor Tissue": 19,
                              "Liver tissue of six healthy donors": 1, "Liver tissue of six healthy liver donors": 1}
    assert series.samples["disease state"].isna().sum() == 2  # "" cells are missing, not a class
    assert series.values.loc["1007_s_at", "GSM362947"] == pytest.approx(6.471)


def test_paired_design_groups_patients_and_splits_keep_them_together():
    data = read_series(shared_file(HCC), PAIRED)
    assert data.class_counts() == {"non-tumour": 19, "tumour": 22}
    assert data.grouped and len(set(data.groups)) == 22
    pair = data.groups[list(data.sample_ids).index("GSM362950")]  # 03-212A
    assert pair == "03-212" and data.groups[list(data.sample_ids).index("GSM362951")] == pair
    splits = make_splits(data.sample_ids, data.y, n_splits=20, seed=0, groups=data.groups)
    for k in range(20):
        part = splits[f"split_{k:02d}"]
        used = part != "unused"
        assert (part[used].groupby(splits["group"][used]).nunique() == 1).all()


def test_merged_donor_pool_spellings_and_too_small_classes():
    design = Design("tissue", classes={"Liver tissue of six healthy donors": "donor pool",
                                       "Liver tissue of six healthy liver donors": "donor pool"})
    with pytest.warns(UserWarning, match=r"fewer than 3 samples: 'donor pool' \(2\)"):
        data = read_series(shared_file(HCC), design)
    assert "donor pool" not in data.class_names and data.n_samples == 41


def test_series_matrix_and_family_soft_agree():
    design = Design("event indicator")
    matrix = read_series(shared_file(OVARIAN), design)
    family = read_series(shared_file(OVARIAN_FAMILY), design)
    assert matrix.class_counts() == family.class_counts() == {"censored": 29, "event": 32}
    assert (matrix.sample_ids == family.sample_ids).all()
    order = pd.Index(family.probe_ids).get_indexer(matrix.probe_ids)
    assert (order >= 0).all()
    np.testing.assert_allclose(matrix.X, family.X[:, order])


def test_platform_annotation_keeps_every_symbol():
    annotation = read_annotation(shared_file("geo/GPL96.txt.gz"), "GSE14520")
    assert annotation.loc["1007_s_at", "gene_symbol"] == "DDR1"
    assert annotation.loc["1007_s_at", "entrez_id"] == "780"
    assert annotation["gene_symbol"].str.contains(" /// ").any()
    data = annotate(read_series(shared_file(HCC), PAIRED), annotation)  # GPL571 probes are a subset of GPL96
    assert (data.gene_symbols != "").mean() > 0.9
    collapsed = collapse_to_genes(data, "max_variance")
    single = [s for s in collapsed.gene_symbols if s and "///" not in s]
    assert len(single) == len(set(single)) and collapsed.n_probes < data.n_probes


def _rewrite(src, dst, edit):
    """A copy of a real gzip text file with ``edit(lines) -> lines`` applied."""
    with gzip.open(src, "rt", encoding="utf-8") as handle:
        lines = handle.read().splitlines()
    with gzip.open(dst, "wt", encoding="utf-8") as handle:
        handle.write("\n".join(edit(lines)) + "\n")
    return dst


def _drop_sample_column(lines):
    out = []
    for line in lines:
        if line.startswith('"ID_REF"') or line.startswith('"'):
            line = "\t".join(line.split("\t")[:-1])
        out.append(line)
    return out


MALFORMED = {
    "no table": (lambda lines: [x for x in lines if "series_matrix_table" not in x and not x.startswith('"')],
                 "has no expression table"),
    "truncated table": (lambda lines: lines[:200], "ends inside the expression table"),
    "header only": (lambda lines: [x.replace('"658"', '"0"') if x.startswith("!Sample_data_row_count") else x
                                   for x in lines if not x.startswith('"') or x.startswith('"ID_REF"')],
                    "no probe rows"),  # as GEO serves an RNA-seq series: 0 rows declared
    "mismatched columns": (_drop_sample_column, "sample columns do not match"),
    "non-numeric cell": (lambda lines: [x.replace("10.03559303", "high") for x in lines],
                         "non-numeric value 'high' for probe 121_at in sample GSM475065"),
}


@pytest.mark.parametrize("fault", list(MALFORMED))
def test_malformed_series_matrix_is_one_line(tmp_path, fault):
    edit, message = MALFORMED[fault]
    path = _rewrite(shared_file(OVARIAN), tmp_path / "GSE19161_series_matrix.txt.gz", edit)
    with pytest.raises(DatasetError, match=message) as info:
        read_series(path, Design("event indicator"))
    assert str(info.value).startswith("GSE19161: ") and "\n" not in str(info.value)


def test_design_faults_name_the_key_or_value():
    with pytest.raises(DatasetError, match=r"no characteristic 'disease'; available: 'title' .*'event indicator' \(2 values\)"):
        read_series(shared_file(OVARIAN), Design("disease"))
    with pytest.raises(DatasetError, match=r"where: no array has 'tissue' = 'tumor'"):
        read_series(shared_file(HCC), Design("tissue", where={"tissue": ["tumor"]}))
    with pytest.raises(DatasetError, match="need at least 2 classes"):
        read_series(shared_file(HCC), Design("disease state"))


def test_wrong_kind_of_file_is_named(tmp_path):
    with pytest.raises(DatasetError, match="is not a GEO series matrix or family SOFT file: it is a GDS full SOFT file"):
        read_series(shared_file("GDS_COLON_full.soft.gz"), Design("disease state"))
    with pytest.raises(DatasetError, match="is not a GDS SOFT file: it is a GEO series matrix file"):
        read_gds(shared_file(OVARIAN))
    truncated = tmp_path / "GSE19161_series_matrix.txt.gz"
    truncated.write_bytes(shared_file(OVARIAN).read_bytes()[:50_000])
    with pytest.raises(DatasetError, match="truncated or corrupt gzip"):
        read_series(truncated, Design("event indicator"))


def test_annotation_without_symbol_column(tmp_path):
    def strip_symbols(lines):
        return [line.replace("Gene Symbol", "Gene Label") for line in lines]

    path = _rewrite(shared_file("geo/GPL96.txt.gz"), tmp_path / "GPL96.txt.gz", strip_symbols)
    with pytest.raises(DatasetError, match="annotation GPL96.txt.gz has no gene symbol column"):
        read_annotation(path, "GSE14520")


def ok(body):
    return lambda hit: (200, body, {"Content-Type": "application/x-gzip"})


def test_series_and_annotation_downloads(local_geo, tmp_path):
    matrix = shared_file(OVARIAN).read_bytes()
    local_geo.route("GSE19161", ok(matrix))
    got = fetch_geo("GSE19161", tmp_path, base_url=local_geo.url, retries=0)
    assert got.name == "GSE19161_series_matrix.txt.gz" and got.read_bytes() == matrix
    local_geo.route("GSE14520", ok(shared_file(HCC).read_bytes()), platform="GPL571")
    with pytest.raises(NotOnGeoError, match="name the platform"):  # several platforms: no plain matrix
        fetch_geo("GSE14520", tmp_path, base_url=local_geo.url, retries=0)
    got = fetch_geo("GSE14520", tmp_path, base_url=local_geo.url, retries=0, platform="GPL571")
    assert got.name == "GSE14520-GPL571_series_matrix.txt.gz"
    soft = local_geo.route("GPL96", ok(shared_file("geo/GPL96.txt.gz").read_bytes()), platform="soft")
    got = fetch_annotation("GPL96", tmp_path, base_url=local_geo.url, retries=0)  # no .annot.gz: the family file
    assert got.name == "GPL96_annotation.soft.gz" and local_geo.hits(soft) == 1
    assert read_annotation(got, "GSE14520").loc["1053_at", "gene_symbol"] == "RFC2"


def test_truncated_series_download_leaves_nothing(local_geo, tmp_path):
    from genesel.errors import DownloadError

    local_geo.route("GSE19161", ok(shared_file(OVARIAN).read_bytes()[:40_000]))
    with pytest.raises(DownloadError, match="truncated or corrupt"):
        fetch_geo("GSE19161", tmp_path, base_url=local_geo.url, retries=0)
    assert list(tmp_path.iterdir()) == []


CLI_FAULTS = {
    "no table": (OVARIAN, MALFORMED["no table"][0], ["--label", "event indicator"], "has no expression table"),
    "absent key": (OVARIAN, None, ["--label", "tumour grade"], "no characteristic 'tumour grade'"),
    "classes under the minimum": (HCC, None, ["--label", "tissue", "--where", "tissue=Liver tissue of six healthy donors",
                                              "--where", "tissue=Liver Tumor Tissue"], "need at least 2 classes"),
    "truncated gzip": (OVARIAN, "cut", ["--label", "event indicator"], "truncated or corrupt gzip"),
    "annotation without symbols": (OVARIAN, None, ["--label", "event indicator", "--annotation", "GDS"],
                                   "has no gene symbol column|no platform table"),
}


@pytest.mark.parametrize("fault", list(CLI_FAULTS))
def test_prepare_on_a_bad_series_is_one_line_and_writes_nothing(fault, tmp_path, capsys):
    from genesel.cli import main

    source, edit, options, message = CLI_FAULTS[fault]
    path = tmp_path / "GSE19161_series_matrix.txt.gz"
    if edit == "cut":
        path.write_bytes(shared_file(source).read_bytes()[:30_000])
    elif edit is not None:
        _rewrite(shared_file(source), path, edit)
    else:
        path = shared_file(source)
    options = [str(shared_file("GDS_COLON_full.soft.gz")) if o == "GDS" else o for o in options]
    out = tmp_path / "out"
    with pytest.warns(UserWarning) if "minimum" in fault else _nothing():
        code = main(["prepare", str(path), *options, "--dataset-out", str(out / "d.npz"),
                     "--splits-out", str(out / "s.tsv")])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 1 and len(err) >= 1
    assert err[-1].startswith("genesel: error: GSE") and re.search(message, err[-1])
    assert not out.exists()


def _nothing():
    import contextlib

    return contextlib.nullcontext()


def test_null_and_empty_cells_are_missing(tmp_path):
    def blank(lines):
        return [x.replace("10.03559303", "null").replace("11.79467869", '""') for x in lines]

    series = parse_series(_rewrite(shared_file(OVARIAN), tmp_path / "GSE19161_series_matrix.txt.gz", blank))
    assert np.isnan(series.values.loc["121_at", "GSM475065"]) and np.isnan(series.values.loc["200003_s_at", "GSM475065"])
