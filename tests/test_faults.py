"""Fault battery: hostile downloads, malformed inputs through the CLI and Snakemake, training
faults, interruption and resume, reproducibility, awkward paths. Each case expects a clear
one-line error naming the dataset (or a correct result), and nothing half-written left behind."""

from __future__ import annotations

import gzip
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from genesel.errors import DatasetError, DownloadError
from genesel.sources.download import fetch_geo
from genesel.sources.gds import read_gds
from tests.test_pipeline import SMALL, snakemake, write_config

# ------------------------------------------------------------------------------------------
# malformed inputs beyond tests/test_bad_inputs.py
# ------------------------------------------------------------------------------------------


def _text(sim) -> str:
    return gzip.decompress(sim.soft_path.read_bytes()).decode()


def _write(tmp_path: Path, text: str, name: str = "GDSBAD") -> Path:
    path = tmp_path / f"{name}_full.soft.gz"
    path.write_bytes(gzip.compress(text.encode("utf-8")))
    return path


def _describe_missing(text: str) -> str:
    first = next(line for line in text.split("\n") if line.startswith("#GSM"))
    return text.replace(first + "\n", "", 1)


def _extra_description(text: str) -> str:
    return text.replace("#ID_REF = ", "#GSM1 = Value for GSM1\n#ID_REF = ", 1)


def _one_array(text: str) -> str:
    lines = text.split("\n")
    start = lines.index("!dataset_table_begin") + 1
    end = lines.index("!dataset_table_end")
    header = lines[start].split("\t")
    keep = [0, 1, 2] + list(range(len(header) - 3, len(header)))
    for i in range(start, end):
        cells = lines[i].split("\t")
        lines[i] = "\t".join(cells[j] for j in keep)
    sample = header[2]
    out = []
    for line in lines:
        if line.startswith("#GSM") and not line.startswith(f"#{sample} "):
            continue
        if line.startswith("!subset_sample_id = "):
            ids = [s for s in line.split(" = ")[1].split(",") if s == sample]
            line = "!subset_sample_id = " + ",".join(ids)
        if line.startswith("!dataset_sample_count"):
            line = "!dataset_sample_count = 1"  # as GEO would state it for a one-array dataset
        out.append(line)
    return "\n".join(out)


def _long_lines(text: str) -> str:
    return text.replace("!dataset_description = ", "!dataset_description = " + "very long " * 20000, 1)


MALFORMED = {
    "column description missing": (_describe_missing, "without a #description line"),
    "description without column": (_extra_description, "absent from the data table: GSM1"),
    "a one-array dataset": (_one_array, "only 1 array"),
}


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_more_malformed_inputs(case, small_sim, tmp_path):
    edit, message = MALFORMED[case]
    path = _write(tmp_path, edit(_text(small_sim)))
    with pytest.raises(DatasetError, match=message) as info:
        read_gds(path)
    assert str(info.value).startswith("GDSBAD: ") and "\n" not in str(info.value)


def test_very_long_lines_are_fine(small_sim, tmp_path):
    data = read_gds(_write(tmp_path, _long_lines(_text(small_sim)), "GDSLONG"))
    assert data.n_samples == 60 and len(data.metadata["description"]) > 100_000


def test_class_of_one_sample_is_dropped(small_sim, tmp_path):
    text = _text(small_sim)
    # move all but one 'carcinoma' array out of that class
    lines = text.split("\n")
    idx = {line.split(" = ")[1]: i for i, line in enumerate(lines) if line.startswith("!subset_description = ")}
    ids_line = lambda name: idx[name] + 1  # noqa: E731
    carcinoma = lines[ids_line("carcinoma")].split(" = ")[1].split(",")
    lines[ids_line("carcinoma")] = "!subset_sample_id = " + carcinoma[0]
    lines[ids_line("normal")] += "," + ",".join(carcinoma[1:])
    with pytest.warns(UserWarning, match=r"dropping classes with fewer than 3 samples: 'carcinoma' \(1\)"):
        data = read_gds(_write(tmp_path, "\n".join(lines)))
    assert data.class_names == ["adenoma", "normal"] and data.n_samples == 59


@pytest.mark.parametrize("settings", [
    {"solver": "path", "hidden": 16, "n_kappas": 8, "kappa_ratio": 0.05, "max_iter": 200},
    {"solver": "sgd", "hidden": 16, "lrs": [0.1], "kappas": [0.05], "max_epochs": 300},
], ids=["path", "sgd"])
def test_constant_probes_are_never_selected(small_sim, settings):
    from genesel.experiment import run_method
    from genesel.preprocess import stack_splits
    from genesel.splits import make_splits

    data = read_gds(small_sim.soft_path).drop_control_probes()
    data.X[:, :25] = 100.0  # 25 constant probes
    stacked = stack_splits(data, make_splits(data.sample_ids, data.y, n_splits=2))
    assert np.allclose(stacked.X["train"][:, :, :25], 0, atol=1e-6)  # the training mean, no NaN
    result = run_method("spred", data, stacked, dict(settings))
    assert not result.selected[:, :25].any() and result.selected.any()


