"""The benchmarks run (on tiny sizes): their figures are checked by people, but they must not rot."""

from __future__ import annotations

import pytest
from conftest import REPO, run_cli

pytestmark = pytest.mark.slow


def test_throughput_bench_runs_and_prints_its_table():
    result = run_cli(str(REPO / "bench" / "throughput.py"), "--sizes", "150,300", timeout=600)
    assert result.returncode == 0, result.stderr.decode()[-2000:]
    out = result.stdout.decode()
    assert "peak memory 300 / 150" in out and "text-normalization" in out


def test_quality_overhead_bench_runs_and_prints_its_table():
    result = run_cli(str(REPO / "bench" / "quality_overhead.py"), "--documents", "120", timeout=600)
    assert result.returncode == 0, result.stderr.decode()[-2000:]
    assert "contract us/row" in result.stdout.decode()
