"""The integrity contract (genesel.sources.integrity) on real GEO files broken as they break.

Every damaged input is made at run time from the real downloads in ../shared/data/geo: a download
cut short (recompressed, so only the text shows it, or cut in the gzip stream), a NUL-filled block
from a failed disk write, a row an editor cut short, a header that declares more than the file
holds. Each must give one line naming the dataset, the file and the problem; the benign
differences (CRLF, quoting, trailing tabs) must give exactly the matrix of the untouched file.
"""

from __future__ import annotations

import gzip
import hashlib
import warnings

import numpy as np
import pandas as pd
import pytest

from genesel.cli import format_warning
from genesel.errors import DatasetError
from genesel.sources.annotation import read_annotation
from genesel.sources.design import Design
from genesel.sources.gds import read_gds
from genesel.sources.load import load_dataset
from genesel.sources.series import read_series
from genesel.sources.table import read_expression_table
from tests.conftest import shared_file

HCC = "geo/GSE14520-GPL571_series_matrix.txt.gz"
OVARIAN = "geo/GSE19161_series_matrix.txt.gz"
FAMILY = "geo/GSE19161_family.soft.gz"
EVENT = Design("event indicator")


def _text(name: str) -> str:
    return gzip.decompress(shared_file(name).read_bytes()).decode()


def _write(path, text: str | bytes):
    data = text.encode() if isinstance(text, str) else text
    path.write_bytes(gzip.compress(data))
    return path


def _one_line(info, dataset: str, file: str) -> str:
    text = str(info.value)
    assert text.startswith(f"{dataset}: ") and "\n" not in text and file in text
    return text


def _digest(data) -> str:
    h = hashlib.sha256()
    for a in (data.X.astype(np.float32), data.sample_ids.astype(str), data.probe_ids.astype(str),
              data.gene_symbols.astype(str), data.y):
        h.update(np.ascontiguousarray(a).tobytes())
    return h.hexdigest()[:16]


#: sha256 (first 16 hex digits) of X, sample ids, probe ids, symbols and labels as genesel read these
#: real files before the integrity contract (commit 31791d1); the contract must not change one value
TODAY = {
    "GDS_COLON_full.soft.gz": "3f945244e6173bf9",
    "GDS_ALLAML_full.soft.gz": "5aa1dbaad640fc1a",
    "GDS_TOX171_full.soft.gz": "3aa95fc1272dfc5b",
    "GDS_LYMPHOMA_full.soft.gz": "0f255b45087a3936",
    HCC: "4137f6c1deaa4344",
    OVARIAN: "68aed62fcb024ea8",
    FAMILY: "cb317292d5c38164",
}


@pytest.mark.parametrize("name", list(TODAY))
def test_real_files_read_to_todays_matrices(name):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if name.startswith("GDS"):
            data = read_gds(shared_file(name))
        else:
            data = read_series(shared_file(name), "tissue" if name == HCC else "event indicator")
    assert _digest(data) == TODAY[name]


def test_platform_annotation_reads_as_today():
    table = read_annotation(shared_file("geo/GPL96.txt.gz"), "GPL96")
    assert hashlib.sha256(table.to_csv().encode()).hexdigest()[:16] == "2a4d0a2e74a483ca"


# -- series matrix -------------------------------------------------------------------------------
def _table_rows(lines: list[str]) -> list[int]:
    start = lines.index("!series_matrix_table_begin") + 2
    return list(range(start, lines.index("!series_matrix_table_end")))


def _short_row(text: str) -> str:
    lines = text.split("\n")
    i = _table_rows(lines)[100]
    lines[i] = "\t".join(lines[i].split("\t")[:-7])  # an editor cut 7 cells
    return "\n".join(lines)


def _nul_block(text: str) -> str:
    lines = text.split("\n")
    at = sum(len(x) + 1 for x in lines[: _table_rows(lines)[200]]) + 40
    return text[:at] + "\x00" * 512 + text[at + 512:]  # a failed disk write, inside the table


