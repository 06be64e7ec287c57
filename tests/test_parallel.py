"""Order-preserving parallel work: workers forked from this process, or from the prewarm server."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from conftest import REPO

from medallion.runtime.parallel import ordered_map

TESTS = REPO / "tests"
PROBE = """
import json, os, sys
from medallion.runtime import parallel
import prewarm_probe
if sys.argv[1] == "prewarm":
    parallel.prewarm(["prewarm_probe"])
rows = list(parallel.ordered_map(prewarm_probe.where, range(12), 2, warm=sys.argv[2] == "warm"))
print(json.dumps({"main": os.getpid(), "rows": rows}))
"""


def probe(*argv: str) -> dict:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(TESTS), os.environ.get("PYTHONPATH", "")])}
    out = subprocess.run(
        [sys.executable, "-c", PROBE, *argv], capture_output=True, text=True, env=env, timeout=120, check=True
    )
    return json.loads(out.stdout)


def test_results_come_back_in_input_order():
    assert list(ordered_map(abs, range(-40, 0), 2)) == list(range(40, 0, -1))
    assert list(ordered_map(abs, range(-5, 0), 1)) == [5, 4, 3, 2, 1]


def test_prewarmed_workers_start_from_the_server_that_loaded_the_models():
    got = probe("prewarm", "warm")
    tasks, warmed, workers, parents = zip(*got["rows"], strict=True)
    assert list(tasks) == list(range(12))
    (server,) = set(warmed)  # warm_up ran once, in one process ...
    assert server != got["main"] and set(parents) == {server}  # ... the one every worker was forked from
    assert server not in workers and got["main"] not in workers


def test_without_prewarm_or_for_work_that_asks_for_this_process_workers_fork_from_it():
    for argv in (["plain", "warm"], ["prewarm", "cold"]):
        got = probe(*argv)
        assert {row[3] for row in got["rows"]} == {got["main"]}, argv
        assert {row[1] for row in got["rows"]} == {None}, argv  # nothing warmed in this process


RELEASE = """
import os, sys, time
from medallion.runtime import parallel
import prewarm_probe
parallel.prewarm(["prewarm_probe"])
server = parallel.multiprocessing.forkserver._forkserver._forkserver_pid
started = time.monotonic()
parallel.release()
try:
    os.kill(server, 0)
    alive = True
except ProcessLookupError:
    alive = False
rows = list(parallel.ordered_map(prewarm_probe.where, range(3), 2, warm=True))
print(alive, round(time.monotonic() - started, 1), {row[3] for row in rows} == {os.getpid()})
"""


def test_release_stops_the_server_at_once_and_work_forks_from_this_process_again():
    """Even while it is still loading (a 30 s load here): an up-to-date stage does not wait for it."""
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(TESTS), os.environ.get("PYTHONPATH", "")]),
        "PREWARM_PROBE_SECONDS": "30",
    }
    out = subprocess.run(
        [sys.executable, "-c", RELEASE], capture_output=True, text=True, env=env, timeout=120
    )
    alive, seconds, forked_here = out.stdout.split()
    assert alive == "False" and forked_here == "True", out.stderr
    assert float(seconds) < 2.0
