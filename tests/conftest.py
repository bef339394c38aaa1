"""Shared fixtures: simulated GDS files, the real benchmarks in ../shared/data, a local GEO server."""

from __future__ import annotations

import gzip
import http.server
import threading
from pathlib import Path

import pytest

from genesel.simulate import simulate_gds

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"


def shared_file(name: str) -> Path:
    """A real benchmark from ../shared/data; its absence fails the test (never a silent skip)."""
    path = SHARED_DATA / name
    if not path.is_file():
        pytest.fail(f"real-data test input missing: {path} (the repo expects ../shared/data beside it)")
    return path


@pytest.fixture(scope="session")
def small_sim(tmp_path_factory):
    """A small simulated GDS (60 arrays, 400 probes, 3 classes)."""
    return simulate_gds(tmp_path_factory.mktemp("sim"), name="GDSSIM7", n_samples=60, n_probes=400, seed=7)


class _Handler(http.server.BaseHTTPRequestHandler):
    routes: dict = {}
    hits: dict = {}

    def log_message(self, *args):  # keep test output clean
        pass

    def do_GET(self):  # noqa: N802 (http.server naming)
        self.hits[self.path] = self.hits.get(self.path, 0) + 1
        route = self.routes.get(self.path)
        if route is None:
            self.send_error(404)
            return
        status, body, headers = route(self.hits[self.path])
        self.send_response(status)
        for key, value in headers.items():
            self.send_header(key, value)
        if "Content-Length" not in headers:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        try:
            if callable(body):  # a body that streams itself (and may stall mid-file)
                body(self.wfile)
            else:
                self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass


class LocalGeo:
    """A tiny HTTP server on 127.0.0.1 that plays GEO's datasets tree."""

    def __init__(self):
        _Handler.routes, _Handler.hits = {}, {}
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/geo"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def route(self, accession: str, handler, platform: str | None = None) -> str:
        """Serve ``handler`` where GEO keeps the accession's file (see ``geo_url``)."""
        from urllib.parse import urlparse

        from genesel.sources.download import geo_url

        path = urlparse(geo_url(accession, self.url, platform)).path
        _Handler.routes[path] = handler
        return path

    def hits(self, path: str) -> int:
        return _Handler.hits.get(path, 0)

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def local_geo():
    server = LocalGeo()
    yield server
    server.close()


@pytest.fixture(scope="session")
def gds_bytes(small_sim) -> bytes:
    return small_sim.soft_path.read_bytes()


def gzip_text(text: str) -> bytes:
    return gzip.compress(text.encode(), mtime=0)