def _nul_header(text: str) -> str:
    at = text.index("!Series_summary") + 30
    return text[:at] + "\x00" * 16 + text[at + 16:]


def _rows_dropped(text: str) -> str:
    lines = text.split("\n")
    rows = _table_rows(lines)
    return "\n".join(lines[: rows[-10]] + lines[rows[-1] + 1:])  # the table ends, 10 rows short


def _no_end(text: str) -> str:
    return text[: text.index("!series_matrix_table_end")]


def _sample_missing(text: str) -> str:  # a table and !Sample_ lines of 60 arrays; !Series_sample_id says 61
    out = []
    for line in text.split("\n"):
        if line.startswith(('"', "!Sample_")):
            line = "\t".join(line.split("\t")[:-1])
        out.append(line)
    return "\n".join(out)


MATRIX_FAULTS = {
    "row cut short": (_short_row, r"the expression table: row 101 \(probe \S+\) has 55 fields, the header has 62"),
    "NUL block in the table": (_nul_block, r"NUL bytes in line \d+ \(a damaged download or disk write\)"),
    "NUL bytes in the header": (_nul_header, r"NUL bytes in line \d+"),
    "rows missing": (_rows_dropped, r"has 648 rows, an array's header declares 658 \(!Sample_data_row_count\)"),
    "no end marker": (_no_end, r"ends inside the expression table \(no !series_matrix_table_end\): truncated\?"),
    "fewer arrays than declared": (_sample_missing, r"holds 60 of the 61 arrays the header declares \(!Series_sample_id\)"),
}


@pytest.mark.parametrize("fault", list(MATRIX_FAULTS))
def test_damaged_series_matrix_is_refused_in_one_line(tmp_path, fault):
    edit, message = MATRIX_FAULTS[fault]
    path = _write(tmp_path / "GSE19161_series_matrix.txt.gz", edit(_text(OVARIAN)))
    with pytest.raises(DatasetError, match=message) as info:
        read_series(path, EVENT)
    _one_line(info, "GSE19161", "GSE19161_series_matrix.txt.gz")


