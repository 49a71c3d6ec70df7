"""kernel-proxy against configurable-http-proxy and a direct connection, in one table.

    python bench/proxy.py            # about a minute
    python bench/proxy.py --quick    # about half a minute

One backend (``bench/proxy_backend.py``) serves all three targets: itself
("direct", the limit), kernel-proxy in front of it, and configurable-http-
proxy (CHP) in front of it, each started with the flags JupyterHub gives CHP.
The same workloads (``bench/proxy_workloads.py``) run against each, one workload
at a time across the three: small GETs at concurrency 1, 32 and 256 (requests/s, p50,
p99), a 100 MB download and upload (MB/s), websocket echo round trips on one
connection (per second, p50), and the proxy's CPU time and peak memory. The
table ends with kernel-proxy's ratios to CHP and to direct, and whether each
target of the proxy issue is met. bench/README.md says what it needs.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TypeVar

import httpx
from proxy_workloads import (
    MB,
    Target,
    cpu_seconds,
    download,
    peak_rss_mb,
    small_gets,
    upload,
    websocket_echo,
)

T = TypeVar("T")

REPO = Path(__file__).resolve().parents[1]
TOKEN = "bench-token"
CONCURRENCIES = (1, 32, 256)
SMALL_GET = "/bytes/64"
TRANSFER = 100 * MB
DIRECT, KERNEL_PROXY, CHP = "direct", "kernel-proxy", "CHP"
#: A one-minute load average above this means something else competed for the CPUs.
BUSY = 0.5


@dataclass(frozen=True)
class Settings:
    #: Whole seconds (wrk's -d takes no fractions).
    get_seconds: int
    warm_up_seconds: int
    transfer_repeats: int
    websocket_seconds: float


FULL = Settings(get_seconds=5, warm_up_seconds=1, transfer_repeats=3, websocket_seconds=3)
QUICK = Settings(get_seconds=2, warm_up_seconds=1, transfer_repeats=1, websocket_seconds=1)


@dataclass(frozen=True)
class Row:
    key: str
    label: str
    #: True when more is better (throughput), False when less is (latency, CPU, memory).
    higher_is_better: bool
    #: The issue's target for kernel-proxy / CHP, if it sets one.
    goal: float | None = None


ROWS = [
    *(row for c in CONCURRENCIES for row in (
        Row(f"get{c}_rps", f"GET c={c:<3}  requests/s", True, 1.5),
        Row(f"get{c}_p50", f"GET c={c:<3}  p50 ms", False),
        Row(f"get{c}_p99", f"GET c={c:<3}  p99 ms", False, 1.0))),
    Row("download", "download 100 MB  MB/s", True, 2.0),
    Row("upload", "upload 100 MB  MB/s", True, 2.0),
    Row("ws_rps", "websocket echo  round trips/s", True, 1.0),
    Row("ws_p50", "websocket echo  p50 µs", False),
    Row("cpu_us_per_get", "proxy CPU  µs per GET", False),
    Row("cpu_s", "proxy CPU  s, whole run", False),
    Row("rss_mb", "proxy peak RSS  MB", False),
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(ready: Callable[[], bool], what: str, process: subprocess.Popen,
               log: Path) -> None:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if process.poll() is not None:
            break
        with contextlib.suppress(httpx.TransportError, OSError):
            if ready():
                return
        time.sleep(0.05)
    sys.exit(f"{what} did not start; its log ({log}):\n{log.read_text(errors='replace')}")


@contextlib.contextmanager
def started(command: list[str], log: Path, env: dict[str, str] | None = None
            ) -> Iterator[subprocess.Popen]:
    with open(log, "wb") as output:  # a file, not a pipe: a full pipe would stall it
        process = subprocess.Popen(command, cwd=REPO, stdout=output, stderr=subprocess.STDOUT,
                                   env={**os.environ, "PYTHONPATH": str(REPO), **(env or {})})
    try:
        yield process
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def start_backend(stack: contextlib.ExitStack, logs: Path) -> tuple[int, int]:
    port, ws_port = free_port(), free_port()
    log = logs / "backend.log"
    process = stack.enter_context(started(
        [sys.executable, str(REPO / "bench" / "proxy_backend.py"), str(port), str(ws_port)], log))
    wait_until(lambda: "ready" in log.read_text(), "the backend", process, log)
    return port, ws_port


def start_proxy(stack: contextlib.ExitStack, logs: Path, name: str, command: list[str],
                backend: int, ws_backend: int) -> Target:
    """The proxy running with JupyterHub's flags, routing / and /ws to the backend."""
    port, api_port = free_port(), free_port()
    log = logs / f"{name}.log"
    process = stack.enter_context(started(
        [*command, "--ip", "127.0.0.1", "--port", str(port), "--api-ip", "127.0.0.1",
         "--api-port", str(api_port), "--log-level", "info"],
        log, {"CONFIGPROXY_AUTH_TOKEN": TOKEN}))
    api = f"http://127.0.0.1:{api_port}/api/routes"
    headers = {"Authorization": f"token {TOKEN}"}
    wait_until(lambda: httpx.get(api, headers=headers).status_code == 200, name, process, log)
    for path, target in (("/", backend), ("/ws", ws_backend)):
        httpx.post(api + path, json={"target": f"http://127.0.0.1:{target}"},
                   headers=headers).raise_for_status()
    return Target(name, port, f"ws://127.0.0.1:{port}/ws", process.pid)


