"""Malformed inputs: each gives one clear line naming the dataset and the problem, and
nothing is written (library error, CLI exit code, no output file)."""

from __future__ import annotations

import gzip

import pytest

from genesel.cli import main
from genesel.errors import DatasetError
from genesel.sources.gds import read_gds


def _text(small_sim) -> str:
    return gzip.decompress(small_sim.soft_path.read_bytes()).decode()


def _table_line(text: str, k: int) -> tuple[int, list[str]]:
    lines = text.split("\n")
    start = lines.index("!dataset_table_begin")
    return start + 1 + k, lines


def _edit_cell(text: str, value: str, row: int = 5, col: int = 4) -> str:
    i, lines = _table_line(text, row)
    cells = lines[i].split("\t")
    cells[col] = value
    lines[i] = "\t".join(cells)
    return "\n".join(lines)


def _single_class(text: str) -> str:
    out = []
    for line in text.split("\n"):
        if line.startswith("!subset_description = ") and line.split(" = ")[1] in ("adenoma", "carcinoma"):
            line = "!subset_description = normal"
        out.append(line)
    return "\n".join(out)


def _duplicate_sample(text: str) -> str:
    i, lines = _table_line(text, 0)
    header = lines[i].split("\t")
    header[3] = header[2]
    lines[i] = "\t".join(header)
    return "\n".join(lines)


def _duplicate_probe(text: str) -> str:
    i, lines = _table_line(text, 6)
    j, _ = _table_line(text, 7)
    first = lines[i].split("\t")[0]
    cells = lines[j].split("\t")
    cells[0] = first
    lines[j] = "\t".join(cells)
    return "\n".join(lines)


def _unknown_subset_sample(text: str) -> str:
    return text.replace("!subset_sample_id = ", "!subset_sample_id = GSM1,", 1)


def _drop_table(text: str) -> str:
    return text.split("!dataset_table_begin")[0]


def _no_dataset(text: str) -> str:
    return text.replace("^DATASET", "^SERIES", 1)


def _all_missing_everywhere(text: str) -> str:
    lines = text.split("\n")
    start = lines.index("!dataset_table_begin") + 2
    end = lines.index("!dataset_table_end")
    for i in range(start, end):
        cells = lines[i].split("\t")
        n = len(cells) - 5
        lines[i] = "\t".join(cells[:2] + ["null"] * n + cells[-3:])
    return "\n".join(lines)


def _ragged_row(text: str) -> str:
    i, lines = _table_line(text, 3)
    lines[i] = "\t".join(lines[i].split("\t")[:10])
    return "\n".join(lines)


def _infinite(text: str) -> str:
    return _edit_cell(text, "inf")


CASES = {
    "empty file": (lambda t: None, b"", "is empty"),
    "binary junk": (lambda t: None, bytes(range(256)) * 40, "binary|not a SOFT"),
    "not SOFT": (lambda t: None, b"sample\tvalue\nA\t1\n", "not a SOFT file"),
    "no ^DATASET": (_no_dataset, None, r"not a GDS SOFT file|\(\^SERIES\) but has no \^PLATFORM entry"),
    "SOFT without a table": (_drop_table, None, "no data table"),
    "non-numeric cell": (lambda t: _edit_cell(t, "high"), None, "non-numeric value 'high' for probe"),
    "infinite value": (_infinite, None, "infinite values"),
    "duplicated sample ids": (_duplicate_sample, None, "duplicated column"),
    "duplicated probe ids": (_duplicate_probe, None, "duplicated probe ids"),
    "subset names unknown samples": (_unknown_subset_sample, None, "names samples not in the table: GSM1"),
    "single class": (_single_class, None, "need at least 2 classes"),
    "every value missing": (_all_missing_everywhere, None, "every expression value is missing"),
    "ragged table row": (_ragged_row, None, r"row 3 \(probe \S+\) has 10 fields"),
}


@pytest.fixture(params=sorted(CASES), ids=sorted(CASES))
def bad_file(request, small_sim, tmp_path):
    edit, raw, message = CASES[request.param]
    path = tmp_path / "in" / "GDSBAD_full.soft.gz"
    path.parent.mkdir()
    payload = raw if raw is not None else gzip.compress(edit(_text(small_sim)).encode())
    path.write_bytes(payload if request.param != "binary junk" else payload)
    return path, message


def test_library_error_is_one_line_naming_dataset(bad_file):
    path, message = bad_file
    with pytest.raises(DatasetError, match=message) as info:
        read_gds(path)
    text = str(info.value)
    assert text.startswith("GDSBAD: ") and "\n" not in text


def test_cli_exits_nonzero_and_writes_nothing(bad_file, tmp_path, capsys):
    path, message = bad_file
    out = tmp_path / "out"
    code = main(["prepare", str(path), "--dataset-out", str(out / "d.npz"), "--splits-out", str(out / "splits.tsv")])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 1
    assert err[-1].startswith("genesel: error: GDSBAD: ")
    assert not out.exists()


def test_truncated_gzip_file(small_sim, tmp_path):
    data = small_sim.soft_path.read_bytes()
    for cut in (20, len(data) // 2, len(data) - 10):
        path = tmp_path / f"GDSCUT{cut}_full.soft.gz"
        path.write_bytes(data[:cut])
        with pytest.raises(DatasetError, match="truncated|ends inside the data table"):
            read_gds(path)


def test_all_missing_probe_is_dropped_with_warning(small_sim, tmp_path):
    text = _text(small_sim)
    i, lines = _table_line(text, 12)
    cells = lines[i].split("\t")
    probe = cells[0]
    lines[i] = "\t".join(cells[:2] + ["null"] * (len(cells) - 5) + cells[-3:])
    path = tmp_path / "GDSNA_full.soft.gz"
    path.write_bytes(gzip.compress("\n".join(lines).encode()))
    with pytest.warns(UserWarning, match="GDSNA: 1 probe\\(s\\) have no value in any array and are dropped"):
        data = read_gds(path)
    assert probe not in set(data.probe_ids) and data.n_probes == 399


def test_array_without_any_value_is_dropped_with_warning(small_sim, tmp_path):
    text = _text(small_sim)
    lines = text.split("\n")
    start, end = lines.index("!dataset_table_begin"), lines.index("!dataset_table_end")
    header = lines[start + 1].split("\t")
    column = 5  # the fourth array
    for i in range(start + 2, end):
        cells = lines[i].split("\t")
        cells[column] = "null"
        lines[i] = "\t".join(cells)
    path = tmp_path / "GDSEMPTY_full.soft.gz"
    path.write_bytes(gzip.compress("\n".join(lines).encode()))
    with pytest.warns(UserWarning, match=f"GDSEMPTY: 1 array\\(s\\) have no value at all and are dropped: {header[column]}"):
        data = read_gds(path)
    assert header[column] not in set(data.sample_ids) and data.n_samples == 59


def test_windows_line_endings_and_unicode(small_sim, tmp_path):
    text = _text(small_sim).replace("Simulated expression", "Simulierte Expression – Patientinnen µ")
    path = tmp_path / "GDSCRLF_full.soft.gz"
    path.write_bytes(gzip.compress(text.replace("\n", "\r\n").encode("utf-8")))
    data = read_gds(path)
    assert data.X.shape == (60, 400) and "Patientinnen" in data.metadata["title"]