def test_download_cut_in_the_gzip_stream_is_refused(tmp_path):
    raw = shared_file(OVARIAN).read_bytes()
    path = tmp_path / "GSE19161_series_matrix.txt.gz"
    path.write_bytes(raw[: len(raw) * 2 // 3])
    with pytest.raises(DatasetError, match="truncated or corrupt gzip") as info:
        read_series(path, EVENT)
    _one_line(info, "GSE19161", "GSE19161_series_matrix.txt.gz")


def _benign(text: str) -> str:
    """CRLF line ends, a trailing tab on every table row, and a few values quoted."""
    lines = text.split("\n")
    rows = set(_table_rows(lines))
    out = []
    for i, line in enumerate(lines):
        if i in rows:
            cells = line.split("\t")
            cells[1] = cells[1] if cells[1].startswith('"') else f'"{cells[1]}"'
            line = "\t".join(cells) + "\t"
        out.append(line)
    return "\r\n".join(out)


def test_benign_differences_give_the_same_matrix(tmp_path):
    path = _write(tmp_path / "GSE19161_series_matrix.txt.gz", _benign(_text(OVARIAN)))
    assert _digest(read_series(path, EVENT)) == TODAY[OVARIAN]


def test_all_null_array_warns_without_a_library_warning(tmp_path):
    lines = _text(OVARIAN).split("\n")
    for i in _table_rows(lines):
        cells = lines[i].split("\t")
        lines[i] = "\t".join(cells[:1] + ["null"] + cells[2:])
    path = _write(tmp_path / "GSE19161_series_matrix.txt.gz", "\n".join(lines))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        data = read_series(path, EVENT)
    assert data.n_samples == 60
    assert not [w for w in caught if not issubclass(w.category, UserWarning)]  # no FutureWarning from pandas
    assert any("1 array(s) have no value at all" in str(w.message) for w in caught)


def test_a_librarys_warning_is_never_shown_as_genesels():
    library = format_warning("Downcasting behavior in `replace` is deprecated", FutureWarning,
                             "/usr/lib/python3/site-packages/pandas/core/generic.py", 10)
    assert not library.startswith("genesel:") and library.startswith("FutureWarning")
    own = format_warning("GSE1: 2 arrays dropped", UserWarning, "/x/genesel/sources/design.py", 3)
    assert own == "genesel: warning: GSE1: 2 arrays dropped\n"


# -- family SOFT ---------------------------------------------------------------------------------
def _sample_starts(text: str) -> list[int]:
    starts, at = [], text.find("^SAMPLE")
    while at >= 0:
        starts.append(at)
        at = text.find("^SAMPLE", at + 1)
    return starts


def test_family_file_cut_inside_an_array_table_is_refused(tmp_path):
    text = _text(FAMILY)
    cut = text.index("!sample_table_begin", _sample_starts(text)[28]) + 10000  # inside the 29th array's table
    path = _write(tmp_path / "GSE19161_family.soft.gz", text[:cut])
    with pytest.raises(DatasetError, match=r"ends inside the table of GSM\d+ \(no !sample_table_end\)") as info:
        read_series(path, EVENT)
    _one_line(info, "GSE19161", "GSE19161_family.soft.gz")


def test_family_file_cut_between_arrays_is_refused(tmp_path):
    text = _text(FAMILY)
    path = _write(tmp_path / "GSE19161_family.soft.gz", text[: _sample_starts(text)[28]])
    with pytest.raises(DatasetError, match=r"holds 28 of the 61 samples the header declares \(!Series_sample_id\)"):
        read_series(path, EVENT)


def test_family_array_table_shorter_than_declared_is_refused(tmp_path):
    text = _text(FAMILY)
    at = text.index("!sample_table_begin", _sample_starts(text)[5])
    row_start = text.index("\n", text.index("\n", at) + 1) + 1  # the first row after the header
    row_end = text.index("\n", row_start) + 1
    path = _write(tmp_path / "GSE19161_family.soft.gz", text[:row_start] + text[row_end:])
    with pytest.raises(DatasetError, match=r"the table of GSM475070 has 657 rows, the header declares 658"):
        read_series(path, EVENT)


def test_family_table_without_end_marker_before_the_next_array(tmp_path):
    text = _text(FAMILY)
    end = text.index("!sample_table_end", _sample_starts(text)[3])
    path = _write(tmp_path / "GSE19161_family.soft.gz", text[:end] + text[end + len("!sample_table_end\n"):])
    with pytest.raises(DatasetError, match=r"the table of GSM475068 has no end marker"):
        read_series(path, EVENT)


def test_nul_block_in_a_family_file(tmp_path):
    text = _text(FAMILY)
    at = _sample_starts(text)[10] + 3000
    path = _write(tmp_path / "GSE19161_family.soft.gz", text[:at] + "\x00" * 512 + text[at + 512:])
    with pytest.raises(DatasetError, match="NUL bytes in line"):
        read_series(path, EVENT)


# -- platform annotation and GDS -----------------------------------------------------------------
@pytest.mark.parametrize("fault, message", [
    ("cut", r"ends inside the platform table"),
    ("row", r"the platform table: row 5 \(probe 1255_g_at\) has 3 fields, the header has 16"),
    ("rows missing", r"the platform table has 22273 rows, the header declares 22283"),
])
def test_damaged_platform_annotation(tmp_path, fault, message):
    lines = _text("geo/GPL96.txt.gz").splitlines()
    start = lines.index("!platform_table_begin") + 1
    if fault == "cut":
        lines = lines[: start + 5000]
    elif fault == "row":
        lines[start + 5] = "\t".join(lines[start + 5].split("\t")[:3])
    else:
        del lines[start + 1: start + 11]
    path = _write(tmp_path / "GPL96.txt.gz", "\n".join(lines))
    with pytest.raises(DatasetError, match=message) as info:
        read_annotation(path, "GPL96")
    _one_line(info, "GPL96", "GPL96.txt.gz")


def test_gds_with_fewer_samples_than_declared(tmp_path):
    lines = _text("GDS_COLON_full.soft.gz").split("\n")
    start, end = lines.index("!dataset_table_begin") + 1, lines.index("!dataset_table_end")
    last = lines[start].split("\t")[-1]
    for i in range(start, end):
        lines[i] = "\t".join(lines[i].split("\t")[:-1])
    lines = [x for x in lines if not x.startswith(f"#{last} ")]
    path = _write(tmp_path / "GDS_COLON_full.soft.gz", "\n".join(lines).replace(f",{last}", "").replace(f"{last},", ""))
    with pytest.raises(DatasetError, match=r"the data table has 61 sample columns, the header declares 62"):
        read_gds(path)


def test_gds_nul_block_in_the_table(tmp_path):
    text = _text("GDS_COLON_full.soft.gz")
    at = text.index("!dataset_table_begin") + 20000
    path = _write(tmp_path / "GDS_COLON_full.soft.gz", text[:at] + "\x00" * 512 + text[at + 512:])
    with pytest.raises(DatasetError, match="GDS_COLON: GDS_COLON_full.soft.gz: NUL bytes in line"):
        read_gds(path)


# -- expression table + sample sheet -------------------------------------------------------------
def _own_table(tmp_path, edit=lambda lines: lines, sheet_rows=None):
    """GSE19161's first 12 arrays as a user's TSV and CSV sample sheet."""
    series = read_series(shared_file(OVARIAN), EVENT)
    values = pd.DataFrame(series.X[:12].T, index=series.probe_ids, columns=series.sample_ids[:12])
    lines = edit(values.to_csv(sep="\t", index_label="probe").splitlines())
    (tmp_path / "expr.tsv").write_text("\n".join(lines) + "\n")
    labels = series.labels()[:12]
    rows = sheet_rows if sheet_rows is not None else list(zip(series.sample_ids[:12], labels))
    pd.DataFrame(rows, columns=["sample", "label"]).to_csv(tmp_path / "sheet.csv", index=False)
    return series


def _read_own(tmp_path):
    return read_expression_table(tmp_path / "expr.tsv", sample_sheet=tmp_path / "sheet.csv", name="MINE")


def test_table_row_cut_short_is_refused(tmp_path):
    def cut(lines):
        lines[7] = "\t".join(lines[7].split("\t")[:-3])
        return lines
    _own_table(tmp_path, cut)
    with pytest.raises(DatasetError, match=r"MINE: expr.tsv: row 7 \(\S+\) has 10 fields, the header has 13"):
        _read_own(tmp_path)


def test_table_nul_bytes_are_refused(tmp_path):
    _own_table(tmp_path)
    raw = (tmp_path / "expr.tsv").read_bytes()
    (tmp_path / "expr.tsv").write_bytes(raw[:3000] + b"\x00" * 512 + raw[3512:])
    with pytest.raises(DatasetError, match=r"MINE: expr.tsv: NUL bytes in line \d+"):
        _read_own(tmp_path)


def test_table_with_crlf_and_trailing_tabs_reads_the_same(tmp_path):
    series = _own_table(tmp_path)
    clean = _read_own(tmp_path)
    (tmp_path / "expr.tsv").write_text("\r\n".join(x + "\t" for x in (tmp_path / "expr.tsv").read_text().splitlines()))
    again = _read_own(tmp_path)
    assert np.array_equal(clean.X, again.X, equal_nan=True) and list(clean.sample_ids) == list(again.sample_ids)
    assert np.allclose(clean.X, series.X[:12].astype(np.float32), equal_nan=True)


def test_table_column_the_sheet_does_not_name_is_named_in_a_warning(tmp_path):
    series = _own_table(tmp_path)
    rows = list(zip(series.sample_ids[:11], series.labels()[:11]))
    _own_table(tmp_path, sheet_rows=rows)
    with pytest.warns(UserWarning, match=rf"MINE: 1 column\(s\) of expr.tsv are not in the sample sheet and are "
                                         rf"left out: {series.sample_ids[11]}"):
        data = _read_own(tmp_path)
    assert data.n_samples == 11


def test_table_value_that_does_not_parse(tmp_path):
    def word(lines):
        cells = lines[3].split("\t")
        lines[3] = "\t".join([cells[0], "high", *cells[2:]])
        return lines
    _own_table(tmp_path, word)
    with pytest.raises(DatasetError, match=r"MINE: expr.tsv: non-numeric value 'high' for probe \S+ in sample GSM"):
        _read_own(tmp_path)


# -- groups: leakage is never silent -------------------------------------------------------------
PAIRS = {"tissue": ["Liver Tumor Tissue", "Liver Non-Tumor Tissue"]}


def test_group_pattern_matching_nothing_is_an_error_naming_key_pattern_examples():
    design = Design("tissue", where=PAIRS, group="individual", group_pattern=r"^(patient[0-9]+)-")
    with pytest.raises(DatasetError, match=r"GSE14520: group pattern '\^\(patient\[0-9\]\+\)-' matches 0 of 41 "
                                           r"'individual' values \(e\.g\. '[^']+', '[^']+', '[^']+'\)"):
        read_series(shared_file(HCC), design)


def test_group_pattern_matching_under_half_is_an_error():
    design = Design("tissue", where=PAIRS, group="individual", group_pattern=r"^(.*?)B$")  # non-tumour only: 19/41
    with pytest.raises(DatasetError, match=r"matches 19 of 41 'individual' values"):
        read_series(shared_file(HCC), design)


def test_grouping_into_one_group_names_the_class():
    design = Design("tissue", where=PAIRS, classes={"Liver Tumor Tissue": "tumour", "Liver Non-Tumor Tissue": "normal"},
                    group="individual", group_pattern=r"([AB])$")  # the tissue letter, not the patient
    with pytest.raises(DatasetError, match=r"class 'normal' has arrays in only \d group\(s\) of 'individual'") as info:
        read_series(shared_file(HCC), design)
    assert "\n" not in str(info.value)


def test_patient_like_key_groups_by_default_and_none_turns_it_off(small_sim):
    with pytest.warns(UserWarning, match=r"grouping arrays by subset type 'individual' .* set group: none"):
        grouped = read_gds(small_sim.soft_path)
    assert grouped.metadata["group"] == "individual" and grouped.grouped
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no warning at all when the user said so
        ungrouped = read_gds(small_sim.soft_path, Design(group="none"))
    assert ungrouped.metadata["group"] is None and not ungrouped.grouped


def test_patient_key_with_a_value_per_array_only_warns():
    with pytest.warns(UserWarning, match=r"'individual' looks like a patient id but every array has its own value"):
        data = load_dataset(shared_file(HCC), Design("tissue", where=PAIRS))
    assert data.metadata["group"] is None


# -- .h5ad ---------------------------------------------------------------------------------------
def _h5ad(tmp_path, X):
    import anndata

    obs = pd.DataFrame({"disease state": ["a", "b"] * 3}, index=[f"S{i}" for i in range(6)])
    path = tmp_path / "x.h5ad"
    anndata.AnnData(X=X, obs=obs, var=pd.DataFrame(index=[f"g{i}" for i in range(4)])).write_h5ad(path)
    return path


def test_h5ad_cut_short_is_one_line(tmp_path):
    path = _h5ad(tmp_path, np.arange(24, dtype=np.float32).reshape(6, 4))
    raw = path.read_bytes()
    path.write_bytes(raw[: len(raw) // 2])
    with pytest.raises(DatasetError, match=r"x: cannot read x.h5ad as AnnData") as info:
        load_dataset(path)
    assert "\n" not in str(info.value)


def test_h5ad_with_values_that_are_no_numbers_is_refused(tmp_path):
    path = _h5ad(tmp_path, np.arange(24, dtype=np.float32).reshape(6, 4))
    import anndata

    adata = anndata.read_h5ad(path)
    adata.X = adata.X > 10  # booleans: not expression values
    adata.write_h5ad(path)
    with pytest.raises(DatasetError, match=r"x: x.h5ad: X holds bool values, not numbers"):
        load_dataset(path)
