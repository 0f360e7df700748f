"""The provider benchmark runs (a --quick smoke run, well under 5 s)."""

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
