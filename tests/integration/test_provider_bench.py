"""The provider benchmarks run (--quick smoke runs, a few seconds each)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_bench_provider_quick_prints_its_table() -> None:
    result = subprocess.run(
        [sys.executable, "benchmarks/bench_provider.py", "--quick"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    for variant in ("baseline", "provider", "provider+session"):
        assert variant in result.stdout
    assert "vs baseline" in result.stdout


def test_bench_client_edges_quick_cancel_run_prints_its_table() -> None:
    result = subprocess.run(
        [sys.executable, "benchmarks/bench_client_edges.py", "--quick", "--cancel-only"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    rows = [line for line in result.stdout.splitlines() if line.startswith("| 3.")]
    assert len(rows) == 2
    assert all("| 3/3 " in row for row in rows), result.stdout


def test_bench_parser_quick_prints_our_decoder() -> None:
    script = ROOT / "benchmarks" / "bench_parser.py"
    result = subprocess.run(
        [sys.executable, str(script), "--quick"], capture_output=True, text=True, check=True
    )
    assert "oa_provider ChatEventDecoder" in result.stdout
