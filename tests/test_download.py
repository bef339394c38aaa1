"""GEO download against a local HTTP server: success, cache, and every failure mode."""

from __future__ import annotations

import gzip

import pytest

from genesel.errors import DownloadError, NotOnGeoError
from genesel.sources.download import fetch_geo, geo_url
from genesel.sources.gds import read_gds


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
