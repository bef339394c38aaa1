"""GDS SOFT -> Dataset: simulated round trip, the real benchmarks, and the label rules."""

from __future__ import annotations

import gzip

import numpy as np
import pandas as pd
import pytest

from genesel.dataset import Dataset
from genesel.errors import DatasetError
from genesel.preprocess import looks_unlogged
from genesel.sources.gds import parse_gds, read_gds
from genesel.sources.table import read_expression_table
from tests.conftest import shared_file


def test_round_trip_shapes_and_labels(small_sim):
    data = read_gds(small_sim.soft_path)
    assert data.X.shape == (60, 400) and data.X.dtype == np.float32
    assert data.label_type == "disease state"
    assert sorted(data.class_names) == ["adenoma", "carcinoma", "normal"]
    # labels as planted: the column description of every array names its class
    gds = parse_gds(small_sim.soft_path)
    label_of = {s: row.description for row in gds.subsets.itertuples() if row.type == "disease state" for s in row.samples}
    assert list(data.labels()) == [label_of[s] for s in data.sample_ids]
    # planted probes are present with their symbols, annotation columns are not samples
    truth = small_sim.truth
    idx = {p: i for i, p in enumerate(data.probe_ids)}
    assert all(p in idx for p in truth.probe_id)
    assert [data.gene_symbols[idx[p]] for p in truth.probe_id] == list(truth.gene_symbol)
    assert all(s.startswith("GSM") for s in data.sample_ids)
    assert data.metadata["platform"] == "GPL570" and data.metadata["value_type"] == "count"
    assert np.isnan(data.X).any()  # simulated missing values survive as NaN


def test_planted_linear_gene_differs_between_classes(small_sim):
    data = read_gds(small_sim.soft_path)
    row = small_sim.truth.query("kind == 'linear'").iloc[0]
    j = list(data.probe_ids).index(row.probe_id)
    x = np.log2(data.X[:, j])
    inside = data.labels() == row.target_class
    assert x[inside].mean() - x[~inside].mean() > 0.3


def test_every_subset_type_is_reported(small_sim):
    types = parse_gds(small_sim.soft_path).subset_types()
    assert set(types) == {"disease state", "individual", "gender", "other"}
    assert sum(types["gender"].values()) == 60


def test_other_label_type(small_sim):
    data = read_gds(small_sim.soft_path, "gender")
    assert data.class_names == ["female", "male"] and data.n_samples == 60


def test_missing_label_type_lists_available(small_sim):
    with pytest.raises(DatasetError, match=r"no subset type 'tissue'; available: 'disease state': .*'gender': female \(\d+\)"):
        read_gds(small_sim.soft_path, "tissue")


def test_small_classes_dropped_with_warning(small_sim):
    with pytest.warns(UserWarning, match="dropping classes with fewer than 5 samples"):
        data = read_gds(small_sim.soft_path, "individual", min_class_size=5)
    assert min(data.class_counts().values()) >= 5


def test_paper_mode_repeats_each_array_per_subset_type(small_sim):
    with pytest.warns(UserWarning, match="not valid estimates"):
        data = read_gds(small_sim.soft_path, label_mode="paper", min_class_size=1)
    assert data.n_samples == 4 * 60  # four subset types, every array in one subset of each
    assert len(set(data.sample_ids)) == data.n_samples
    assert data.metadata["label_mode"] == "paper"
    single = read_gds(small_sim.soft_path)
    assert single.n_samples == 60 and single.metadata["label_mode"] == "single"


def test_paper_mode_keeps_same_named_subsets_of_two_types_apart(small_sim, tmp_path):
    import gzip

    text = gzip.decompress(small_sim.soft_path.read_bytes()).decode()
    named_alike = tmp_path / "GDSALIKE_full.soft.gz"  # an 'other' subset described like a disease state
    named_alike.write_bytes(gzip.compress(text.replace("!subset_description = batch 1", "!subset_description = normal").encode()))
    with pytest.warns(UserWarning, match="not valid estimates"):
        data = read_gds(named_alike, label_mode="paper", min_class_size=1)
    assert {"disease state: normal", "other: normal"} <= set(data.class_names)
    counts = data.class_counts()
    assert counts["other: normal"] + counts["other: batch 2"] == 60


def test_tox171_real_benchmark():
    data = read_gds(shared_file("GDS_TOX171_full.soft.gz"))
    assert data.X.shape == (171, 5748)
    assert len(data.class_names) == 4 and data.class_counts() == {"class 1": 45, "class 2": 45, "class 3": 39, "class 4": 42}
    assert looks_unlogged(data.X)


def test_allaml_real_benchmark():
    data = read_gds(shared_file("GDS_ALLAML_full.soft.gz"))
    assert data.X.shape == (72, 7129)
    assert sorted(data.class_counts().values()) == [25, 47]
    assert not looks_unlogged(data.X)


def test_save_load_round_trip(small_sim, tmp_path):
    data = read_gds(small_sim.soft_path)
    loaded = Dataset.load(data.save(tmp_path / "d.npz"))
    np.testing.assert_array_equal(loaded.X, data.X)
    assert list(loaded.sample_ids) == list(data.sample_ids) and loaded.class_names == data.class_names
    assert loaded.metadata == data.metadata


