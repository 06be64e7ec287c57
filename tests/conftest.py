"""Shared fixtures: stores (a local folder and a real S3-protocol server process), crawls, CLI runners.

S3 tests run against ``moto_server`` started as its own process on 127.0.0.1, or against any endpoint
given in ``S3_TEST_ENDPOINT_URL`` (with ``S3_TEST_ACCESS_KEY_ID`` / ``S3_TEST_SECRET_ACCESS_KEY``), for
example a real MinIO.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"nothing listening on 127.0.0.1:{port} after {timeout}s")


class S3Server:
    """Connection settings of the S3 endpoint the tests use."""

    def __init__(self, endpoint: str, access_key: str, secret_key: str, region: str = "us-east-1"):
        self.endpoint = endpoint
        self.access_key = access_key
        self.secret_key = secret_key
        self.region = region

    def env(self) -> dict[str, str]:
        return {
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_ACCESS_KEY_ID": self.access_key,
            "AWS_SECRET_ACCESS_KEY": self.secret_key,
            "AWS_DEFAULT_REGION": self.region,
        }

    def client(self):
        import boto3

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            aws_access_key_id=self.access_key,
            aws_secret_access_key=self.secret_key,
            region_name=self.region,
        )

    def new_bucket(self) -> str:
        name = f"test-{uuid.uuid4().hex[:16]}"
        self.client().create_bucket(Bucket=name)
        return name


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory) -> S3Server:
    external = os.environ.get("S3_TEST_ENDPOINT_URL")
    if external:
        yield S3Server(
            external,
            os.environ["S3_TEST_ACCESS_KEY_ID"],
            os.environ["S3_TEST_SECRET_ACCESS_KEY"],
            os.environ.get("S3_TEST_REGION", "us-east-1"),
        )
        return
    exe = shutil.which("moto_server", path=str(BIN)) or shutil.which("moto_server")
    if exe is None:
        if os.environ.get("CI"):
            pytest.fail("moto_server is not installed: run `make venv` (moto[server] is a dev dependency)")
        pytest.skip(
            "moto_server is not installed (pip install 'moto[server]'); set S3_TEST_ENDPOINT_URL instead"
        )
    port = free_port()
    log = tmp_path_factory.mktemp("moto") / "moto.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [exe, "-H", "127.0.0.1", "-p", str(port)], stdout=out, stderr=subprocess.STDOUT
        )
    try:
        wait_for_port(port)
        yield S3Server(f"http://127.0.0.1:{port}", "testing-access-key", "testing-secret-key")
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.fixture
def s3_env(s3_server, monkeypatch) -> S3Server:
    """Points boto3 (in this process and in subprocesses) at the test S3 server."""
    for name, value in s3_server.env().items():
        monkeypatch.setenv(name, value)
    return s3_server


@pytest.fixture(params=["local", "s3"])
def store_uri(request, tmp_path) -> str:
    """A fresh, empty store: a local folder, or a new bucket on the S3 server."""
    if request.param == "local":
        return f"file://{tmp_path / 'store'}"
    server = request.getfixturevalue("s3_env")
    return f"s3://{server.new_bucket()}/team-a"


@pytest.fixture(scope="session")
def small_crawl(tmp_path_factory) -> Path:
    """A synthetic crawl batch of 120 articles plus duplicates, re-crawls and junk lines."""
    from medallion.demo.synthetic import CrawlSpec, write_crawl

    path = tmp_path_factory.mktemp("crawl") / "crawl.jsonl"
    with open(path, "w", encoding="utf-8") as out:
        write_crawl(CrawlSpec(date="2026-11-23", documents=120, seed=3, junk_rate=0.05), out)
    return path


def run_cli(
    *args: str,
    env: dict | None = None,
    stdin: bytes | None = None,
    cwd: Path | None = None,
    timeout: float = 300,
) -> subprocess.CompletedProcess:
    """Run a command of this project as a real subprocess (``medallion ...`` or ``python -m steps.x``)."""
    full_env = {**os.environ, "MEDALLION_PROGRESS_SECONDS": "60", **(env or {})}
    if args[0] == "medallion":
        cmd = [str(BIN / "medallion"), *args[1:]]
    else:
        cmd = [sys.executable, *args]
    return subprocess.run(
        cmd, env=full_env, input=stdin, capture_output=True, cwd=cwd or REPO, timeout=timeout
    )


class Labeler:
    """A running reference labeling service (a real process on loopback)."""

    def __init__(self, url: str, token: str, proc: subprocess.Popen, port: int, args: list[str]):
        self.url, self.token, self.proc, self.port, self.args = url, token, proc, port, args

    def usage(self) -> dict:
        import json
        import urllib.request

        request = urllib.request.Request(
            f"{self.url}/v1/usage", headers={"Authorization": f"Bearer {self.token}"}
        )
        with urllib.request.urlopen(request, timeout=5) as response:
            return json.loads(response.read())

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=10)

    def start(self) -> None:
        self.proc = start_labeler_process(self.port, self.token, self.args)


def start_labeler_process(port: int, token: str, args: list[str]) -> subprocess.Popen:
    proc = subprocess.Popen(
        [str(BIN / "medallion"), "labeler", "serve", "--port", str(port), *args],
        env={**os.environ, "LABELER_TOKEN": token},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wait_for_port(port)
    return proc


def start_labeler(*args: str) -> Labeler:
    port = free_port()
    token = f"test-token-{uuid.uuid4().hex}"
    return Labeler(
        f"http://127.0.0.1:{port}", token, start_labeler_process(port, token, list(args)), port, list(args)
    )


@pytest.fixture(scope="session")
def labeler_service():
    service = start_labeler("--noise", "0.08")
    yield service
    service.stop()


@pytest.fixture
def labeler_env(labeler_service, monkeypatch) -> Labeler:
    monkeypatch.setenv("LABELER_URL", labeler_service.url)
    monkeypatch.setenv("LABELER_TOKEN", labeler_service.token)
    return labeler_service


def build(store: str, crawl: Path, until: str, day: str = "2026-11-23", env: dict | None = None) -> None:
    """Run the pipeline through ``until`` with the real CLI; fail the test with the CLI's stderr if it fails."""
    result = run_cli(
        "medallion", "run", "--store", store, "--date", day, "--input", str(crawl), "--until", until, env=env
    )
    assert result.returncode == 0, result.stderr.decode()[-3000:]


