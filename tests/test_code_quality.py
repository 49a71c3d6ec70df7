"""The code's own rules, checked with every test run: ruff's lint rules (pyproject.toml)
and the import contract that the kernel never imports the plugins (import-linter)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from tests.conftest import skip_or_fail

ROOT = Path(__file__).resolve().parent.parent


def test_ruff_finds_nothing():
    result = subprocess.run([sys.executable, "-m", "ruff", "check", "kernel", "plugins",
                             "tests", "bench", "contrib"], cwd=ROOT, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_kernel_never_imports_the_plugins():
    command = shutil.which("lint-imports", path=str(Path(sys.executable).parent))
    if command is None:
        skip_or_fail("import-linter is not installed (pip install -e '.[test]')")
    result = subprocess.run([command], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "The kernel never imports the plugins KEPT" in result.stdout
