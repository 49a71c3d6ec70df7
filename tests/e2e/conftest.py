"""Real infrastructure for end-to-end tests: Unix accounts, the single-user venv, Chromium,
and the real JupyterHub 6.1.1.

JupyterHub is installed once into its own venv, ``$KERNELHUB_JUPYTERHUB_VENV`` or
``.ci-jupyterhub/`` in the repository, and reused by later runs. Without it (no
network, say) its tests are skipped, except under ``CI=true``.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from kernel.testing.infra import singleuser_venv_file, skip_or_fail
from tests.proxy.conftest import REPO

JUPYTERHUB = "6.1.1"

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).parent.parent.parent / "test-artifacts"


@pytest.fixture(scope="session")
def singleuser_cmd() -> str:
    return str(singleuser_venv_file("jupyterhub-singleuser"))


@pytest.fixture(scope="module")
def browser():
    """Headless Chromium (Debian's), driven by Playwright; never a downloaded browser.

    Module-scoped, not session-scoped: Playwright's sync API keeps an event loop
    running in this thread while it is open, which asyncio.run() in later tests
    cannot share.
    """
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        skip_or_fail("playwright is not installed (pip install playwright)")
    if not CHROMIUM.exists():
        skip_or_fail(f"no Chromium at {CHROMIUM} (apt-get install chromium)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run",
                  "--disable-quic"])
        yield browser
        browser.close()


def screenshot(page, name: str) -> Path:
    """Save a screenshot as a test artifact; its path."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def uid_of(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("Uid:"):
            return int(line.split()[1])
    raise AssertionError(f"no Uid line for process {pid}")


@pytest.fixture(scope="session")
def jupyterhub() -> Path:
    """The ``jupyterhub`` command of JupyterHub 6.1.1, installed into a cached venv once."""
    venv = Path(os.environ.get("KERNELHUB_JUPYTERHUB_VENV") or REPO / ".ci-jupyterhub")
    command = venv / "bin" / "jupyterhub"
    if installed_version(command) != JUPYTERHUB:
        steps = ([sys.executable, "-m", "venv", "--clear", str(venv)],
                 [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet",
                  f"jupyterhub=={JUPYTERHUB}"])
        for step in steps:
            try:
                subprocess.run(step, check=True, capture_output=True, text=True, timeout=900)
            except (OSError, subprocess.SubprocessError) as e:
                output = getattr(e, "stderr", "") or ""
                skip_or_fail(f"cannot install jupyterhub=={JUPYTERHUB} into {venv} "
                             f"({' '.join(step)}): {e}\n{output[-2000:]}")
    return command


def installed_version(command: Path) -> str | None:
    if not command.exists():
        return None
    done = subprocess.run([str(command), "--version"], capture_output=True, text=True)
    return done.stdout.strip() if done.returncode == 0 else None
