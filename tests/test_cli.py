"""The genesel command line on simulated data."""

from __future__ import annotations

import subprocess
import sys

import pandas as pd

from genesel.dataset import Dataset
from genesel.splits import load_splits


def run(*args, check=True):
    return subprocess.run([sys.executable, "-m", "genesel.cli", *args], capture_output=True, text=True, check=check)


def test_simulate_inspect_prepare(tmp_path):
    out = run("simulate", "--out", str(tmp_path), "--name", "GDSDEMO", "--samples", "45", "--probes", "300",
              "--classes", "3", "--seed", "5")
    soft, truth = out.stdout.split()
    assert soft.endswith("GDSDEMO_full.soft.gz")
    assert len(pd.read_csv(truth, sep="\t")) == 6 + 2 * 3 + 2
    text = run("inspect", soft).stdout
    assert "arrays: 45   probes: 300" in text
    assert "log2 will be applied: yes" in text
    for stype in ("'disease state': 3 classes", "'individual'", "'gender': 2 classes", "'other'"):
        assert stype in text
    out = run("prepare", soft, "--splits", "4", "--dataset-out", str(tmp_path / "d.npz"), "--splits-out", str(tmp_path / "s.tsv"))
    data = Dataset.load(tmp_path / "d.npz")
    assert data.n_samples == 45 and not any(p.startswith("AFFX-") for p in data.probe_ids)
    # the 'individual' subset type repeats: it groups the arrays by default, and the log says how to turn that off
    assert "genesel: warning: GDSDEMO: grouping arrays by subset type 'individual'" in out.stderr
    assert "set group: none (--group none)" in out.stderr and "groups ('individual')" in out.stdout
    assert list(load_splits(tmp_path / "s.tsv").columns) == ["sample_id", "group", "split_00", "split_01", "split_02",
                                                           "split_03"]
    out = run("prepare", soft, "--splits", "4", "--group", "none", "--dataset-out", str(tmp_path / "d.npz"),
              "--splits-out", str(tmp_path / "s.tsv"))
    assert "grouping" not in out.stderr
    assert list(load_splits(tmp_path / "s.tsv").columns) == ["sample_id", "split_00", "split_01", "split_02", "split_03"]


def test_unknown_label_type_one_line_error(tmp_path):
    soft = run("simulate", "--out", str(tmp_path), "--samples", "30", "--probes", "100").stdout.split()[0]
    result = run("prepare", soft, "--label-type", "tissue", "--dataset-out", str(tmp_path / "o" / "d.npz"),
                 "--splits-out", str(tmp_path / "o" / "s.tsv"), check=False)
    assert result.returncode == 1
    assert result.stderr.strip().startswith("genesel: error: GDSSIM1: no subset type 'tissue'; available:")
    assert len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "o").exists()


def test_inspect_missing_accession_offline(tmp_path):
    result = run("inspect", "GDS9999999", "--cache", str(tmp_path), "--base-url", "http://127.0.0.1:9/geo", check=False)
    assert result.returncode == 1
    assert "GDS9999999: cannot reach GEO" in result.stderr
