"""Downloads against a real HTTP server on 127.0.0.1 that misbehaves on purpose."""

from __future__ import annotations

import hashlib
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

import pytest

from jobs.ingest.download import DownloadError, DownloadSpec, download, download_all

BODY = b'{"marches": []}' * 1000


class Handler(BaseHTTPRequestHandler):
    hits: ClassVar[dict[str, int]] = {}

    def log_message(self, *args):
        pass

    def do_GET(self):
        n = Handler.hits[self.path] = Handler.hits.get(self.path, 0) + 1
        if self.path == "/flaky.json" and n < 3:
            self.send_response(503)
            self.end_headers()
            return
        if self.path == "/truncated-once.json" and n == 1:
            self.send_response(200)
            self.send_header("Content-Length", str(len(BODY)))
            self.end_headers()
            self.wfile.write(BODY[:100])  # then the connection closes: a partial body
            return
        if self.path == "/missing.json":
            self.send_response(404)
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(BODY)))
        self.end_headers()
        self.wfile.write(BODY)


@pytest.fixture(scope="module")
def server():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


def files(folder):
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def test_retries_with_backoff_until_the_server_answers(server, tmp_path):
    got = download(DownloadSpec("decp", f"{server}/flaky.json"), tmp_path, backoff=0.01)
    assert got["attempts"] == 3 and got["sha256"] == hashlib.sha256(BODY).hexdigest()
    assert (tmp_path / "decp" / "flaky.json").read_bytes() == BODY


def test_a_truncated_body_is_never_landed_and_is_retried(server, tmp_path):
    got = download(DownloadSpec("decp", f"{server}/truncated-once.json"), tmp_path, backoff=0.01)
    assert got["attempts"] == 2 and got["size"] == len(BODY)
    assert files(tmp_path / "decp") == ["truncated-once.json"]


def test_checksum_mismatch_leaves_nothing_in_the_inbox(server, tmp_path):
    spec = DownloadSpec("decp", f"{server}/ok.json", sha256="0" * 64)
    with pytest.raises(DownloadError, match="checksum mismatch"):
        download(spec, tmp_path, attempts=2, backoff=0.01)
    assert files(tmp_path / "decp") == []


def test_client_errors_are_not_retried(server, tmp_path):
    with pytest.raises(DownloadError, match=r"after 1 attempt\(s\): HTTP 404"):
        download(DownloadSpec("decp", f"{server}/missing.json"), tmp_path, backoff=0.01)


@pytest.mark.parametrize("name", ["../../etc/passwd", "a\x00b.json", "/abs.json"])
def test_unsafe_download_names_are_refused(server, tmp_path, name):
    with pytest.raises(DownloadError, match="refused download name"):
        download(DownloadSpec("decp", f"{server}/ok.json", name=name), tmp_path)
    assert files(tmp_path) == []


def test_one_failed_url_does_not_stop_the_others(server, tmp_path):
    specs = [DownloadSpec("decp", f"{server}/missing.json"), DownloadSpec("decp", f"{server}/ok.json"),
             DownloadSpec("sirene", f"{server}/other.json")]
    report = download_all(specs, tmp_path, "decp", backoff=0.01)
    assert [d["name"] for d in report["downloaded"]] == ["ok.json"]
    assert [f["url"].rsplit("/", 1)[1] for f in report["failed"]] == ["missing.json"]