def chp_command(given: str | None) -> list[str]:
    """configurable-http-proxy: --chp, $KERNELHUB_CHP, PATH, or CI's .ci-node install."""
    for candidate in (given, os.environ.get("KERNELHUB_CHP"),
                      shutil.which("configurable-http-proxy"),
                      REPO / ".ci-node" / "node_modules" / ".bin" / "configurable-http-proxy"):
        if candidate and Path(candidate).is_file():
            return [str(candidate)]
    sys.exit("configurable-http-proxy not found: `npm install --prefix .ci-node "
             "configurable-http-proxy` in the repository, or pass --chp PATH "
             "(see bench/README.md)")


def measure(targets: list[Target], settings: Settings) -> dict[str, dict[str, float]]:
    """Every workload against every target: target name -> row key -> value.

    One workload runs against the three targets before the next begins, so
    that whatever else the machine does at a moment weighs on them alike.
    """
    results: dict[str, dict[str, float]] = {t.name: {"errors": 0} for t in targets}

    def on(target: Target, work: Callable[[], T]) -> T:
        """Run ``work``, adding the CPU time the target's proxy spent to its ``cpu_s``."""
        before = cpu_seconds(target.pid) if target.pid else 0.0
        value = work()
        if target.pid:
            row = results[target.name]
            row["cpu_s"] = row.get("cpu_s", 0.0) + cpu_seconds(target.pid) - before
        return value

    for target in targets:
        small_gets(target, SMALL_GET, 32, settings.warm_up_seconds)
    get_requests = dict.fromkeys(results, 0)
    for c in CONCURRENCIES:
        progress(f"GET c={c}")
        for target in targets:
            got = on(target, partial(small_gets, target, SMALL_GET, c,
                                     settings.get_seconds))
            row = results[target.name]
            row[f"get{c}_rps"], row[f"get{c}_p50"], row[f"get{c}_p99"] = (
                got.requests_per_second, got.p50_ms, got.p99_ms)
            row["errors"] += got.errors
            get_requests[target.name] += got.requests
    for target in targets:
        if target.pid:
            row = results[target.name]
            row["cpu_us_per_get"] = row["cpu_s"] / get_requests[target.name] * 1e6
    for key, transfer in (("download", download), ("upload", upload)):
        progress(f"{key} {TRANSFER // MB} MB")
        for target in targets:
            results[target.name][key] = statistics.median(
                on(target, partial(transfer, target, TRANSFER))
                for _ in range(settings.transfer_repeats))
    progress("websocket echo")
    for target in targets:
        row = results[target.name]
        row["ws_rps"], row["ws_p50"] = on(target, partial(
            websocket_echo, target, settings.websocket_seconds))
        if target.pid:
            row["rss_mb"] = peak_rss_mb(target.pid)
    return results


