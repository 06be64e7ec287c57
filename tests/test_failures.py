"""Failures a user can reach are one line on stderr and an exit code, never a traceback, and they come fast.

Each test runs the real CLI as a subprocess: a read-only store, a full disk, output into a reader that went
away, a busy or impossible port, a store that is a file, a folder given as the crawl, options and configs
that are wrong (refused before any stage runs), Ctrl-C in the middle of a stage, and no temporary folder
or scratch file left behind on any of these paths.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from conftest import BIN, REPO

from medallion.core import datasets, pipeline
from medallion.core.store import open_store
from medallion.core.store_local import LocalStore

pytestmark = [pytest.mark.xdist_group("failures"), pytest.mark.slow]
DAY = "2026-11-23"


def cli(
    *args: str,
    prefix: list[str] | tuple = (),
    env: dict | None = None,
    stdin=None,
    stdout=subprocess.PIPE,
    timeout: float = 120,
) -> subprocess.CompletedProcess:
    """``medallion ...`` or ``python -m steps.x`` as a subprocess, optionally under a command ``prefix``."""
    cmd = [str(BIN / "medallion"), *args[1:]] if args[0] == "medallion" else [sys.executable, *args]
    full_env = {**os.environ, "MEDALLION_PROGRESS_SECONDS": "60", **(env or {})}
    return subprocess.run(
        [*prefix, *cmd], env=full_env, stdin=stdin, stdout=stdout, stderr=subprocess.PIPE, cwd=REPO,
        timeout=timeout,
    )  # fmt: skip


def one_line(result: subprocess.CompletedProcess, codes: tuple[int, ...] = (1, 2)) -> str:
    """The one ``error:`` (or ``interrupted:``) line of a failed command; no traceback anywhere."""
    err = result.stderr.decode()
    assert result.returncode in codes, (result.returncode, err[-3000:])
    assert "Traceback" not in err, err[-3000:]
    said = [line for line in err.splitlines() if line.startswith(("error:", "interrupted:"))]
    assert len(said) == 1, err[-3000:]
    return said[0]


def nothing_left(store: Path, tmpdir: Path | None = None) -> None:
    """No scratch file, lease or temporary folder survives a run, whatever its end."""
    scratch = store / ".scratch"
    assert not scratch.exists() or not any(scratch.iterdir()), list(scratch.iterdir())
    assert not list(store.rglob("_lease.json"))
    if tmpdir is not None:
        assert not any(tmpdir.iterdir()), list(tmpdir.iterdir())


def sidecars(store: Path) -> set[str]:
    return {str(p.relative_to(store)) for p in store.rglob("*.meta.yaml")}


def private_mount(kind: str, folder: Path) -> list[str]:
    """A command prefix: what follows runs with ``folder`` mounted read-only (``ro``) or as a 1 MiB tmpfs
    (``tiny``) in a mount namespace of its own, so no other process sees it. Afterwards ``<folder>.after``
    lists what the folder held when the command ended (a tmpfs goes away with its namespace)."""
    mount = {"ro": 'mount -o bind,ro "$0" "$0"', "tiny": 'mount -t tmpfs -o size=1m tmpfs "$0"'}[kind]
    script = f'{mount} || exit 99; "$@"; code=$?; find "$0" -mindepth 1 > "$0.after"; exit $code'
    unshare = ["unshare", "-m"] if os.geteuid() == 0 else ["unshare", "-r", "-m"]
    prefix = [*unshare, "sh", "-c", script, str(folder)]
    probe = subprocess.run([*prefix, "true"], capture_output=True, timeout=30)
    if probe.returncode != 0:
        why = f"this machine allows no private mount ({probe.stderr.decode().strip() or probe.returncode})"
        if os.environ.get("CI"):
            pytest.fail(why)
        pytest.skip(why)
    return prefix


def left_in(folder: Path) -> list[str]:
    return [line for line in Path(f"{folder}.after").read_text().splitlines() if line]


@pytest.fixture(scope="module")
def built(tmp_path_factory, small_crawl) -> Path:
    """A local store with raw and url-normalization of the small crawl."""
    store = tmp_path_factory.mktemp("built") / "store"
    result = cli("medallion", "run", "--store", str(store), "--date", DAY, "--input", str(small_crawl),
                 "--until", "url-normalization")  # fmt: skip
    assert result.returncode == 0, result.stderr.decode()[-3000:]
    return store


# -- the store and the disk ----------------------------------------------------------------------------


def test_a_read_only_store_is_one_line(tmp_path, small_crawl):
    store = tmp_path / "store"
    store.mkdir()
    if os.geteuid() != 0:  # permissions stop everyone but root
        store.chmod(0o555)
        prefix: list[str] = []
    else:
        prefix = private_mount("ro", store)
    result = cli("medallion", "run", "--store", str(store), "--date", DAY, "--input", str(small_crawl),
                 "--until", "raw", prefix=prefix)  # fmt: skip
    line = one_line(result, (1,))
    assert str(store) in line
    assert "(EROFS)" in line or "(EACCES)" in line, line
    assert "--store" in line
    assert not list(store.iterdir())


def test_a_full_disk_is_one_line_and_leaves_no_scratch(tmp_path, small_crawl):
    store = tmp_path / "store"
    store.mkdir()
    assert small_crawl.stat().st_size > 2 * 1024 * 1024  # more than the 1 MiB disk holds
    result = cli("medallion", "run", "--store", str(store), "--date", DAY, "--input", str(small_crawl),
                 "--until", "raw", prefix=private_mount("tiny", store))  # fmt: skip
    line = one_line(result, (1,))
    assert "No space left on device (ENOSPC)" in line and "[raw]" in line, line
    left = left_in(store)
    assert not [p for p in left if p.endswith(".meta.yaml") or "/.scratch/" in p or "_lease" in p], left


def test_output_to_a_full_device_is_one_line(built):
    with open("/dev/full", "wb") as full:
        result = cli("medallion", "ls", "--store", str(built), stdout=full)
    assert "No space left on device (ENOSPC)" in one_line(result, (1,))


@pytest.mark.parametrize("command", ["ls", "lineage"])
def test_output_into_a_reader_that_went_away_ends_quietly(built, command):
    """``medallion ls | head -1``: once the reader has gone, the rest of the output has nowhere to go."""
    uri = f"file://{built}/html-classification/preprocess/url-normalization/{DAY}/"
    argv = ["ls", "--store", str(built)] if command == "ls" else ["lineage", uri]
    proc = subprocess.Popen([str(BIN / "medallion"), *argv], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc.stdout.close()  # the reader stopped before the first line: every write meets a closed pipe
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=60) == 141, err
    assert err == ""  # quiet: no traceback, no "Exception ignored"


def test_a_store_that_is_a_file_is_one_line(tmp_path, small_crawl):
    file = tmp_path / "hostname"
    file.write_text("not a store\n")
    for argv in (
        ["medallion", "run", "--store", f"file://{file}", "--date", DAY, "--input", str(small_crawl)],
        ["-m", "steps.ingest", "--store", f"file://{file}", "--date", DAY, "--input", str(small_crawl)],
        ["medallion", "ls", "--store", f"file://{file}"],
    ):
        line = one_line(cli(*argv), (1,))
        assert f"{file} is a file; a local store is a folder" in line, line


def test_a_folder_as_the_crawl_is_one_line(tmp_path):
    result = cli("-m", "steps.ingest", "--store", str(tmp_path / "store"), "--date", DAY,
                 "--input", str(tmp_path))  # fmt: skip
    assert "is a folder, not a file" in one_line(result, (1,))


# -- the labeling service's port -------------------------------------------------------------------------


def test_the_labeler_on_a_busy_port_is_one_line():
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = cli("medallion", "labeler", "serve", "--port", str(port), env={"LABELER_TOKEN": "t"},
                     timeout=30)  # fmt: skip
    line = one_line(result, (1,))
    assert f"127.0.0.1:{port}" in line and "(EADDRINUSE)" in line and "--port" in line, line


def test_the_labeler_on_an_impossible_port_is_one_line():
    result = cli("medallion", "labeler", "serve", "--port", "70000", env={"LABELER_TOKEN": "t"}, timeout=30)
    assert "0 to 65535" in one_line(result, (2,))


# -- options and configuration, checked before any stage runs -------------------------------------------


def _bad_rules(tmp_path: Path) -> dict:
    folder = tmp_path / "config"
    shutil.copytree(REPO / "medallion" / "config", folder)
    (folder / "text-normalization.yaml").write_text(
        "versions:\n  v1:\n    description: x\n    rules: [nope]\n"
    )
    return {"MEDALLION_CONFIG_DIR": str(folder)}


def _bad_gates(tmp_path: Path) -> dict:
    folder = tmp_path / "config"
    shutil.copytree(REPO / "medallion" / "config", folder)
    (folder / "quality.yaml").write_text("gates:\n  raw:\n    speed: {min: 1}\n")
    return {"MEDALLION_CONFIG_DIR": str(folder)}


RUN_MISTAKES = {
    "unknown version": (["--versions", "v1,v9"], None, "--versions: unknown version(s) v9"),
    "unknown version to label": (["--annotate-version", "v9"], None, "--annotate-version: unknown version"),
    "unknown dedup rule": (["--dedup", "canonical-url,nope"], None, "--dedup: unknown rule(s) nope"),
    "unknown label source": (["--label-source", "crowd"], None, "--label-source must be 'api' or"),
    "missing label export": (
        ["--label-source", "label-studio:/no/export.json"],
        None,
        "no such Label Studio",
    ),
    "value outside its enum": (
        ["--mode", "delete"],
        None,
        "argument --mode: invalid choice: 'delete' (choose from 'remove', 'relabel')",
    ),
    "bad rule-set config": ([], _bad_rules, "unknown rule 'nope'"),
    "bad quality config": ([], _bad_gates, "gate 'speed' of raw"),
}


@pytest.mark.parametrize("mistake", list(RUN_MISTAKES))
def test_run_checks_every_option_before_any_stage(tmp_path, small_crawl, mistake):
    extra, env, message = RUN_MISTAKES[mistake]
    store = tmp_path / "store"
    started = time.monotonic()
    result = cli("medallion", "run", "--store", str(store), "--date", DAY, "--input", str(small_crawl),
                 *extra, env=env(tmp_path) if env else None)  # fmt: skip
    elapsed = time.monotonic() - started
    line = one_line(result, (2,))
    assert line.startswith("error: ") and message in line, line
    assert not (store / "html-classification").exists()  # not even raw ran
    assert elapsed < 20


STEP_MISTAKES = {
    "url-normalization dedup": (["-m", "steps.url_normalization", "--dedup", "nope"], "unknown rule(s) nope"),
    "text-normalization version": (["-m", "steps.text_normalization", "--versions", "v9"], "unknown version"),
    "text-normalization config": (["-m", "steps.text_normalization", "--config", "/no/rules.yaml"], "does not exist"),
    "annotation label source": (["-m", "steps.annotation", "--label-source", "crowd"], "--label-source must be"),
}  # fmt: skip


@pytest.mark.parametrize("mistake", list(STEP_MISTAKES))
def test_a_step_checks_its_options_before_reading_anything(tmp_path, mistake):
    argv, message = STEP_MISTAKES[mistake]
    store = tmp_path / "store"
    result = cli(*argv, "--store", str(store), "--date", DAY)
    assert message in one_line(result, (2,))
    assert not store.exists()


# -- Ctrl-C -----------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def big(tmp_path_factory) -> tuple[Path, Path]:
    """A crawl of 3,000 articles (html-parsing takes seconds on it) and a store with its raw and
    url-normalization layers built from stdin, as the interrupted runs read it."""
    from medallion.demo.synthetic import CrawlSpec, write_crawl

    folder = tmp_path_factory.mktemp("big")
    crawl = folder / "crawl.jsonl"
    with open(crawl, "w", encoding="utf-8") as out:
        write_crawl(CrawlSpec(date=DAY, documents=3000, seed=5), out)
    store = folder / "store"
    with open(crawl, "rb") as stdin:
        result = cli("medallion", "run", "--store", str(store), "--date", DAY, "--input", "-",
                     "--until", "url-normalization", stdin=stdin)  # fmt: skip
    assert result.returncode == 0, result.stderr.decode()[-3000:]
    return crawl, store


def _default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def interrupt(argv: list[str], marker: str, tmpdir: Path, stdin: Path | None, group: bool):
    """Start the command, send SIGINT once ``marker`` shows on stderr (to its whole process group, as a
    terminal's Ctrl-C does, or to the process alone, as ``kill -INT`` does); its exit code and stderr."""
    cmd = [str(BIN / "medallion"), *argv[1:]] if argv[0] == "medallion" else [sys.executable, *argv]
    env = {**os.environ, "MEDALLION_PROGRESS_SECONDS": "0.1", "MEDALLION_WORKERS": "2", "TMPDIR": str(tmpdir)}
    with open(stdin or os.devnull, "rb") as source:
        # As from a terminal: SIGINT at its default even where these tests run with it ignored (a shell's
        # background job), which the command would inherit and Python would then keep ignoring.
        proc = subprocess.Popen(cmd, env=env, stdin=source, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                cwd=REPO, start_new_session=True, preexec_fn=_default_sigint)  # fmt: skip
    lines: list[bytes] = []
    reader = threading.Thread(target=lambda: lines.extend(iter(proc.stderr.readline, b"")), daemon=True)
    reader.start()
    deadline = time.monotonic() + 120
    try:
        while not any(marker.encode() in line for line in lines):
            assert proc.poll() is None, b"".join(lines).decode()[-3000:]
            assert time.monotonic() < deadline, b"".join(lines).decode()[-3000:]
            time.sleep(0.02)
        (os.killpg if group else os.kill)(proc.pid, signal.SIGINT)
        code = proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    reader.join(timeout=10)
    return code, b"".join(lines).decode()


CTRL_C = {
    "medallion run": (["medallion", "run", "--input", "-", "--until", "text-normalization"], True),
    "medallion run --isolate, kill -INT": (
        ["medallion", "run", "--isolate", "--input", "-", "--until", "text-normalization"],
        False,
    ),
    "the step alone": (["-m", "steps.html_parsing"], True),
}


@pytest.mark.parametrize("how", list(CTRL_C))
def test_ctrl_c_exits_130_and_says_nothing_was_committed(tmp_path, big, how):
    crawl, built_store = big
    store = tmp_path / "store"
    shutil.copytree(built_store, store)
    tmpdir = tmp_path / "tmp"
    tmpdir.mkdir()
    before = sidecars(store)
    argv, group = CTRL_C[how]
    code, err = interrupt([*argv, "--store", str(store), "--date", DAY], "[html-parsing] ", tmpdir,
                          crawl if "-" in argv else None, group)  # fmt: skip
    assert code == 130, err[-3000:]
    assert "Traceback" not in err, err[-3000:]
    said = [line for line in err.splitlines() if line.startswith(("error:", "interrupted:"))]
    assert said == ["interrupted: nothing was committed for html-parsing"], err[-3000:]
    assert sidecars(store) == before  # html-parsing committed nothing, not even its rejects
    assert datasets.read_meta(open_store(str(store)), pipeline.dataset_key(pipeline.stage("html-parsing"), DAY)) is None  # fmt: skip
    nothing_left(store, tmpdir)


# -- temporary folders and scratch files on every exit path -----------------------------------------------


def _junk_crawl(path: Path) -> Path:
    """One good line and nine junk ones: ingest's quality gate (at most 20% quarantined) stops it."""
    good = '{"url": "https://a.example/1", "html": "<html><title>A page</title><p>Text.</p></html>", "timestamp": "2026-11-23T01:00:00Z"}'
    path.write_text(good + "\n" + "not json\n" * 9)
    return path


@pytest.mark.parametrize("outcome", ["success", "failure"])
def test_no_temporary_folder_survives_a_run(tmp_path, store_uri, small_crawl, outcome):
    """Local and S3 stores: the spooled stdin, the step's scratch and every download are gone."""
    tmpdir = tmp_path / "tmp"
    tmpdir.mkdir()
    crawl = small_crawl if outcome == "success" else _junk_crawl(tmp_path / "junk.jsonl")
    with open(crawl, "rb") as stdin:
        result = cli("medallion", "run", "--store", store_uri, "--date", DAY, "--input", "-",
                     "--until", "html-parsing", stdin=stdin, env={"TMPDIR": str(tmpdir)})  # fmt: skip
    if outcome == "success":
        assert result.returncode == 0, result.stderr.decode()[-3000:]
    else:
        assert "quality gate failed" in one_line(result, (1,))
    store = open_store(store_uri)
    if isinstance(store, LocalStore):
        nothing_left(store.root, tmpdir)
    else:
        assert not any(tmpdir.iterdir()), list(tmpdir.iterdir())
        assert not [key for key in store.list("") if key.endswith("_lease.json")]


def test_reproduce_removes_its_scratch_unless_asked_to_keep_it(tmp_path, built):
    uri = f"file://{built}/html-classification/preprocess/url-normalization/{DAY}/"
    tmpdir = tmp_path / "tmp"
    tmpdir.mkdir()
    env = {"TMPDIR": str(tmpdir)}
    gone = cli("medallion", "reproduce", uri, env=env)
    assert gone.returncode == 0, gone.stderr.decode()[-3000:]
    assert b"identical" in gone.stdout and b"scratch: removed" in gone.stdout
    assert not any(tmpdir.iterdir())

    kept = cli("medallion", "reproduce", uri, "--keep-scratch", env=env)
    assert kept.returncode == 0, kept.stderr.decode()[-3000:]
    [folder] = list(tmpdir.iterdir())
    assert f"scratch: file://{folder}".encode() in kept.stdout and any(folder.iterdir())

    named = tmp_path / "mine"
    again = cli("medallion", "reproduce", uri, "--scratch", str(named), env=env)
    assert again.returncode == 0, again.stderr.decode()[-3000:]
    assert any(named.iterdir())  # a folder you named is yours: kept
    assert list(tmpdir.iterdir()) == [folder]


def test_every_failure_a_user_reads_has_one_base(capsys):
    """One type is caught by the command line and every step: each module's own error derives from it."""
    from medallion.core import contracts, datasets, sidecar
    from medallion.core import store_interface as store
    from medallion.core.config import ConfigError
    from medallion.core.errors import MedallionError, StepFailed
    from medallion.labeling import api as labeling
    from medallion.runtime import quality_gates
    from medallion.runtime.failures import UsageError, run
    from medallion.tools import croissant

    kinds = (
        StepFailed,
        ConfigError,
        UsageError,
        quality_gates.QualityConfigError,
        store.StoreError,
        store.NotFound,
        store.AccessDenied,
        datasets.DatasetNotFound,
        datasets.DataMismatch,
        sidecar.SidecarError,
        labeling.LabelingFailed,
        labeling.BudgetExhausted,
        croissant.CroissantError,
        contracts.ContractError,
    )
    assert all(issubclass(kind, MedallionError) for kind in kinds)

    class NewFailure(MedallionError):
        pass

    def fail():
        raise NewFailure("the store is on fire: move it")

    assert run(fail) == 1
    assert capsys.readouterr().err == "error: the store is on fire: move it\n"
