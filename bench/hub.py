"""kernelhub against JupyterHub 6.1.1 (with configurable-http-proxy), in one table.

    python bench/hub.py            # about two minutes
    python bench/hub.py --quick    # about a minute and a half

The two hubs run one after the other, never at the same time, each set up
alike (``bench/hub_targets.py``) and given the same workloads with the same
parameters:

- the REST API at 1,100 users: a random page of 50 users at concurrency 16,
  whoami (GET /hub/api/user) with a user's token at concurrency 16, activity
  POSTs in bursts of 100, and form logins (GET /hub/login, POST /hub/login)
  by 16 browsers at once (``bench/hub_load.py``), each with the hub's CPU
  time per request;
- 100 users starting trivial servers at once, time to each and to all ready,
  then the stop storm (``bench/hub_spawn.py``), with the hub's and the
  servers' CPU time: once with ``kernel.testing.mockserver``, once with the
  barest server (``bench/hub_server.py``);
- start-up with 10,000 users in the database: process start to the first 200
  from /hub/api/ through the public port, and the hub's memory once idle
  (the proxies' memory in a row of its own);
- the users page and whoami again at 10,000 users, to show whether latency
  stays flat as users are added.

The table shows both hubs, kernelhub's ratio to JupyterHub, the issues'
targets and whether each is met. bench/README.md says what it needs.
"""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import platform
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import hub_load
import hub_spawn
from hub_targets import (
    ADMIN,
    PASSWORD,
    HubUnderTest,
    JupyterHub,
    KernelHub,
    cpu_seconds,
    find_chp,
    find_jupyterhub_venv,
    find_kernelhub_python,
    rss_mib,
    user_names,
)

KERNELHUB, JUPYTERHUB = "kernelhub", "JupyterHub"
#: Users in the database, the admin included.
USERS, MANY_USERS = 1_100, 10_000
CONCURRENCY = 16
BURST = 100
PAGE = 50
SERVERS = 100
#: A one-minute load average above this means something else competed for the CPUs.
BUSY = 0.5

Results = dict[str, float | None]


@dataclass(frozen=True)
class Settings:
    #: Whole seconds (wrk's -d takes no fractions).
    seconds: int
    warm_up_seconds: int
    idle_seconds: float


FULL = Settings(seconds=5, warm_up_seconds=1, idle_seconds=5)
QUICK = Settings(seconds=2, warm_up_seconds=1, idle_seconds=3)


def progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# -- the measurements ----------------------------------------------------------------------


def measure(hub: HubUnderTest, settings: Settings, notes: list[str]) -> Results:
    """Every workload against one hub, from an empty database to the 10,000-user start."""
    results: Results = {}
    progress(f"{hub.name}: creating the databases")
    hub.create_database()
    few, many = hub.directory / "users-1100.sqlite", hub.directory / "users-10000.sqlite"
    hub.copy_database(few)
    hub.copy_database(many)
    hub.use_database(few)
    hub.seed(user_names(1, USERS - 1))
    hub.use_database(many)
    hub.seed(user_names(1, MANY_USERS - 1))

    hub.use_database(few)
    with hub.running():
        admin = hub.make_token(ADMIN)
        user = hub.make_token("user-00001", admin)
        rest_reads(hub, settings, admin, user, USERS, "", results, notes)
        others = user_names(1, USERS - 1)
        progress(f"{hub.name}: activity POSTs in bursts of {BURST}")
        run(hub, settings, "activity", results, notes, lambda seconds: hub_load.activity_bursts(
            hub.hub_port, hub.api, admin, others, BURST, seconds))
        progress(f"{hub.name}: form logins by {CONCURRENCY} browsers")
        run(hub, settings, "login", results, notes, lambda seconds: hub_load.form_logins(
            hub.public_port, "/hub/", others, PASSWORD, CONCURRENCY, seconds))
        spawn_storm(hub, admin, results, notes)

    hub.server = "bare server"
    with hub.running():
        spawn_storm(hub, hub.make_token(ADMIN), results, notes)
    hub.server = "mockserver"

    hub.use_database(many)
    progress(f"{hub.name}: starting with {MANY_USERS:,} users")
    results["startup_s"] = hub.start()
    results["startup_cpu"] = hub.startup_cpu
    try:
        time.sleep(settings.idle_seconds)
        results["hub_rss"] = rss_mib(hub.hub_pid)
        results["proxy_rss"] = rss_mib(hub.proxy_pid())
        admin = hub.make_token(ADMIN)
        user = hub.make_token("user-00001", admin)
        rest_reads(hub, settings, admin, user, MANY_USERS, "_many", results, notes)
    finally:
        hub.stop()
    return results


