"""bench/soak.py --quick runs to the end against a real hub: no errors, a table, a plot.

The soak's figures (growth, p99) are for the report, not asserted here: on a
shared CI machine they say more about the neighbours than about the hub.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

from kernel.testing.infra import skip_or_fail

ROOT = Path(__file__).resolve().parents[2]
OPERATIONS = ("login", "spawn", "activity", "whoami", "own model", "own tokens",
              "proxy to server", "stop", "logout")


def test_quick_soak_completes_without_errors(tmp_path: Path) -> None:
    if importlib.util.find_spec("matplotlib") is None:
        skip_or_fail("matplotlib is not installed: `pip install -e \".[bench]\"` runs the soak")
    # The hub runs from this venv, not from a fresh bench venv of its own.
    env = os.environ | {"KERNELHUB_BENCH_PYTHON": sys.executable}
    run = subprocess.run(
        [sys.executable, "bench/soak.py", "--quick", "--minutes", "0.75", "--window", "15",
         "--out", str(tmp_path)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-5000:]

    summary = json.loads((tmp_path / "soak.json").read_text())
    assert summary["errors"] == 0, summary["first_errors"]
    assert summary["cycles"] > 0
    assert summary["culled"] > 0, "no server was left to the idle culler and culled"
    assert summary["samples"] >= 4  # every 10 s over 45 s

    table = (tmp_path / "soak.md").read_text()
    assert table == run.stdout
    for operation in OPERATIONS:
        assert f"| {operation} |" in table
    assert "| zero errors | 0 errors | pass |" in table
    for process in ("hub RSS (MiB)", "hub fds", "proxy RSS (MiB)", "proxy fds"):
        assert f"| {process} growth after warm-up" in table

    plot = (tmp_path / "soak.png").read_bytes()
    assert plot.startswith(b"\x89PNG\r\n\x1a\n") and len(plot) > 10_000