def progress(what: str) -> None:
    print(f"  {what}", file=sys.stderr, flush=True)


def version(command: list[str]) -> str:
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        done = subprocess.run(command, capture_output=True, text=True, timeout=10)
        return (done.stdout or done.stderr).strip().splitlines()[0]
    return "?"


def table(results: dict[str, dict[str, float]], settings: Settings, chp: list[str],
          load_before: float) -> str:
    """The results as a text table, with a line about the machine and the tools."""
    loader = version(["wrk", "-v"]).split(" [")[0] if shutil.which("wrk") else "Python"
    lines = [
        f"{os.cpu_count()} CPUs, Linux {platform.release()}, Python {platform.python_version()},"
        f" node {version(['node', '--version'])}, configurable-http-proxy "
        f"{version([*chp, '--version'])}; load: {loader}, {settings.get_seconds:g} s per GET "
        f"run, transfers: median of {settings.transfer_repeats}; load average before: "
        f"{load_before:.2f}",
        "",
        f"{'':32}{DIRECT:>10}{KERNEL_PROXY:>14}{CHP:>10}{'kp/CHP':>9}{'kp/direct':>11}"
        f"{'target':>10}",
    ]
    for row in ROWS:
        values = [results[t].get(row.key) for t in (DIRECT, KERNEL_PROXY, CHP)]
        kp, chp_value, direct = values[1], values[2], values[0]
        to_chp = kp / chp_value if kp is not None and chp_value else None
        to_direct = kp / direct if kp is not None and direct else None
        goal = ""
        if row.goal is not None and to_chp is not None:
            met = to_chp >= row.goal if row.higher_is_better else to_chp <= row.goal
            goal = f"{'≥' if row.higher_is_better else '≤'}{row.goal:g}x {'ok' if met else 'MISS'}"
        lines.append(f"{row.label:32}" + "".join(f"{_number(v):>{w}}" for v, w in
                                                 zip(values, (10, 14, 10), strict=True))
                     + f"{_ratio(to_chp):>9}{_ratio(to_direct):>11}{goal:>13}")
    for name, values in results.items():
        if values.get("errors"):
            lines.append(f"note: {name} had {values['errors']:g} failed GETs")
    if load_before > BUSY:
        lines.append("note: other processes were using the CPUs; expect noisy numbers")
    return "\n".join(lines)


def _number(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value:,.0f}" if value >= 100 else f"{value:.2f}"


def _ratio(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}x"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--quick", action="store_true", help="shorter runs (about 30 s)")
    parser.add_argument("--chp", help="the configurable-http-proxy command to run")
    args = parser.parse_args()
    settings = QUICK if args.quick else FULL
    chp = chp_command(args.chp)
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="kernelhub-bench-") as folder, \
            contextlib.ExitStack() as stack:
        logs = Path(folder)
        backend, ws_backend = start_backend(stack, logs)
        targets = [
            Target(DIRECT, backend, f"ws://127.0.0.1:{ws_backend}/ws"),
            start_proxy(stack, logs, KERNEL_PROXY, [sys.executable, "-m", "plugins.kernel_proxy"],
                        backend, ws_backend),
            start_proxy(stack, logs, CHP, chp, backend, ws_backend),
        ]
        print("Running, each workload against direct, kernel-proxy and CHP:", file=sys.stderr)
        results = measure(targets, settings)
    print(table(results, settings, chp, load_before))


if __name__ == "__main__":
    main()
