"""The provider benchmarks run (--quick smoke runs, a few seconds each)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def run_bench(script: str, *args: str, timeout: float) -> subprocess.CompletedProcess[str]:
    """Run ``benchmarks/<script> <args>`` from the repository root; fail on a non-zero exit."""
    result = subprocess.run(
        [sys.executable, f"benchmarks/{script}", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result


def test_bench_provider_quick_prints_its_table() -> None:
    result = run_bench("bench_provider.py", "--quick", timeout=60)
    for variant in ("baseline", "provider", "provider+session"):
        assert variant in result.stdout
    assert "vs baseline" in result.stdout


def test_bench_client_edges_quick_cancel_run_prints_its_table() -> None:
    result = run_bench("bench_client_edges.py", "--quick", "--cancel-only", timeout=120)
    rows = [line for line in result.stdout.splitlines() if line.startswith("| 3.")]
    assert len(rows) == 2
    assert all("| 3/3 " in row for row in rows), result.stdout


def test_bench_parser_quick_prints_our_decoder() -> None:
    result = run_bench("bench_parser.py", "--quick", timeout=120)
    assert "oa_provider ChatEventDecoder" in result.stdout
