"""GEO download against a local HTTP server: success, cache, every failure mode, and what becomes of a
download that a reader finds damaged."""

from __future__ import annotations

import gzip
import os
import signal
import subprocess
import sys
import threading
import time
import warnings

import pytest

from genesel.errors import DamagedFileError, DatasetError, DownloadError, NotOnGeoError
from genesel.sources.cache import record_path
from genesel.sources.download import fetch_annotation, fetch_geo, geo_url
from genesel.sources.gds import read_gds
from genesel.sources.load import load_dataset
from genesel.sources.overview import summarize
from tests.conftest import REPO, gzip_text, shared_file
from tests.test_integrity import EVENT, MATRIX_FAULTS, OVARIAN, TODAY, _digest, _text


def ok(body):
    return lambda hit: (200, body, {"Content-Type": "application/x-gzip"})


def test_geo_url_follows_geo_tree():
    assert geo_url("GDS1815", "https://example.org/geo") == (
        "https://example.org/geo/datasets/GDS1nnn/GDS1815/soft/GDS1815_full.soft.gz"
    )
    assert geo_url("GDS507", "https://x/y").endswith("/GDSnnn/GDS507/soft/GDS507_full.soft.gz")


def test_base_url_from_environment(monkeypatch):
    monkeypatch.setenv("GENESEL_GEO_URL", "http://127.0.0.1:9/geo")
    assert geo_url("GDS5027").startswith("http://127.0.0.1:9/geo/datasets/GDS5nnn/")


def test_bad_accession_is_rejected(tmp_path):
    with pytest.raises(DownloadError, match="not a GEO accession"):
        fetch_geo("GSM1815", tmp_path)
    with pytest.raises(DownloadError, match="platform 'GSM1' is not a GPL accession"):
        fetch_geo("GSE1815", tmp_path, platform="GSM1")


def test_success_then_cache_hit_makes_no_request(local_geo, gds_bytes, tmp_path):
    path = local_geo.route("GDS1815", ok(gds_bytes))
    got = fetch_geo("GDS1815", tmp_path, base_url=local_geo.url, retries=0)
    assert got == tmp_path / "GDS1815_full.soft.gz"
    assert got.read_bytes() == gds_bytes
    assert local_geo.hits(path) == 1
    local_geo.server.shutdown()  # a second fetch must not touch the network at all
    assert fetch_geo("GDS1815", tmp_path, base_url=local_geo.url) == got


def test_404_says_accession_does_not_exist(local_geo, tmp_path):
    with pytest.raises(NotOnGeoError, match="GDS9999999 does not exist on GEO") as info:
        fetch_geo("GDS9999999", tmp_path, base_url=local_geo.url, retries=2)
    assert "\n" not in str(info.value)
    assert list(tmp_path.iterdir()) == []


def test_transient_failure_then_success(local_geo, gds_bytes, tmp_path):
    path = local_geo.route("GDS3268", lambda hit: (500, b"busy", {}) if hit == 1 else (200, gds_bytes, {}))
    got = fetch_geo("GDS3268", tmp_path, base_url=local_geo.url, retries=2)
    assert got.read_bytes() == gds_bytes
    assert local_geo.hits(path) == 2


@pytest.mark.parametrize("cut", [10, 1000, -100])
def test_truncated_gzip_leaves_nothing(local_geo, gds_bytes, tmp_path, cut):
    path = local_geo.route("GDS3952", ok(gds_bytes[:cut]))
    with pytest.raises(DownloadError, match="truncated or corrupt") as info:
        fetch_geo("GDS3952", tmp_path, base_url=local_geo.url, retries=1)
    assert "GDS3952" in str(info.value)
    assert local_geo.hits(path) == 2  # retried once
    assert list(tmp_path.iterdir()) == []


def test_short_body_against_content_length_leaves_nothing(local_geo, gds_bytes, tmp_path):
    local_geo.route("GDS3952", lambda hit: (200, gds_bytes[:500], {"Content-Length": str(len(gds_bytes))}))
    with pytest.raises(DownloadError, match="failed after 2 attempts"):
        fetch_geo("GDS3952", tmp_path, base_url=local_geo.url, retries=1, timeout=5)
    assert list(tmp_path.iterdir()) == []


