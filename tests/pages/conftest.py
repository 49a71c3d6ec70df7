"""What the page tests share: a hub per module, a browser (the e2e suite's), logging in as a
person does, the admin's API client, and the accessibility check (axe-core)."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from kernel.testing.hub import PASSWORD, HubProcess, running_hub
from kernel.testing.infra import skip_or_fail
from tests.e2e.conftest import ARTIFACTS, browser, screenshot  # noqa: F401 - fixtures

ROOT = Path(__file__).parent.parent.parent
ADMIN_TOKEN = "admin-token-for-the-page-tests"
#: axe-core's browser build (`npm install --prefix .ci-node axe-core`).
AXE = Path(os.environ.get("KERNELHUB_AXE",
                          ROOT / ".ci-node" / "node_modules" / "axe-core" / "axe.min.js"))
#: The axe rules the pages must pass with no violation of these impacts.
BLOCKING_IMPACTS = ("serious", "critical")

#: The test server, behind a shell that makes some servers misbehave on purpose: a named
#: server whose name starts with "broken" exits before it answers, one whose name starts
#: with "slow" takes 4 s to start.
SERVER_CMD = (
    "sh -c 'case \"$JUPYTERHUB_SERVER_NAME\" in "
    "broken*) echo \"this server is broken on purpose\" >&2; exit 3;; "
    "slow*) sleep 4;; esac; "
    f"exec {sys.executable} -m kernel.testing.mockserver'"
)


def sections(**extra: dict[str, str]) -> dict[str, dict[str, str]]:
    """hub.ini for the page tests: an admin (user and token), named servers, the test
    server; ``extra`` sections are merged in."""
    base: dict[str, dict[str, str]] = {
        "hub": {"allow_named_servers": "true"},
        "hub.api_tokens": {ADMIN_TOKEN: "admin"},
        "auth": {"admin_users": "admin"},
        "spawner": {"cmd": SERVER_CMD},
    }
    for name, items in extra.items():
        base.setdefault(name, {}).update(items)
    return base


def module_hub(tmp_path_factory: pytest.TempPathFactory,
               config: dict[str, dict[str, str]]) -> Iterator[HubProcess]:
    """A hub for a whole test module (starting one per test would dominate the time)."""
    with running_hub(tmp_path_factory.mktemp("hub"), config) as hub:
        yield hub


def admin_api(hub: HubProcess) -> httpx.Client:
    return httpx.Client(base_url=f"{hub.url}hub/api", timeout=60,
                        headers={"Authorization": f"token {ADMIN_TOKEN}"})


def new_page(browser, hub: HubProcess, *, width: int = 1280, height: int = 900):  # noqa: F811
    """A page in a browser context of its own (its own cookies: its own person)."""
    context = browser.new_context(viewport={"width": width, "height": height},
                                  base_url=hub.url)
    context.set_default_timeout(20_000)
    return context.new_page()


def log_in(page, name: str, password: str = PASSWORD) -> None:
    """Sign in through the login form, as a person does; waits for the next page."""
    if "/hub/login" not in page.url:
        page.goto("hub/login")
    page.fill("#username_input", name)
    page.fill("#password_input", password)
    with page.expect_navigation():
        page.click("#login_submit")


def wait_for_server(api: httpx.Client, user: str, server: str = "", *, ready: bool = True,
                    timeout: float = 20.0) -> dict:
    """The server model once it is (or is no longer) ready."""
    import time

    path = f"/users/{user}/servers/{server}" if server else f"/users/{user}/server"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        model = api.get(path).json()
        if model.get("ready") == ready and not model.get("pending"):
            return model
        time.sleep(0.1)
    raise AssertionError(f"{user}/{server} did not become {'ready' if ready else 'stopped'}")


# -- accessibility ------------------------------------------------------------------


@pytest.fixture(scope="session")
def axe_script() -> Path:
    if not AXE.is_file():
        skip_or_fail(f"no axe-core at {AXE}: run `npm install --prefix .ci-node axe-core` in "
                     "the repository, or set KERNELHUB_AXE to axe.min.js")
    return AXE


def check_accessibility(page, name: str, axe_script: Path) -> list[dict]:
    """Run axe-core on the page as it is now; fail on serious or critical violations.

    Returns every violation (minor and moderate ones too), for the report; saves
    them next to the screenshots as ``a11y-NAME.json``.
    """
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.add_script_tag(path=str(axe_script))
    result = page.evaluate("""async () => {
        const r = await axe.run(document, {resultTypes: ["violations"]});
        return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
            nodes: v.nodes.map(n => ({target: n.target.join(" "), summary: n.failureSummary}))}));
    }""")
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / f"a11y-{name}.json").write_text(json.dumps(result, indent=2))
    blocking = [v for v in result if v["impact"] in BLOCKING_IMPACTS]
    if blocking:
        details = "\n".join(
            f"- {v['impact']} {v['id']}: {v['help']}\n" + "\n".join(
                f"    {n['target']}: {n['summary']}" for n in v["nodes"][:5])
            for v in blocking)
        pytest.fail(f"accessibility violations on {name} ({page.url}):\n{details}")
    return result
