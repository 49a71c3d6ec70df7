"""The real Prometheus server and the real statsd daemon, started for a test on free ports.

Prometheus is Debian's ``prometheus`` package (``$KERNELHUB_PROMETHEUS`` or on
the PATH); statsd is npm's ``statsd`` (``$KERNELHUB_STATSD`` names its
``stats.js``, else ``.ci-node/node_modules/statsd/stats.js`` as ``.ci/run``
installs it), run by ``node``. Without them these tests skip, and fail in CI.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import socket
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from kernel.testing.hub import free_port, stop_process, wait_until
from kernel.testing.infra import skip_or_fail

ROOT = Path(__file__).parent.parent.parent
#: A token for [hub.api_tokens] (the hub hashes it at start-up).
METRICS_TOKEN = "metrics-reader-token-0123456789"
#: hub.ini sections: the prometheus plugin, and a user whose token may read the metrics.
METRICS_READER = {
    "hub": {"plugins": "prometheus"},
    "hub.api_tokens": {METRICS_TOKEN: "metrics-reader"},
    "role:metrics": {"scopes": "read:metrics", "users": "metrics-reader"},
}


def wait_for(condition: Callable[[], Any], timeout: float, what: str) -> Any:
    """The first truthy value of ``condition()``, asked every 0.1 s; fails after ``timeout``."""
    return wait_until(condition, timeout, interval=0.1, what=what)


# -- Prometheus -----------------------------------------------------------------------


class PrometheusServer:
    """A running Prometheus and its HTTP API."""

    def __init__(self, url: str, log: Path) -> None:
        self.url = url
        self.log = log

    def target_health(self) -> str:
        targets = httpx.get(f"{self.url}/api/v1/targets").json()["data"]["activeTargets"]
        return targets[0]["health"] if targets else "unknown"

    def query(self, expression: str) -> dict[str, float]:
        """Each series of an instant query, as ``{label=value,...}`` -> value."""
        answer = httpx.get(f"{self.url}/api/v1/query", params={"query": expression}).json()
        return {_series_name(series["metric"]): float(series["value"][1])
                for series in answer["data"]["result"]}


def _series_name(metric: dict[str, str]) -> str:
    labels = {k: v for k, v in metric.items() if k not in ("__name__", "instance", "job")}
    return ",".join(f"{k}={v}" for k, v in sorted(labels.items()))


def prometheus_binary() -> str:
    binary = os.environ.get("KERNELHUB_PROMETHEUS") or shutil.which("prometheus")
    if not binary:
        skip_or_fail("the Prometheus server is not installed (apt-get install prometheus, or "
                     "set KERNELHUB_PROMETHEUS to its binary)")
    return binary


@contextlib.contextmanager
def running_prometheus(directory: Path, target: str, token: str) -> Iterator[PrometheusServer]:
    """Prometheus scraping ``target`` (host:port) /hub/metrics every second with ``token``."""
    binary = prometheus_binary()
    directory.mkdir(parents=True, exist_ok=True)
    config = directory / "prometheus.yml"
    # JSON is YAML: no YAML library needed to write the configuration.
    config.write_text(json.dumps({
        "global": {"scrape_interval": "1s", "scrape_timeout": "1s"},
        "scrape_configs": [{
            "job_name": "kernelhub",
            "metrics_path": "/hub/metrics",
            "authorization": {"credentials": token},
            "static_configs": [{"targets": [target]}],
        }],
    }))
    port = free_port()
    log = directory / "prometheus.log"
    with open(log, "wb") as output:
        process = subprocess.Popen(
            [binary, f"--config.file={config}", f"--storage.tsdb.path={directory / 'data'}",
             f"--web.listen-address=127.0.0.1:{port}", "--log.level=warn"],
            stdout=output, stderr=subprocess.STDOUT)
    server = PrometheusServer(f"http://127.0.0.1:{port}", log)
    try:
        wait_for(lambda: _answers(f"{server.url}/-/ready") or process.poll() is not None,
                 20, "Prometheus ready")
        if process.poll() is not None:
            raise AssertionError(f"Prometheus exited at start-up:\n{log.read_text()}")
        yield server
    finally:
        stop_process(process)


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


# -- statsd -----------------------------------------------------------------------------


class StatsdDaemon:
    """A running statsd and its management port (``counters``, ``timers``, ``gauges``)."""

    def __init__(self, port: int, management_port: int) -> None:
        self.port = port
        self.management_port = management_port

    def ask(self, command: str) -> dict[str, Any]:
        """What the management port answers, as a dict (it writes JavaScript objects)."""
        with socket.create_connection(("127.0.0.1", self.management_port), timeout=5) as s:
            s.sendall(command.encode() + b"\n")
            answer = b""
            while not answer.endswith(b"END\n\n"):
                chunk = s.recv(65536)
                if not chunk:
                    break
                answer += chunk
        return parse_js_object(answer.decode())

    def wait_for(self, command: str, name: str, timeout: float = 10) -> dict[str, Any]:
        """The answer to ``command`` once it has ``name`` (UDP samples arrive a bit later)."""

        def answer_with_name() -> dict[str, Any] | None:
            answer = self.ask(command)
            return answer if name in answer else None

        return wait_for(answer_with_name, timeout, f"{name} in statsd's {command}")


_ENTRY = re.compile(r"'([^']+)': (\[[^\]]*\]|[^,\n}]+)")


def parse_js_object(text: str) -> dict[str, Any]:
    """``{ 'a.b': 1, 'c': [ 2, 3 ] }`` (node's util.inspect) as a dict of floats and lists."""
    entries = {}
    for name, value in _ENTRY.findall(text):
        entries[name] = ([float(v) for v in value.strip("[] ").split(",") if v.strip()]
                         if value.startswith("[") else float(value))
    return entries


def statsd_command() -> list[str]:
    node = shutil.which("node")
    script = os.environ.get("KERNELHUB_STATSD") or str(
        ROOT / ".ci-node" / "node_modules" / "statsd" / "stats.js")
    if node is None or not Path(script).is_file():
        skip_or_fail("the statsd daemon is not installed (npm install --prefix .ci-node "
                     "statsd, or set KERNELHUB_STATSD to its stats.js; node must be on PATH)")
    return [node, script]


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def statsd_daemon(tmp_path: Path) -> Iterator[StatsdDaemon]:
    command = statsd_command()
    daemon = StatsdDaemon(free_udp_port(), free_port())
    config = tmp_path / "statsd-config.js"
    config.write_text(json.dumps({
        "port": daemon.port, "address": "127.0.0.1",
        "mgmt_port": daemon.management_port, "mgmt_address": "127.0.0.1",
        "backends": ["./backends/console"], "dumpMessages": True,
        # Counters reset at each flush: none during a test.
        "flushInterval": 3_600_000,
    }))
    log = tmp_path / "statsd.log"
    with open(log, "wb") as output:
        process = subprocess.Popen([*command, str(config)], stdout=output,
                                   stderr=subprocess.STDOUT)
    try:
        wait_for(lambda: _health(daemon) or process.poll() is not None, 10, "statsd up")
        if process.poll() is not None:
            raise AssertionError(f"statsd exited at start-up:\n{log.read_text()}")
        yield daemon
    finally:
        stop_process(process)


def _health(daemon: StatsdDaemon) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", daemon.management_port), timeout=1) as s:
            s.sendall(b"health\n")
            return s.recv(100).startswith(b"health: up")
    except OSError:
        return False