def rest_reads(hub: HubUnderTest, settings: Settings, admin: str, user: str, users: int,
               suffix: str, results: Results, notes: list[str]) -> None:
    """A random page of users, and whoami, each at concurrency 16 on the hub's own port."""
    page = {"Authorization": f"token {admin}", "Accept": hub_load.PAGINATION}
    script = hub_load.users_page_script(users, f"{hub.api}users", PAGE)
    whoami = {"Authorization": f"token {user}"}
    for key, path, headers, lua in (("users", f"{hub.api}users", page, script),
                                    ("whoami", f"{hub.api}user", whoami, None)):
        progress(f"{hub.name}: {key} at {users:,} users, concurrency {CONCURRENCY}")
        run(hub, settings, key + suffix, results, notes,
            lambda seconds, path=path, headers=headers, lua=lua: hub_load.gets(
                hub.hub_port, path, CONCURRENCY, seconds, headers, lua))


def run(hub: HubUnderTest, settings: Settings, key: str, results: Results, notes: list[str],
        workload: Callable[[int], hub_load.Load]) -> None:
    """A warm-up, then the measured run: its rates, latencies and the hub's CPU per request."""
    workload(settings.warm_up_seconds)
    cpu_before, _ = cpu_seconds(hub.hub_pid)
    load = workload(settings.seconds)
    cpu_after, _ = cpu_seconds(hub.hub_pid)
    results[f"{key}_rate"] = load.per_second
    results[f"{key}_p50"] = load.p50_ms
    results[f"{key}_p99"] = load.p99_ms
    results[f"{key}_cpu"] = (cpu_after - cpu_before) / load.requests * 1e6 if load.requests \
        else None
    if load.errors:
        notes.append(f"{hub.name} {key}: {load.errors} of {load.requests} failed, first: "
                     f"{load.first_error}")


def spawn_storm(hub: HubUnderTest, admin: str, results: Results, notes: list[str]) -> None:
    """SERVERS servers at once, then the stop storm; results keyed by the server's kind."""
    progress(f"{hub.name}: {SERVERS} {hub.server}s starting at once, then stopping")
    key = "bare" if hub.server == "bare server" else "mock"
    own, children = cpu_seconds(hub.hub_pid)
    storm = hub_spawn.storm(hub.hub_port, hub.public_port, admin, user_names(1, SERVERS))
    own_after, children_after = cpu_seconds(hub.hub_pid)
    results[f"{key}_ready"] = storm.all_ready
    results[f"{key}_each"] = storm.median(storm.ready)
    results[f"{key}_stopped"] = storm.all_stopped
    results[f"{key}_hub_cpu"] = own_after - own
    # The servers are the hub's children, reaped by it when they stop.
    results[f"{key}_servers_cpu"] = children_after - children
    answers = ", ".join(f"{n} x {code}" for code, n in sorted(storm.start_answers.items()))
    stops = ", ".join(f"{n} x {code}" for code, n in sorted(storm.stop_answers.items()))
    notes.append(f"{hub.name}, {hub.server}s: start answered {answers or '-'}; stop "
                 f"{stops or '-'}")
    if storm.failures:
        notes.append(f"{hub.name}, {hub.server}s: {len(storm.failures)} failed, first: "
                     f"{storm.failures[0].strip()}")


# -- the table -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    key: str
    workload: str
    measure: str
    #: The target as text and how to check it: (kernelhub's results, JupyterHub's) → met?
    target: str = ""
    check: Callable[[Results, Results], bool | None] | None = None


