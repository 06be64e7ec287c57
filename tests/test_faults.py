"""Faults against the real S3 server: the endpoint lost mid multipart upload (connections dropped, or the
server killed), an endpoint that refuses connections, and one that never answers. Each is bounded in time."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import threading
import time

import pytest
from conftest import BIN, free_port, run_cli, wait_for_port

from medallion.core import datasets, pipeline
from medallion.core.store import open_store
from medallion.core.store_s3 import S3Store

pytestmark = [pytest.mark.xdist_group("faults"), pytest.mark.s3, pytest.mark.slow]
DAY = "2026-11-23"
BOUNDS = {
    "MEDALLION_S3_MAX_ATTEMPTS": "2",
    "MEDALLION_S3_CONNECT_TIMEOUT": "1",
    "MEDALLION_S3_READ_TIMEOUT": "3",
}


class Proxy:
    """A loopback TCP proxy in front of the S3 server that passes, drops or stalls connections.

    ``drop_after``: once that many request bytes went through, every connection is closed and new ones
    are closed on arrival (``on_drop`` runs once then), until ``mode`` is set back to ``pass``.
    """

    def __init__(self, target_port: int):
        self.target_port = target_port
        self.mode = "pass"
        self.forwarded = 0
        self.drop_after: int | None = None
        self.on_drop = None
        self._conns: set[socket.socket] = set()
        self._lock = threading.Lock()
        self.server = socket.socket()
        self.server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.server.bind(("127.0.0.1", 0))
        self.server.listen(64)
        self.port = self.server.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            if self.mode == "drop":
                client.close()
                continue
            if self.mode == "stall":  # read the request, never answer
                self._track(client)
                threading.Thread(target=self._swallow, args=(client,), daemon=True).start()
                continue
            try:
                upstream = socket.create_connection(("127.0.0.1", self.target_port), timeout=5)
            except OSError:
                client.close()
                continue
            self._track(client)
            self._track(upstream)
            threading.Thread(target=self._pipe, args=(client, upstream, True), daemon=True).start()
            threading.Thread(target=self._pipe, args=(upstream, client, False), daemon=True).start()

    def _track(self, sock: socket.socket) -> None:
        with self._lock:
            self._conns.add(sock)

    def _swallow(self, sock: socket.socket) -> None:
        try:
            while sock.recv(65536):
                pass
        except OSError:
            pass

    def _pipe(self, src: socket.socket, dst: socket.socket, request: bool) -> None:
        try:
            while data := src.recv(65536):
                if request:
                    self.forwarded += len(data)
                    if (
                        self.drop_after is not None
                        and self.forwarded > self.drop_after
                        and self.mode == "pass"
                    ):
                        self.drop()
                        return
                dst.sendall(data)
        except OSError:
            pass
        finally:
            src.close()
            dst.close()

    def drop(self) -> None:
        self.mode = "drop"
        self.drop_after = None
        with self._lock:
            conns, self._conns = list(self._conns), set()
        for sock in conns:
            try:
                sock.shutdown(socket.SHUT_RDWR)
                sock.close()
            except OSError:
                pass
        if self.on_drop:
            self.on_drop()

    def close(self) -> None:
        self.server.close()
        self.drop()


def _big_crawl(path, documents: int = 20) -> None:
    """About 1 MB per page: the raw dataset goes up as a multipart upload (16 MiB parts)."""
    paragraph = "<p>" + "The committee met again on Tuesday to discuss the budget in detail. " * 40 + "</p>"
    with open(path, "w") as out:
        for i in range(documents):
            html = f"<html><head><title>Long page {i}</title></head><body><article>{paragraph * 350}</article></body></html>"
            out.write(json.dumps({"url": f"https://big.example/{i}", "html": html, "timestamp": f"{DAY}T0{i % 9}:00:00Z"}) + "\n")  # fmt: skip


def _moto(port: int) -> subprocess.Popen:
    exe = shutil.which("moto_server", path=str(BIN)) or shutil.which("moto_server")
    proc = subprocess.Popen(
        [exe, "-H", "127.0.0.1", "-p", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    wait_for_port(port)
    return proc


def _seed(endpoint: str, bucket: str) -> None:
    import boto3

    client = boto3.client(
        "s3", endpoint_url=endpoint, aws_access_key_id="k", aws_secret_access_key="s", region_name="us-east-1"
    )
    client.create_bucket(Bucket=bucket)
    client.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})


def _env(endpoint: str) -> dict:
    return {"AWS_ENDPOINT_URL": endpoint, "AWS_ACCESS_KEY_ID": "k", "AWS_SECRET_ACCESS_KEY": "s",
            "AWS_DEFAULT_REGION": "us-east-1", **BOUNDS}  # fmt: skip


def _store(endpoint: str, bucket: str) -> S3Store:
    import boto3

    client = boto3.client(
        "s3", endpoint_url=endpoint, aws_access_key_id="k", aws_secret_access_key="s", region_name="us-east-1"
    )
    return S3Store(bucket, client=client)


@pytest.mark.parametrize("fault", ["connections-dropped", "server-killed"])
def test_endpoint_lost_mid_multipart_upload_then_rerun_gives_the_same_sha1(tmp_path, fault):
    crawl = tmp_path / "crawl.jsonl"
    _big_crawl(crawl)
    assert crawl.stat().st_size > 18 * 1024 * 1024
    reference = run_cli(
        "-m", "steps.ingest", "--store", f"file://{tmp_path / 'ref'}", "--date", DAY, "--input", str(crawl)
    )
    assert reference.returncode == 0, reference.stderr.decode()
    key = pipeline.dataset_key(pipeline.stage("raw"), DAY)
    expected = datasets.read_meta(open_store(f"file://{tmp_path / 'ref'}"), key)["sha1"]

    port = free_port()
    server = _moto(port)
    proxy = Proxy(port)
    bucket = "faults"
    try:
        _seed(f"http://127.0.0.1:{port}", bucket)
        proxy.drop_after = 8 * 1024 * 1024  # inside the first 16 MiB part
        if fault == "server-killed":
            proxy.on_drop = server.kill
        argv = ["-m", "steps.ingest", "--store", f"s3://{bucket}", "--date", DAY, "--input", str(crawl)]
        started = time.monotonic()
        failed = run_cli(*argv, env=_env(proxy.endpoint), timeout=120)
        assert time.monotonic() - started < 90
        assert failed.returncode == 1
        err = failed.stderr.decode()
        assert "cannot be reached or dropped the connection" in err and "Nothing was committed" in err, err[
            -2000:
        ]
        assert "Traceback" not in err

        if fault == "server-killed":  # an in-memory server lost everything: start it again and seed it
            server.wait(timeout=10)
            server = _moto(port)
            _seed(f"http://127.0.0.1:{port}", bucket)
        store = _store(f"http://127.0.0.1:{port}", bucket)
        assert datasets.read_meta(store, key) is None  # no sidecar ...
        assert not store.exists(key)  # ... and no half dataset visible

        proxy.mode = "pass"
        rerun = run_cli(*argv, env=_env(proxy.endpoint), timeout=120)
        assert rerun.returncode == 0, rerun.stderr.decode()[-2000:]
        assert datasets.read_meta(store, key)["sha1"] == expected
    finally:
        proxy.close()
        server.kill()
        server.wait(timeout=10)


def test_a_refusing_endpoint_fails_fast_with_a_clear_message(tmp_path, small_crawl):
    nobody = f"http://127.0.0.1:{free_port()}"
    started = time.monotonic()
    result = run_cli(
        "-m", "steps.ingest", "--store", "s3://nowhere", "--date", DAY, "--input", str(small_crawl),
        env=_env(nobody), timeout=60,
    )  # fmt: skip
    assert time.monotonic() - started < 30
    assert result.returncode == 1
    err = result.stderr.decode()
    assert f"the S3 endpoint {nobody} cannot be reached" in err and "Traceback" not in err


def test_an_endpoint_that_never_answers_times_out_with_a_clear_message(tmp_path, small_crawl):
    proxy = Proxy(free_port())
    proxy.mode = "stall"
    try:
        started = time.monotonic()
        result = run_cli(
            "-m", "steps.ingest", "--store", "s3://slow", "--date", DAY, "--input", str(small_crawl),
            env=_env(proxy.endpoint), timeout=60,
        )  # fmt: skip
        elapsed = time.monotonic() - started
    finally:
        proxy.close()
    assert elapsed < 40
    assert result.returncode == 1
    err = result.stderr.decode()
    assert "did not answer within 3s (2 attempts)" in err and "MEDALLION_S3_READ_TIMEOUT" in err, err[-1500:]


def test_bounds_come_from_the_environment_and_bad_values_are_named(monkeypatch):
    from medallion.core import config

    monkeypatch.setenv("MEDALLION_S3_READ_TIMEOUT", "2.5")
    assert config.s3_settings().read_timeout == 2.5
    monkeypatch.setenv("MEDALLION_S3_MAX_ATTEMPTS", "zero")
    with pytest.raises(config.ConfigError, match="MEDALLION_S3_MAX_ATTEMPTS"):
        config.s3_settings()


def test_a_silent_endpoint_fails_within_a_minute_with_the_default_bounds(small_crawl):
    """No bound set: connect + read timeout x attempts stay within a minute for the whole step, and no
    other retry layer (s3transfer's, a later request of the same run) multiplies them."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(64)
    accepted: list[socket.socket] = []  # held open, never answered

    def accept() -> None:
        while True:
            try:
                accepted.append(server.accept()[0])
            except OSError:
                return

    threading.Thread(target=accept, daemon=True).start()
    endpoint = f"http://127.0.0.1:{server.getsockname()[1]}"
    defaults = {name: "" for name in BOUNDS}  # empty: unset, whatever this shell exports
    try:
        started = time.monotonic()
        result = run_cli(
            "-m", "steps.ingest", "--store", "s3://silent", "--date", DAY, "--input", str(small_crawl),
            env={**_env(endpoint), **defaults}, timeout=120,
        )  # fmt: skip
        elapsed = time.monotonic() - started
    finally:
        server.close()
        for conn in accepted:
            conn.close()
    print(f"a silent endpoint failed the step after {elapsed:.1f}s with the default bounds")
    assert elapsed < 60
    assert result.returncode == 1
    err = result.stderr.decode()
    assert "Traceback" not in err
    line = err.strip().splitlines()[-1]
    assert (
        line.startswith("error: ")
        and f"the S3 endpoint {endpoint} did not answer within 15s (3 attempts)" in line
    )
    for variable in (
        "MEDALLION_S3_CONNECT_TIMEOUT",
        "MEDALLION_S3_READ_TIMEOUT",
        "MEDALLION_S3_MAX_ATTEMPTS",
    ):
        assert variable in line, line
    assert len(accepted) == 3  # one connection per attempt, for the whole step
