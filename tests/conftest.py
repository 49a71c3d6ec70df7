"""Fixtures shared by the whole suite: config loading with test plugins, free ports."""

from __future__ import annotations

import socket
from importlib.metadata import EntryPoint
from pathlib import Path

import pytest

from kernel.config.loader import Loaded, load
from kernel.plugin_manager import installed_plugins
from kernel.testing.infra import skip_or_fail

TEST_PLUGINS = {
    "import-fails": "tests.fake_plugins.import_fails",
    "second-spawner": "tests.fake_plugins.second_spawner",
    "choosy-spawner": "tests.fake_plugins.choosy_spawner",
    "queued-spawner": "tests.fake_plugins.queued_spawner",
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
    "tests/api/test_stateful_fuzz.py", "tests/faults/", "tests/bench/",
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

