"""Fixtures shared by the whole suite: config loading with test plugins, free ports."""

from __future__ import annotations

import os
import pwd
import secrets
import socket
import subprocess
from collections.abc import Callable, Iterator
from importlib.metadata import EntryPoint
from pathlib import Path

import pytest

from kernel.config.loader import Loaded, load
from kernel.plugin_manager import installed_plugins

#: In CI every real dependency must be there: a missing one fails instead of skipping.
IN_CI = os.environ.get("CI", "").lower() == "true"
#: The password of the Unix accounts the tests make.
PASSWORD = "S3cret-pw-for-tests"
#: A venv any user can read, with JupyterHub 6.1.1 (jupyterhub-singleuser, its service
#: helpers), jupyterlab and ipykernel; made from /usr/bin/python3 by .ci/run.
SINGLEUSER_VENV = Path(os.environ.get("KERNELHUB_SINGLEUSER_VENV", "/opt/kernelhub-singleuser"))

TEST_PLUGINS = {
    "import-fails": "tests.fake_plugins.import_fails",
    "second-spawner": "tests.fake_plugins.second_spawner",
    "misspelled": "tests.fake_plugins.misspelled",
    "wrapper": "tests.fake_plugins.wrapper",
    "first": "tests.fake_plugins.recorder:first",
    "second": "tests.fake_plugins.recorder:second",
    "third": "tests.fake_plugins.recorder:third",
    "raising-observer": "tests.fake_plugins.raising_observer",
    "async-logger": "tests.fake_plugins.async_logger",
    "options-plugin": "tests.fake_plugins.options_plugin",
    "probe": "tests.fake_plugins.hook_probe",
    "dict-authenticator": "tests.fake_plugins.dict_authenticator",
    "auth-rules": "tests.fake_plugins.auth_rules",
    "state-authenticator": "tests.fake_plugins.state_authenticator",
    "tls-provider": "tests.fake_plugins.tls_provider",
    "notes": "tests.fake_plugins.notes",
    "badges": "tests.fake_plugins.badges",
}


#: Suites that drive a real engine: JupyterLab single-user servers and real JupyterHub
#: services, Chromium, PostgreSQL and MariaDB, configurable-http-proxy, statsd and
#: Prometheus, PAM with Unix accounts; and the property-based runs of the REST API spec,
#: which start many hubs. They are marked `slow`, so `pytest -m "not slow"` runs the rest
#: in a fraction of the time.
SLOW_SUITES = (
    "tests/e2e/", "tests/pages/", "tests/services/", "tests/auth/test_pam.py",
    "tests/metrics/test_prometheus_server.py", "tests/metrics/test_statsd.py",
    "tests/metrics/test_idle_culler.py", "tests/api/test_idle_culler.py",
    "tests/proxy/test_chp_parity.py", "tests/proxy/test_chp_parity_flags.py",
    "tests/proxy/test_chp_plugin.py", "tests/api/test_schema.py",
    "tests/api/test_stateful_fuzz.py",
)
SLOW_ENGINES = ("postgres", "mysql")
_ROOT = Path(__file__).parent.parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        where = item.path.relative_to(_ROOT).as_posix() if item.path.is_relative_to(_ROOT) \
            else ""
        if where.startswith(SLOW_SUITES) or any(item.get_closest_marker(engine)
                                                  for engine in SLOW_ENGINES):
            item.add_marker(pytest.mark.slow)


#: The first plugin of docs/plugins.md: a distribution of its own, tested once installed.
SAMPLE_PLUGIN = _ROOT / "tests" / "sample_plugin"


@pytest.fixture(autouse=True)
def sample_plugin_installed(request: pytest.FixtureRequest) -> None:
    if request.path.is_relative_to(SAMPLE_PLUGIN) and "hello" not in installed_plugins():
        skip_or_fail("kernelhub-hello is not installed: `pip install -e tests/sample_plugin` "
                     "runs its tests")


def skip_or_fail(reason: str) -> None:
    """Skip on a laptop without the dependency; fail in CI, where it must be installed."""
    if IN_CI:
        pytest.fail(f"{reason} (CI=true: this dependency must be installed)")
    pytest.skip(reason)


def singleuser_venv_file(name: str) -> Path:
    """A program of the single-user venv (``bin/NAME``); skips or fails without it."""
    path = SINGLEUSER_VENV / "bin" / name
    if not os.access(path, os.X_OK):
        skip_or_fail(f"no {name} at {path}: make the venv with `/usr/bin/python3 -m venv "
                     f"{SINGLEUSER_VENV}` and install jupyterhub==6.1.1, jupyterlab and "
                     "ipykernel into it (or set KERNELHUB_SINGLEUSER_VENV)")
    return path


@pytest.fixture
def installed() -> dict[str, EntryPoint]:
    """The real installed plugins plus the test plugins, as entry points."""
    plugins = dict(installed_plugins())
    for name, value in TEST_PLUGINS.items():
        plugins[name] = EntryPoint(name, value, "kernelhub")
    return plugins


@pytest.fixture
def load_ini(installed, tmp_path):
    """Load hub.ini text (with test plugins installed); `hub.ini` in a temp folder."""

    def load_text(text: str, environ: dict[str, str] | None = None) -> Loaded:
        return load(tmp_path / "hub.ini", text=text, environ=environ or {}, installed=installed)

    return load_text


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def unix_user() -> Iterator[Callable[[], pwd.struct_passwd]]:
    """Makes real Unix accounts (with a home and the password PASSWORD); removes them after."""
    if os.geteuid() != 0:
        skip_or_fail("creating Unix accounts needs root")
    made: list[str] = []

    def make() -> pwd.struct_passwd:
        name = f"kh{secrets.token_hex(4)}"
        subprocess.run(["useradd", "-m", "-s", "/bin/bash", name], check=True)
        subprocess.run(["chpasswd"], input=f"{name}:{PASSWORD}", text=True, check=True)
        made.append(name)
        return pwd.getpwnam(name)

    yield make
    for name in made:
        subprocess.run(["pkill", "-KILL", "-u", name], check=False)
        subprocess.run(["userdel", "-r", "-f", name], check=False, capture_output=True)
