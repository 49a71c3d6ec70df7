"""Soak run: 300 users cycling through log in, spawn, activity, API calls, stop, log out.

    python bench/soak.py                 # 30 minutes, 5-minute windows
    python bench/soak.py --quick         # 3 minutes, 1-minute windows
    python bench/soak.py --minutes 10 --out /tmp/soak

One kernelhub (``bench/hub_targets.py``: SQLite, dummy authenticator, the
``simple`` spawner running ``kernel.testing.mockserver``, kernel-proxy) with
the idle-culler plugin on, driven by ``bench/soak_users.py``; the hub's and
the proxy's RSS and open fds are sampled every 10 s. Prints a markdown table
(also written as ``soak.md``), and writes ``soak.png`` (RSS, fds, p99 over
time) and ``soak.json`` (the figures) in ``--out``. See bench/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path

import uvloop
from hub_targets import PASSWORD, KernelHub, find_kernelhub_python, rss_mib, user_names
from soak_report import Report, Sample
from soak_users import Record, Settings, User

REPO = Path(__file__).resolve().parents[1]
SAMPLE_EVERY = 10.0


@dataclass(frozen=True)
class Run:
    """A run's length and pace: the users' settings and the idle culler's."""

    minutes: float
    window_seconds: float
    users: Settings
    cull_timeout: int
    cull_every: int


def settings_for(work: float, away: float, cull_timeout: int) -> Settings:
    return Settings(work_seconds=work, away_seconds=away,
                    # Three reports per timeout: a working server is never culled.
                    activity_every=cull_timeout / 3,
                    walk_away_share=1 / 8,
                    cull_deadline=cull_timeout * 2 + 30,
                    # Half the hub's shared budget ([hub] concurrent_request_limit = 64) and
                    # under its server-call budget (32): nothing queues, nothing is shed.
                    hub_concurrency=24,
                    password=PASSWORD)


# 300 users; a user's server runs for about work + 2 s per cycle of work + 2 + away
# seconds, so about 300 * 32 / 330 ≈ 30 servers run at any time (≈ 1 spawn/s) in a full
# run, and 300 * 10 / 110 ≈ 27 (≈ 3 spawns/s) in a quick one.
FULL = Run(30, 300, settings_for(work=30, away=300, cull_timeout=60), 60, 10)
QUICK = Run(3, 60, settings_for(work=8, away=100, cull_timeout=15), 15, 5)
USERS = 300


def progress(message: str) -> None:
    print(f"[soak {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def open_fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


async def sample(hub: KernelHub, users: list[User], began: float, until: float,
                 samples: list[Sample]) -> None:
    """Every SAMPLE_EVERY seconds until ``until``: the hub's and the proxy's RSS and fds."""
    proxy = hub.proxy_pid()
    if proxy is None:
        raise RuntimeError(f"the hub runs no kernel-proxy; see its log {hub.log}")
    while (now := time.monotonic()) < until:
        samples.append(Sample(at=now - began, hub_rss=rss_mib(hub.hub_pid) or 0.0,
                              hub_fds=open_fds(hub.hub_pid), proxy_rss=rss_mib(proxy) or 0.0,
                              proxy_fds=open_fds(proxy),
                              running_servers=sum(u.server_up for u in users)))
        if len(samples) % 6 == 0:
            last = samples[-1]
            progress(f"{last.at / 60:.1f} min: hub {last.hub_rss:.0f} MiB {last.hub_fds} fds, "
                     f"proxy {last.proxy_rss:.0f} MiB {last.proxy_fds} fds, "
                     f"{last.running_servers} servers running")
        await asyncio.sleep(SAMPLE_EVERY)


async def soak(hub: KernelHub, tokens: dict[str, str], run: Run, record: Record,
               samples: list[Sample]) -> None:
    gate = asyncio.Semaphore(run.users.hub_concurrency)
    users = [User(name, token, hub.hub_port, hub.public_port, run.users, gate, record)
             for name, token in tokens.items()]
    record.began = began = time.monotonic()
    deadline = began + run.minutes * 60
    # Each user first arrives at a random moment of one cycle's length, so that starts
    # (and running servers) are spread evenly from the first minute on.
    period = run.users.work_seconds + run.users.away_seconds
    sampler = asyncio.create_task(sample(hub, users, began, deadline, samples))
    await asyncio.gather(*(u.run(random.uniform(0, period), deadline) for u in users))
    await sampler


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--quick", action="store_true",
                        help="3 minutes in 1-minute windows, shorter cycles and culler timeout")
    parser.add_argument("--minutes", type=float, help="run this long instead")
    parser.add_argument("--window", type=float,
                        help="seconds per window (default: 300, 60 with --quick)")
    parser.add_argument("--out", type=Path,
                        help="where soak.md, soak.png and soak.json go "
                             "(default: bench/results/)")
    args = parser.parse_args()
    run = QUICK if args.quick else FULL
    minutes = args.minutes or run.minutes
    window = args.window or run.window_seconds
    out = args.out or REPO / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "kernelhub-bench"
    kernelhub_python = find_kernelhub_python(cache)
    load_before = os.getloadavg()[0]

    folder = Path(tempfile.mkdtemp(prefix="kernelhub-soak-"))
    hub = KernelHub(folder, kernelhub_python)
    hub.extra_sections = {
        "hub": {"plugins": "idle-culler"},
        "idle-culler": {"timeout": str(run.cull_timeout), "cull_every": str(run.cull_every)},
    }
    names = user_names(0, USERS)
    hub.database = folder / "soak.sqlite"
    hub.create_database()
    hub.seed(names)
    record = Record()
    samples: list[Sample] = []
    progress(f"{USERS} users for {minutes:g} min; the hub's folder (log, database): {folder}")
    with hub.running():
        progress("hub started; making the users' tokens")
        # A few at a time: the admin token may have 16 requests in the hub at once.
        with ThreadPoolExecutor(8) as pool:
            tokens = dict(zip(names, pool.map(hub.make_token, names), strict=True))
        progress("users start")
        uvloop.run(soak(hub, tokens, replace(run, minutes=minutes, window_seconds=window),
                        record, samples))
        progress("users done; stopping the hub")
    report = Report(record, samples, window, minutes * 60)
    header = (f"{os.cpu_count()} CPUs, Linux {platform.release()}, Python "
              f"{platform.python_version()}; {hub.version()}; {USERS} users, "
              f"{minutes:g} min; idle culler timeout {run.cull_timeout} s every "
              f"{run.cull_every} s; at most {run.users.hub_concurrency} requests in the hub "
              f"at once; load average before: {load_before:.2f}")
    plot = out / "soak.png"
    report.plot(plot)
    table = report.markdown(header, plot)
    (out / "soak.md").write_text(table)
    (out / "soak.json").write_text(json.dumps(report.summary(), indent=1))
    print(table, end="")


if __name__ == "__main__":
    main()