def ratio_at_least(key: str, goal: float) -> Callable[[Results, Results], bool | None]:
    return lambda kh, jh: _known(kh.get(key), jh.get(key)) and kh[key] / jh[key] >= goal


def ratio_at_most(key: str, goal: float) -> Callable[[Results, Results], bool | None]:
    return lambda kh, jh: _known(kh.get(key), jh.get(key)) and kh[key] / jh[key] <= goal


def flat(key: str, few_key: str, goal: float) -> Callable[[Results, Results], bool | None]:
    """kernelhub's figure at 10,000 users within ``goal`` times its figure at 1,100."""
    return lambda kh, jh: _known(kh.get(key), kh.get(few_key)) and kh[key] <= goal * kh[few_key]


def at_most(key: str, limit: float) -> Callable[[Results, Results], bool | None]:
    return lambda kh, jh: _known(kh.get(key)) and kh[key] <= limit


def _known(*values: float | None) -> bool | None:
    if any(v is None or math.isnan(v) or v == 0 for v in values):
        return None
    return True


U, M = f"{USERS:,}", f"{MANY_USERS:,}"


def rows() -> list[Row]:
    users, many = f"users page, {U} users", f"users page, {M} users"
    whoami, whoami_many = f"whoami, {U} users", f"whoami, {M} users"
    activity, logins = f"activity, bursts of {BURST}", f"form logins, {CONCURRENCY} at once"
    start, idle = f"start-up, {M} users", f"idle, {M} users"
    flat_target = f"≤1.25x kh@{U}"
    return [
        Row("users_rate", users, "req/s", "≥5x", ratio_at_least("users_rate", 5)),
        Row("users_p50", users, "p50 ms"),
        Row("users_p99", users, "p99 ms", "≤1x", ratio_at_most("users_p99", 1)),
        Row("users_cpu", users, "hub CPU µs/req"),
        Row("users_many_rate", many, "req/s"),
        Row("users_many_p50", many, "p50 ms", flat_target,
            flat("users_many_p50", "users_p50", 1.25)),
        Row("users_many_p99", many, "p99 ms"),
        Row("users_many_cpu", many, "hub CPU µs/req", flat_target,
            flat("users_many_cpu", "users_cpu", 1.25)),
        Row("whoami_rate", whoami, "req/s", "≥2x", ratio_at_least("whoami_rate", 2)),
        Row("whoami_p50", whoami, "p50 ms"),
        Row("whoami_p99", whoami, "p99 ms"),
        Row("whoami_cpu", whoami, "hub CPU µs/req"),
        Row("whoami_many_rate", whoami_many, "req/s"),
        Row("whoami_many_p50", whoami_many, "p50 ms", flat_target,
            flat("whoami_many_p50", "whoami_p50", 1.25)),
        Row("whoami_many_p99", whoami_many, "p99 ms"),
        Row("whoami_many_cpu", whoami_many, "hub CPU µs/req", flat_target,
            flat("whoami_many_cpu", "whoami_cpu", 1.25)),
        Row("activity_rate", activity, "req/s", "≥5x", ratio_at_least("activity_rate", 5)),
        Row("activity_p50", activity, "p50 ms"),
        Row("activity_p99", activity, "p99 ms"),
        Row("activity_cpu", activity, "hub CPU µs/req"),
        Row("login_rate", logins, "logins/s", "≥2x", ratio_at_least("login_rate", 2)),
        Row("login_p50", logins, "p50 ms"),
        Row("login_p99", logins, "p99 ms"),
        Row("login_cpu", logins, "hub CPU µs/login"),
        *(row for key, kind in (("mock", "mockservers"), ("bare", "bare servers"))
          for row in (
              Row(f"{key}_ready", f"{SERVERS} {kind} start", "all ready s", "≤0.5x",
                  ratio_at_most(f"{key}_ready", 0.5)),
              Row(f"{key}_each", f"{SERVERS} {kind} start", "each, median s"),
              Row(f"{key}_stopped", f"{SERVERS} {kind} stop", "all stopped s"),
              Row(f"{key}_hub_cpu", f"{SERVERS} {kind} start+stop", "hub CPU s"),
              Row(f"{key}_servers_cpu", f"{SERVERS} {kind} start+stop", "servers' CPU s"))),
        Row("startup_s", start, "to /hub/api/ s", "kh ≤1 s", at_most("startup_s", 1.0)),
        Row("startup_cpu", start, "hub CPU s"),
        Row("hub_rss", idle, "hub RSS MiB", "≤0.5x", ratio_at_most("hub_rss", 0.5)),
        Row("proxy_rss", idle, "proxy RSS MiB"),
    ]