# -- an S3 server that enforces IAM policies, one user per identity ---------------------------------------


class IAMStore:
    """A versioned bucket on an S3 server that enforces IAM, with one user per identity of
    ``medallion policies render``, each holding exactly its rendered policy."""

    def __init__(self, endpoint: str, bucket: str, admin: dict, identities: dict[str, dict]):
        self.endpoint, self.bucket, self.admin, self.identities = endpoint, bucket, admin, identities
        self.uri = f"s3://{bucket}"

    def env(self, identity: str | None = None) -> dict[str, str]:
        creds = self.admin if identity is None else self.identities[identity]
        return {
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_ACCESS_KEY_ID": creds["access_key"],
            "AWS_SECRET_ACCESS_KEY": creds["secret_key"],
            "AWS_DEFAULT_REGION": "us-east-1",
            "MEDALLION_IDENTITY": identity or "admin",
        }

    def client(self, identity: str | None = None, service: str = "s3"):
        import boto3

        env = self.env(identity)
        return boto3.client(
            service,
            endpoint_url=self.endpoint,
            aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
            region_name="us-east-1",
        )

    def store(self, identity: str | None = None):
        """The bucket as a medallion store, with the admin's (or an identity's) credentials."""
        from medallion.core.store_s3 import S3Store

        return S3Store(self.bucket, client=self.client(identity))

    def secrets(self) -> list[str]:
        """Every credential of this store: what must never appear in data, metadata, logs or manifests."""
        creds = [self.admin, *self.identities.values()]
        return [c["secret_key"] for c in creds] + [c["access_key"] for c in creds]


def _iam_admin(endpoint: str) -> dict:
    """Inside the server's first unauthenticated requests: an admin user with an access key."""
    import json

    import boto3

    iam = boto3.client(
        "iam", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="bootstrap",
        aws_secret_access_key="bootstrap",
    )  # fmt: skip
    iam.create_user(UserName="admin")
    everything = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
    iam.put_user_policy(UserName="admin", PolicyName="admin", PolicyDocument=json.dumps(everything))
    key = iam.create_access_key(UserName="admin")["AccessKey"]
    return {"access_key": key["AccessKeyId"], "secret_key": key["SecretAccessKey"]}