def test_unlabelled_samples_dropped_with_count(tmp_path, small_sim):
    text = gzip.decompress(small_sim.soft_path.read_bytes()).decode()
    gds = parse_gds(small_sim.soft_path)
    first = gds.subsets.query("type == 'disease state'").iloc[0]
    dropped = first.samples[:2]
    text = text.replace(",".join(first.samples), ",".join(first.samples[2:]), 1)
    path = tmp_path / "GDSX_full.soft.gz"
    path.write_bytes(gzip.compress(text.encode()))
    with pytest.warns(UserWarning, match="GDSX: 2 of 60 samples have no label"):
        data = read_gds(path)
    assert data.n_samples == 58 and not set(dropped) & set(data.sample_ids)


def test_expression_table_and_sample_sheet(tmp_path):
    rng = np.random.default_rng(0)
    values = rng.normal(8, 1, (30, 12))
    table = pd.DataFrame(values, columns=[f"S{i}" for i in range(12)])
    table.insert(0, "probe", [f"p{i}" for i in range(30)])
    table.insert(1, "symbol", [f"G{i}" for i in range(30)])
    table.to_csv(tmp_path / "expr.tsv", sep="\t", index=False)
    pd.DataFrame({"sample": [f"S{i}" for i in range(12)], "label": ["a", "b", "c"] * 4}).to_csv(
        tmp_path / "sheet.csv", index=False)
    data = read_expression_table(tmp_path / "expr.tsv", sample_sheet=tmp_path / "sheet.csv", symbol_column="symbol")
    assert data.X.shape == (12, 30) and data.class_names == ["a", "b", "c"]
    np.testing.assert_allclose(data.X[:, 0], values[0], rtol=1e-6)
    assert data.gene_symbols[3] == "G3" and data.name == "expr"


# ------------------------------------------------------------------------------------------
# GEO's ^DATABASE block: every full SOFT file GEO serves starts with it
# ------------------------------------------------------------------------------------------
REAL_GDS_HEAD = """^DATABASE = Geo
!Database_name = Gene Expression Omnibus (GEO)
!Database_institute = NCBI NLM NIH
!Database_web_link = http://www.ncbi.nlm.nih.gov/projects/geo
!Database_email = geo@ncbi.nlm.nih.gov
!Database_ref = Nucleic Acids Res. 2005 Jan 1;33 Database Issue:D562-6
^DATASET = {name}
"""


def test_simulated_file_starts_as_geo_serves_it(small_sim):
    text = gzip.decompress(small_sim.soft_path.read_bytes()).decode()
    assert text.startswith(REAL_GDS_HEAD.format(name="GDSSIM7"))
    for key in ("platform", "value_type", "reference_series", "pubmed_id", "sample_count", "feature_count", "order"):
        assert f"\n!dataset_{key} = " in text
    assert text.count("^DATASET = GDSSIM7\n") == 2  # GEO repeats the entry before the column descriptions


@pytest.mark.parametrize("name", ["GDS_ALLAML", "GDS_COLON"])
def test_real_benchmark_reads_the_same_behind_geos_database_block(name, tmp_path):
    plain = shared_file(f"{name}_full.soft.gz")
    text = gzip.decompress(plain.read_bytes()).decode()
    assert text.startswith(f"^DATASET = {name}\n")
    served = tmp_path / plain.name
    served.write_bytes(gzip.compress(REAL_GDS_HEAD.format(name=name).split("^DATASET")[0].encode() + text.encode()))
    a, b = read_gds(plain), read_gds(served)
    np.testing.assert_array_equal(a.X, b.X)
    np.testing.assert_array_equal(a.y, b.y)
    assert list(a.sample_ids) == list(b.sample_ids) and list(a.probe_ids) == list(b.probe_ids)
    assert a.class_names == b.class_names and a.metadata["title"] == b.metadata["title"]


@pytest.mark.parametrize(("name", "kind"), [
    ("geo/GSE19161_family.soft.gz", "GEO Series family SOFT file"),  # ^DATABASE block, then ^SERIES
    ("geo/GSE19161_series_matrix.txt.gz", "GEO series matrix file"),
    ("geo/GSE14520-GPL571_series_matrix.txt.gz", "GEO series matrix file"),
    ("geo/GPL96.txt.gz", "GEO platform"),
])
def test_real_geo_files_of_other_kinds_are_named_not_misread(name, kind):
    with pytest.raises(DatasetError, match=f"is not a GDS SOFT file: it is a {kind}") as info:
        read_gds(shared_file(name))
    assert "\n" not in str(info.value)


def test_file_with_only_the_database_block_is_called_truncated(tmp_path):
    path = tmp_path / "GDS9_full.soft.gz"
    path.write_bytes(gzip.compress(REAL_GDS_HEAD.split("^DATASET")[0].encode()))
    with pytest.raises(DatasetError, match=r"GDS9: GDS9_full.soft.gz holds only GEO's \^DATABASE block, no \^DATASET: truncated\?"):
        read_gds(path)