def table(kh: Results, jh: Results, header: str, notes: list[str]) -> str:
    lines = [header, "", f"{'':46}{KERNELHUB:>11}{JUPYTERHUB:>12}{'kh/JH':>9}"
             f"{'target':>18}{'met?':>6}"]
    for row in rows():
        mine, theirs = kh.get(row.key), jh.get(row.key)
        ratio = mine / theirs if _known(mine, theirs) else None
        met = row.check(kh, jh) if row.check else None
        verdict = "" if row.check is None else {True: "yes", False: "MISS", None: "?"}[met]
        lines.append(f"{row.workload:28}{row.measure:18}{_number(mine):>11}{_number(theirs):>12}"
                     f"{_ratio(ratio):>9}{row.target:>18}{verdict:>6}")
    lines += [f"note: {note}" for note in notes]
    return "\n".join(lines)


def _number(value: float | None) -> str:
    if value is None or math.isnan(value):
        return "—"
    if value >= 100:
        return f"{value:,.0f}"
    return f"{value:.2f}" if value >= 1 else f"{value:.3f}"


def _ratio(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}x"


def header(hubs: list[HubUnderTest], settings: Settings, load_before: float) -> str:
    loader = "wrk" if hub_load.wrk_available() else "Python (no wrk: the GET rows say less)"
    versions = "; ".join(hub.version() for hub in hubs)
    return (f"{os.cpu_count()} CPUs, Linux {platform.release()}, Python "
            f"{platform.python_version()}; {versions}; kernelhub runs from "
            f"{hubs[0].kernelhub_python}\n"
            f"SQLite; REST calls on each hub's own port, logins through its proxy; GETs by "
            f"{loader}, {settings.seconds} s per run after {settings.warm_up_seconds} s of "
            f"warm-up; load average before: {load_before:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--quick", action="store_true",
                        help="shorter runs (about a minute and a half)")
    parser.add_argument("--chp", help="the configurable-http-proxy command to run")
    parser.add_argument("--keep", action="store_true",
                        help="keep the hubs' folders (logs, databases), as a failure does")
    args = parser.parse_args()
    settings = QUICK if args.quick else FULL
    cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "kernelhub-bench"
    chp = find_chp(args.chp)
    venv = find_jupyterhub_venv(cache)
    kernelhub_python = find_kernelhub_python(cache)
    load_before = os.getloadavg()[0]
    began = time.monotonic()
    folder = Path(tempfile.mkdtemp(prefix="kernelhub-bench-hub-"))
    notes: list[str] = []
    # The hubs' logs are kept when asked, and whenever something failed.
    keep = True
    try:
        hubs = [KernelHub(folder / "kernelhub", kernelhub_python),
                JupyterHub(folder / "jupyterhub", kernelhub_python, venv, chp)]
        results = {hub.name: measure(hub, settings, notes) for hub in hubs}
        keep = args.keep or any(" failed" in note for note in notes)
        if load_before > BUSY:
            notes.append("other processes were using the CPUs; expect noisy numbers")
        notes.append(f"the run took {time.monotonic() - began:.0f} s")
        if keep:
            notes.append(f"the hubs' folders (logs, databases) are in {folder}")
        print(table(results[KERNELHUB], results[JUPYTERHUB],
                    header(hubs, settings, load_before), notes))
    finally:
        if keep:
            progress(f"the hubs' folders (logs, databases) are in {folder}")
        else:
            with contextlib.suppress(OSError):
                shutil.rmtree(folder)

if __name__ == "__main__":
    main()