def test_html_error_page(local_geo, tmp_path):
    local_geo.route("GDS4761", ok(b"<!DOCTYPE html><html><body>Service unavailable</body></html>"))
    with pytest.raises(DownloadError, match="HTML page instead of a gzip file"):
        fetch_geo("GDS4761", tmp_path, base_url=local_geo.url, retries=0)
    assert list(tmp_path.iterdir()) == []


def test_forbidden_is_not_retried(local_geo, tmp_path):
    path = local_geo.route("GDS4761", lambda hit: (403, b"no", {}))
    with pytest.raises(DownloadError, match="HTTP 403"):
        fetch_geo("GDS4761", tmp_path, base_url=local_geo.url, retries=3)
    assert local_geo.hits(path) == 1


def test_no_network_suggests_local_path(tmp_path):
    # port 9 (discard) on loopback: nothing listens, the connection is refused at once
    with pytest.raises(DownloadError, match="cannot reach GEO .*give its local path") as info:
        fetch_geo("GDS5027", tmp_path, base_url="http://127.0.0.1:9/geo", retries=1)
    assert "Connection refused" in str(info.value)
    assert list(tmp_path.iterdir()) == []


def test_downloaded_file_in_geos_layout_is_read(local_geo, gds_bytes, tmp_path):
    """The server sends a file as GEO does (^DATABASE block first); it lands intact and is read."""
    local_geo.route("GDS1816", ok(gds_bytes))
    path = fetch_geo("GDS1816", tmp_path, base_url=local_geo.url, retries=0)
    with gzip.open(path, "rt") as handle:
        assert handle.readline() == "^DATABASE = Geo\n"
    data = read_gds(path)
    assert data.n_samples == 60 and data.name == "GDS1816"


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM, signal.SIGINT], ids=["KILL", "TERM", "INT"])
def test_download_stopped_mid_file_leaves_nothing_under_the_final_name(local_geo, gds_bytes, tmp_path, sig):
    """A fetch stopped while half the file has arrived never leaves it under the name a reader or
    Snakemake looks for. SIGTERM (a scheduler's limit) and SIGINT (Ctrl-C) delete the partial temporary
    file too; SIGKILL runs no clean-up and leaves it, under a temporary name."""
    half_sent, release = threading.Event(), threading.Event()

    def stall(wfile):
        wfile.write(gds_bytes[: len(gds_bytes) // 2])
        wfile.flush()
        half_sent.set()
        release.wait(60)

    local_geo.route("GDS3952", lambda hit: (200, stall, {"Content-Length": str(len(gds_bytes))}))
    cache = tmp_path / "geo"
    code = ("import signal; signal.signal(signal.SIGINT, signal.default_int_handler)\n"  # as in a terminal, even
            "from genesel.sources.download import fetch_geo\n"  # where CI starts tests with SIGINT ignored
            f"fetch_geo('GDS3952', {str(cache)!r}, base_url={local_geo.url!r}, retries=0, timeout=60)")
    child = subprocess.Popen([sys.executable, "-c", code], env={**os.environ, "PYTHONPATH": str(REPO)})
    try:
        assert half_sent.wait(60), "the download never started"
        deadline = time.monotonic() + 30
        while not any(p.stat().st_size for p in cache.glob("*")) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert any(p.stat().st_size for p in cache.glob("*")), "no partial file to stop the download in"
        child.send_signal(sig)
        child.wait(30)
    finally:
        release.set()
        if child.poll() is None:
            child.kill()
            child.wait()
    left = list(cache.iterdir())
    assert not (cache / "GDS3952_full.soft.gz").exists()
    if sig == signal.SIGKILL:
        assert [p.stat().st_size > 0 for p in left] == [True] and not left[0].name.startswith("GDS3952")
        os.utime(left[0], (time.time() - 7200, time.time() - 7200))  # an hour later, the next download sweeps it
    else:
        assert left == [] and child.returncode != 0
    local_geo.route("GDS3952", ok(gds_bytes))
    assert fetch_geo("GDS3952", cache, base_url=local_geo.url, retries=0).read_bytes() == gds_bytes
    assert sorted(p.name for p in cache.iterdir()) == ["GDS3952_full.soft.gz", "GDS3952_full.soft.gz.download.json"]


def test_sweep_deletes_only_stale_partial_downloads(local_geo, gds_bytes, tmp_path):
    """Only pooch's temporary names, empty or gzip, untouched for an hour go: never a live download's
    file, a user's file or a cached download."""
    old = time.time() - 7200
    files = {"tmpk3j_9x2a": gds_bytes[:5000], "tmp0aa1bb2c": b"", "tmpzz99yy88": gds_bytes[:5000],
             "tmpnotes.txt": b"mine", "tmpabcdefgh": b"my notes", "GDS1815_full.soft.gz": gds_bytes}
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
        if name != "tmpzz99yy88":  # a download still running
            os.utime(tmp_path / name, (old, old))
    local_geo.route("GDS1816", ok(gds_bytes))
    fetch_geo("GDS1816", tmp_path, base_url=local_geo.url, retries=0)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        {*files, "GDS1816_full.soft.gz", "GDS1816_full.soft.gz.download.json"} - {"tmpk3j_9x2a", "tmp0aa1bb2c"})


# -- a download that a reader finds damaged ------------------------------------------------------
REMOVED = "genesel downloaded it, so it was removed from the cache: the next run downloads it again"


def _load(source, cache, url, **options):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # no annotation: probe ids stand in for symbols
        return load_dataset(source, EVENT, cache_dir=cache, base_url=url, **options)


@pytest.mark.parametrize("fault", list(MATRIX_FAULTS))
def test_damaged_download_is_removed_and_the_next_run_fetches_it_again(local_geo, tmp_path, fault):
    """GEO's GSE19161 matrix, damaged inside a valid gzip stream on the first download: the reader
    refuses it in one line that says it left the cache, and the next run downloads and reads it."""
    edit, message = MATRIX_FAULTS[fault]
    good = shared_file(OVARIAN).read_bytes()
    bad = gzip_text(edit(_text(OVARIAN)))
    route = local_geo.route("GSE19161", lambda hit: (200, bad if hit == 1 else good, {}))
    cache = tmp_path / "geo"
    with pytest.raises(DamagedFileError, match=message) as info:
        _load("GSE19161", cache, local_geo.url)
    text = str(info.value)
    assert text.startswith("GSE19161: GSE19161_series_matrix.txt.gz: ") and "\n" not in text
    assert text.endswith(REMOVED)
    assert list(cache.iterdir()) == []  # the file and its download record
    data = _load("GSE19161", cache, local_geo.url)
    assert local_geo.hits(route) == 2
    assert (cache / "GSE19161_series_matrix.txt.gz").read_bytes() == good
    assert _digest(data) == TODAY[OVARIAN]


def _nul_block(data: bytes) -> bytes:
    text = gzip.decompress(data).decode()
    at = text.index("!dataset_table_begin") + 5000
    return gzip_text(text[:at] + "\x00" * 512 + text[at + 512:])


def test_pipelines_way_fetch_then_read_the_cached_path(local_geo, gds_bytes, tmp_path):
    """Snakemake runs ``genesel fetch``, then ``inspect`` and ``prepare`` on the cached file's path:
    the damaged file leaves the cache there too, and a second fetch brings a good one."""
    route = local_geo.route("GDS1816", lambda hit: (200, _nul_block(gds_bytes) if hit == 1 else gds_bytes, {}))
    cache = tmp_path / "geo"
    path = fetch_geo("GDS1816", cache, base_url=local_geo.url, retries=0)
    assert record_path(path).is_file()
    with pytest.raises(DamagedFileError, match=r"^GDS1816: GDS1816_full.soft.gz: NUL bytes in line \d+") as info:
        summarize(path)
    assert str(info.value).endswith(REMOVED) and list(cache.iterdir()) == []
    path = fetch_geo("GDS1816", cache, base_url=local_geo.url, retries=0)
    assert local_geo.hits(route) == 2 and summarize(path)["arrays"] == 60


def test_damaged_platform_annotation_download_is_removed(local_geo, tmp_path):
    """GEO's GPL96 annotation, cut inside its platform table, as the cached annotation of a dataset."""
    lines = _text("geo/GPL96.txt.gz").splitlines()
    cut = gzip_text("\n".join(lines[: lines.index("!platform_table_begin") + 5000]))
    local_geo.route("GPL96", lambda hit: (200, cut, {}))
    cache = tmp_path / "geo"
    annotation = fetch_annotation("GPL96", cache, base_url=local_geo.url, retries=0)
    with pytest.raises(DamagedFileError, match=r"GPL96_annotation.soft.gz: ends inside the platform table") as info:
        _load(shared_file(OVARIAN), cache, local_geo.url, annotation=annotation)
    assert str(info.value).endswith(REMOVED) and list(cache.iterdir()) == []


@pytest.mark.parametrize("where", ["own folder", "cache, no record", "cache, changed since download"])
def test_damaged_file_not_downloaded_as_is_stays_untouched(local_geo, tmp_path, where):
    """A user's file (``path:``), one copied into the cache by hand, and a download whose bytes changed
    since: each refused in one line, none moved or deleted."""
    bad = gzip_text(MATRIX_FAULTS["NUL block in the table"][0](_text(OVARIAN)))
    cache = tmp_path / "geo"
    if where == "own folder":
        path = tmp_path / "mine" / "GSE19161_series_matrix.txt.gz"
        path.parent.mkdir()
        path.write_bytes(bad)
    elif where == "cache, no record":
        path = cache / "GSE19161_series_matrix.txt.gz"
        cache.mkdir()
        path.write_bytes(bad)
    else:
        local_geo.route("GSE19161", lambda hit: (200, shared_file(OVARIAN).read_bytes(), {}))
        path = fetch_geo("GSE19161", cache, base_url=local_geo.url, retries=0)
        path.write_bytes(bad)
    before = sorted((p.name, p.read_bytes()) for p in path.parent.iterdir())
    with pytest.raises(DamagedFileError, match=r"^GSE19161: GSE19161_series_matrix.txt.gz: NUL bytes") as info:
        _load(path, cache, local_geo.url)
    assert sorted((p.name, p.read_bytes()) for p in path.parent.iterdir()) == before
    assert "removed" not in str(info.value) and "\n" not in str(info.value)
    if where == "cache, changed since download":
        assert str(info.value).endswith(f"it changed since genesel downloaded it, so it is left as it is: "
                                        f"delete {path} to download it again")
    else:
        assert str(info.value).endswith("genesel has no record of downloading it (your own file, a copy, or a "
                                        "download by an older genesel), so it is left as it is")


def test_a_wrong_label_never_removes_a_good_download(local_geo, tmp_path):
    """Only damaged bytes send a download away: a design error leaves the cache as it was."""
    local_geo.route("GSE19161", lambda hit: (200, shared_file(OVARIAN).read_bytes(), {}))
    cache = tmp_path / "geo"
    path = fetch_geo("GSE19161", cache, base_url=local_geo.url, retries=0)
    with pytest.raises(DatasetError) as info:
        load_dataset("GSE19161", "no such characteristic", cache_dir=cache, base_url=local_geo.url)
    assert not isinstance(info.value, DamagedFileError)
    assert path.read_bytes() == shared_file(OVARIAN).read_bytes() and record_path(path).is_file()


def test_snakemake_rerun_downloads_a_damaged_file_again(local_geo, tmp_path):
    """The whole way a user meets it: ``snakemake`` downloads GSE19161's matrix, which GEO's server
    sent cut before its end marker; prepare stops with the one line and the file leaves the cache,
    so the user's second ``snakemake`` downloads it again and prepares the dataset."""
    from tests.test_faults import TINY
    from tests.test_pipeline import snakemake, write_config

    good = shared_file(OVARIAN).read_bytes()
    bad = gzip_text(MATRIX_FAULTS["no end marker"][0](_text(OVARIAN)))
    route = local_geo.route("GSE19161", lambda hit: (200, bad if hit == 1 else good, {}))
    config = dict(TINY, datasets={"GSE19161": {"label": {"characteristic": "event indicator"}}},
                  geo={"cache": "resources/geo", "base_url": local_geo.url})
    args = ("results/GSE19161/dataset.npz", "--cores", "1", "--configfile",
            str(write_config(tmp_path / "c.yaml", config)))
    assert snakemake(tmp_path, *args, check=False).returncode != 0
    last = (tmp_path / "logs/prepare/GSE19161.log").read_text().strip().splitlines()[-1]
    assert last.startswith("genesel: error: GSE19161: GSE19161_series_matrix.txt.gz: ends inside the expression "
                           "table") and last.endswith(REMOVED)
    assert [p for p in (tmp_path / "resources").rglob("*") if p.is_file()] == []  # nor its record
    snakemake(tmp_path, *args)
    assert local_geo.hits(route) == 2 and (tmp_path / "results/GSE19161/dataset.npz").is_file()
