"""Real infrastructure for end-to-end tests: Unix accounts, the single-user venv, Chromium."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import singleuser_venv_file, skip_or_fail

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