def test_every_probe_dropped_by_preprocessing(small_sim):
    from genesel.preprocess import stack_splits
    from genesel.splits import make_splits

    data = read_gds(small_sim.soft_path).drop_control_probes()
    data.X[:] = np.nan
    data.X[:5, :] = 1.0
    with pytest.raises(ValueError, match="every probe has more than 50% missing"):
        stack_splits(data, make_splits(data.sample_ids, data.y, n_splits=1))


# ------------------------------------------------------------------------------------------
# hostile servers
# ------------------------------------------------------------------------------------------


class RawServer:
    """A TCP server on 127.0.0.1 whose every connection is handled by ``behaviour(conn)``."""

    def __init__(self, behaviour):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}/geo"
        self.behaviour = behaviour
        self.connections = 0
        self.stop = threading.Event()
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        self.sock.settimeout(0.2)
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.connections += 1
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _handle(self, conn):
        try:
            conn.recv(65536)
            self.behaviour(conn)
        except OSError:
            pass
        finally:
            conn.close()

    def close(self):
        self.stop.set()
        self.sock.close()


def _headers(length: int, extra: str = "") -> bytes:
    return f"HTTP/1.1 200 OK\r\nContent-Type: application/x-gzip\r\nContent-Length: {length}\r\n{extra}Connection: close\r\n\r\n".encode()


def test_stalled_server_times_out(tmp_path):
    server = RawServer(lambda conn: time.sleep(3))
    try:
        start = time.perf_counter()
        with pytest.raises(DownloadError, match="did not answer within 0.5 s, 2 attempts"):
            fetch_geo("GDS1815", tmp_path, base_url=server.url, retries=1, timeout=0.5)
        assert time.perf_counter() - start < 10  # bounded
    finally:
        server.close()
    assert list(tmp_path.iterdir()) == []