@pytest.fixture(scope="session")
def iam_server(tmp_path_factory) -> tuple[str, dict]:
    """(endpoint, admin credentials) of an S3 server with IAM enforcement on.

    moto_server enforces policies once its first INITIAL_NO_AUTH_ACTION_COUNT requests are spent (the three
    that create the admin). Against another server set S3_TEST_IAM_ENDPOINT_URL and
    S3_TEST_IAM_ADMIN_ACCESS_KEY_ID / S3_TEST_IAM_ADMIN_SECRET_ACCESS_KEY (it must speak the IAM API).
    """
    external = os.environ.get("S3_TEST_IAM_ENDPOINT_URL")
    if external:
        yield (
            external,
            {
                "access_key": os.environ["S3_TEST_IAM_ADMIN_ACCESS_KEY_ID"],
                "secret_key": os.environ["S3_TEST_IAM_ADMIN_SECRET_ACCESS_KEY"],
            },
        )
        return
    exe = shutil.which("moto_server", path=str(BIN)) or shutil.which("moto_server")
    if exe is None:
        if os.environ.get("CI"):
            pytest.fail("moto_server is not installed: run `make venv` (moto[server] is a dev dependency)")
        pytest.skip("moto_server is not installed (pip install 'moto[server]')")
    port = free_port()
    log = tmp_path_factory.mktemp("moto-iam") / "moto.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [exe, "-H", "127.0.0.1", "-p", str(port)],
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, "INITIAL_NO_AUTH_ACTION_COUNT": "3"},
        )
    try:
        wait_for_port(port)
        endpoint = f"http://127.0.0.1:{port}"
        yield endpoint, _iam_admin(endpoint)
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def provision(endpoint: str, admin: dict, tmp_path: Path) -> IAMStore:
    """A new versioned bucket, and a user per identity with the policy rendered for that bucket."""
    from medallion.tools import policies

    bucket = f"iam-{uuid.uuid4().hex[:16]}"
    store = IAMStore(endpoint, bucket, admin, {})
    s3 = store.client()
    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    iam = store.client(service="iam")
    for path in policies.render(bucket, tmp_path / "policies"):
        user = f"{bucket}-{path.stem}"
        iam.create_user(UserName=user)
        iam.put_user_policy(UserName=user, PolicyName=path.stem, PolicyDocument=path.read_text())
        key = iam.create_access_key(UserName=user)["AccessKey"]
        store.identities[path.stem] = {"access_key": key["AccessKeyId"], "secret_key": key["SecretAccessKey"]}
    return store


@pytest.fixture
def iam_store(iam_server, tmp_path) -> IAMStore:
    return provision(*iam_server, tmp_path)


THREE_DAYS = ("2026-12-01", "2026-12-02", "2026-12-03")


@pytest.fixture(scope="session")
def three_days(tmp_path_factory):
    """A store ``medallion demo --days 3`` built once, with its release and registered model:
    (store URI, environment, folder, the demo's output). Tests that change a batch put it back."""
    root = tmp_path_factory.mktemp("three-days")
    env = {"LABELER_URL": "", "LABELER_TOKEN": "", "LABELER_NAME": ""}  # the demo starts its own
    env["MLFLOW_TRACKING_URI"] = f"sqlite:///{root / 'mlflow.db'}"
    store = f"file://{root / 'data'}"
    built = run_cli(
        "medallion", "demo", "--store", store, "--date", THREE_DAYS[-1], "--days", "3", "--documents", "120",
        # The release tests' store, not a gate test: 24 gold documents a day make accuracy a coin toss.
        "--warn-only",
        env=env, cwd=root, timeout=600,
    )  # fmt: skip
    assert built.returncode == 0, built.stderr.decode()[-3000:]
    return store, env, root, built.stdout.decode()


def meta_of(store: str, stage: str, name: str) -> dict | None:
    """The sidecar of ``stage``'s dataset for the date or release ``name`` in ``store`` (None: none)."""
    from medallion.core import datasets, pipeline
    from medallion.core.store import open_store

    return datasets.read_meta(open_store(store), pipeline.dataset_key(pipeline.stage(stage), name))
