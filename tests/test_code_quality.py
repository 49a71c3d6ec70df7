"""The code's own rules, checked with every test run: ruff's lint rules (pyproject.toml),
the import contracts (import-linter): the kernel never imports the plugins nor jinja2,
no plugin imports the database layer, and third-party plugins import only kernel.api;
and mypy finds no error in the kernel and the plugins ([tool.mypy] in pyproject.toml)."""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path

from kernel.testing.infra import skip_or_fail

ROOT = Path(__file__).resolve().parent.parent


def test_ruff_finds_nothing():
    result = subprocess.run([sys.executable, "-m", "ruff", "check", "kernel", "plugins",
                             "tests", "bench", "contrib"], cwd=ROOT, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


#: The third-party plugins the contracts check: lint-imports finds them installed.
THIRD_PARTY = {"kernelhub_jsonlog": "contrib/kernelhub-jsonlog",
               "kernelhub_docker": "contrib/kernelhub-docker",
               "kernelhub_slurm": "contrib/kernelhub-slurm",
               "kernelhub_hello": "tests/sample_plugin"}


def test_the_import_contracts_are_kept():
    command = shutil.which("lint-imports", path=str(Path(sys.executable).parent))
    if command is None:
        skip_or_fail("import-linter is not installed (pip install -e '.[test]')")
    for package, folder in THIRD_PARTY.items():
        if importlib.util.find_spec(package) is None:
            skip_or_fail(f"{package} is not installed: `pip install -e {folder}`")
    result = subprocess.run([command], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Contracts: 4 kept, 0 broken." in result.stdout


def test_mypy_finds_no_error_in_the_kernel_and_the_plugins():
    if importlib.util.find_spec("mypy") is None:
        skip_or_fail("mypy is not installed (pip install -e '.[test]')")
    # The files and every setting come from [tool.mypy]; no cache, so nothing stale passes.
    result = subprocess.run([sys.executable, "-m", "mypy", "--no-incremental"], cwd=ROOT,
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