def test_slow_server_still_succeeds(tmp_path, gds_bytes):
    def slow(conn):
        conn.sendall(_headers(len(gds_bytes)))
        for i in range(0, len(gds_bytes), len(gds_bytes) // 5 + 1):
            conn.sendall(gds_bytes[i:i + len(gds_bytes) // 5 + 1])
            time.sleep(0.1)

    server = RawServer(slow)
    try:
        path = fetch_geo("GDS1815", tmp_path, base_url=server.url, retries=0, timeout=5)
    finally:
        server.close()
    assert path.read_bytes() == gds_bytes


def test_connection_reset_mid_body(tmp_path, gds_bytes):
    def reset(conn):
        conn.sendall(_headers(len(gds_bytes)) + gds_bytes[: len(gds_bytes) // 3])
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")

    server = RawServer(reset)
    try:
        with pytest.raises(DownloadError, match="GDS1815: download from .* failed after 3 attempts"):
            fetch_geo("GDS1815", tmp_path, base_url=server.url, retries=2, timeout=5)
        assert server.connections == 3
    finally:
        server.close()
    assert list(tmp_path.iterdir()) == []


def test_redirect_loop(tmp_path):
    server = RawServer(lambda conn: conn.sendall(
        b"HTTP/1.1 302 Found\r\nLocation: /geo/loop\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"))
    try:
        with pytest.raises(DownloadError, match="GDS1815: download from .* failed after 1 attempts: Exceeded"):
            fetch_geo("GDS1815", tmp_path, base_url=server.url, retries=0, timeout=5)
    finally:
        server.close()
    assert list(tmp_path.iterdir()) == []


def test_read_only_cache_message_as_root(tmp_path, monkeypatch):
    """As root chmod does not stop writes, so stand in for the OS's answer."""
    monkeypatch.setattr(os, "access", lambda path, mode: False)
    with pytest.raises(DownloadError, match=r"GDS1815: cache folder .* is not writable"):
        fetch_geo("GDS1815", tmp_path / "cache", base_url="http://127.0.0.1:9")


# ------------------------------------------------------------------------------------------
# through Snakemake: bad input, interruption, reproducibility, awkward paths
# ------------------------------------------------------------------------------------------

TINY = {
    "datasets": {"GDSTINY1": SMALL["datasets"]["GDSTINY1"]},
    "splits": {"n": 2, "seed": 3},
    "device": "cpu",
    "methods": {"spred": {"solver": "path", "hidden": 16, "n_kappas": 6, "kappa_ratio": 0.05, "max_iter": 100},
                "hsic_lasso": {"n_features": 5, "block_size": 10}},
}


def test_snakemake_bad_input_fails_cleanly(tmp_path, small_sim):
    bad = tmp_path / "GDSBROKEN_full.soft.gz"
    bad.write_bytes(gzip.compress(_text(small_sim).replace("^DATASET", "^SERIES", 1).encode()))
    config = dict(TINY, datasets={"GDSBROKEN": {"path": str(bad)}})
    result = snakemake(tmp_path, "--cores", "1", "--configfile", str(write_config(tmp_path / "c.yaml", config)), check=False)
    assert result.returncode != 0
    logs = list((tmp_path / "logs").glob("*/GDSBROKEN.log"))  # inspect or prepare, whichever ran first
    assert logs
    for log in logs:
        last = log.read_text().strip().splitlines()[-1]
        assert last.startswith("genesel: error: GDSBROKEN: GDSBROKEN_full.soft.gz ")
        assert "not a GDS SOFT file" in last or "family SOFT file (^SERIES) but has no ^PLATFORM" in last
    # nothing but the cost plan, written before any job (genesel.plan)
    assert [f.name for f in (tmp_path / "results").rglob("*.*")] == ["plan.tsv"]


def _outputs(work: Path) -> dict[str, bytes]:
    files = sorted((work / "results").rglob("*.csv")) + sorted((work / "results").rglob("splits.tsv"))
    # ranked genes, consensus and splits; the summary holds wall-clock seconds, compared in _metrics
    return {str(f.relative_to(work)): f.read_bytes() for f in files if "summary" not in f.parts}


def _metrics(work: Path) -> pd.DataFrame:
    metrics = pd.read_csv(work / "results/GDSTINY1/metrics.tsv", sep="\t").drop(columns=["seconds"])
    summary = pd.read_csv(work / "results/summary/accuracy.csv").drop(columns=["seconds_mean"])
    return pd.concat([metrics, summary], axis=1)


@pytest.fixture(scope="module")
def reference_run(tmp_path_factory):
    work = tmp_path_factory.mktemp("reference")
    snakemake(work, "--cores", "2", "--configfile", str(write_config(work / "c.yaml", TINY)))
    return work


def test_same_config_and_seed_give_identical_outputs(reference_run, tmp_path):
    work = tmp_path / "again"
    work.mkdir()
    snakemake(work, "--cores", "2", "--configfile", str(write_config(work / "c.yaml", TINY)))
    assert _outputs(work) == _outputs(reference_run)  # ranked genes and splits, byte for byte
    pd.testing.assert_frame_equal(_metrics(work), _metrics(reference_run))  # all but wall-clock seconds


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL], ids=["SIGTERM", "SIGKILL"])
def test_interrupted_run_resumes_to_identical_results(sig, reference_run, tmp_path):
    work = tmp_path / "run"
    work.mkdir()
    config = write_config(work / "c.yaml", TINY)
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    cmd = [sys.executable, "-m", "snakemake", "-s", str(Path(__file__).resolve().parents[1] / "Snakefile"),
           "--directory", str(work), "--cores", "1", "--configfile", str(config)]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    log = work / "logs/select/GDSTINY1/spred.log"
    deadline = time.time() + 120
    while not log.exists() and time.time() < deadline and proc.poll() is None:
        time.sleep(0.05)
    assert log.exists(), "the spred fit never started"
    time.sleep(0.3)  # mid-fit
    os.killpg(proc.pid, sig)
    proc.wait(timeout=60)
    assert not (work / "results/GDSTINY1/fits/spred.metrics.tsv").exists() or sig == signal.SIGTERM
    if sig == signal.SIGKILL:  # a hard kill leaves Snakemake's lock behind: the documented first step
        snakemake(work, "--unlock", "--configfile", str(config))
    snakemake(work, "--cores", "2", "--rerun-incomplete", "--configfile", str(config))
    assert _outputs(work) == _outputs(reference_run)
    pd.testing.assert_frame_equal(_metrics(work), _metrics(reference_run))


def test_paths_with_spaces_and_non_ascii(tmp_path, small_sim):
    work = tmp_path / "résultats d'essai ü"
    work.mkdir()
    source = work / "données brutes" / "GDSSIM7_full.soft.gz"
    source.parent.mkdir()
    source.write_bytes(small_sim.soft_path.read_bytes())
    config = dict(TINY, datasets={"GDSSIM7": {"path": str(source)}}, methods={"hsic_lasso": {"n_features": 5, "block_size": 10}})
    snakemake(work, "--cores", "1", "--configfile", str(write_config(work / "c c.yaml", config)))
    genes = pd.read_csv(work / "results/GDSSIM7/genes/hsic_lasso.csv")
    assert (genes.selection_frequency > 0).sum() >= 5
    assert yaml.safe_load((work / "c c.yaml").read_text())["datasets"]["GDSSIM7"]["path"] == str(source)
