"""Drives one scenario against two hubs in lockstep and collects where their answers differ.

A scenario is a list of steps (tests/compat/scenario.py). Each step runs on both
hubs at once, in two threads; the next step starts when both have answered.
Each hub has its own clients per actor (its own cookies, its own tokens) and its
own saved values (a token, a token id, a share code), so the same step text means
the same thing on both.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import httpx

from kernel.testing.hub import stop_process, wait_until
from tests.compat.compare import Difference, Normaliser, differences, facts
from tests.compat.stack import ADMIN_TOKEN, CULLER_TOKEN, PASSWORD, ROBOT_TOKEN, Hub

_XSRF_FIELD = re.compile(r'name="_xsrf" value="([^"]+)"')
_VARIABLE = re.compile(r"\{([a-z0-9_:-]+)\}")


@dataclass
class Call:
    """A request: ``actor`` is ``admin``, ``robot``, ``culler``, ``anon`` (a token or none),
    ``web:USER`` (a browser session, logged in by a Login step) or ``tok:NAME`` (a token
    saved earlier as NAME). ``{NAME}`` in the path or body is a saved value; ``save`` maps
    names to keys of the JSON answer; ``page`` compares the HTML page's element ids."""

    actor: str
    method: str
    path: str
    body: Any = None
    form: bool = False
    page: bool = False
    save: dict[str, str] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Login:
    """``web:USER`` fetches the login form (its element ids compared) and logs in."""

    user: str


@dataclass
class Wait:
    """Poll ``path`` (as the admin) until ``until`` holds on both hubs: ``ready``,
    ``stopped``, ``gone`` (404), or ``activity-after:NAME`` (the answer's last_activity
    is later than the saved time NAME)."""

    path: str
    until: str
    timeout: float = 90


@dataclass
class Cull:
    """Run jupyterhub-idle-culler (the ``culler`` service's token) until ``path`` is
    stopped, then stop the culler."""

    path: str
    idle_seconds: int = 2


Step = Call | Login | Wait | Cull


@dataclass
class Outcome:
    """One step's answers on one hub: (method, path) and their facts, in order."""

    answers: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)


class Driver:
    """One hub's side of the scenario: its clients and saved values."""

    def __init__(self, hub: Hub) -> None:
        self.hub = hub
        self.saved: dict[str, str] = {"admin": ADMIN_TOKEN, "robot": ROBOT_TOKEN,
                                      "culler": CULLER_TOKEN}
        self.clients: dict[str, httpx.Client] = {}
        #: Why conditions timed out, with the end of the hub's log.
        self.failures: list[str] = []
        #: Step number -> what the hub answered (status and the start of the body).
        self.transcript: dict[int, list[str]] = {}
        self.number = 0

    def normaliser(self) -> Normaliser:
        return Normaliser(self.saved)

    def client(self, actor: str) -> httpx.Client:
        if actor not in self.clients:
            headers = {}
            if actor in ("admin", "robot", "culler") or actor.startswith("tok:"):
                headers["Authorization"] = f"token {self.saved[actor]}"
            self.clients[actor] = httpx.Client(base_url=self.hub.url, headers=headers,
                                               timeout=60, follow_redirects=False)
        return self.clients[actor]

    def fill(self, value: Any) -> Any:
        if isinstance(value, str):
            # A value the hub never gave (its answer differed) stays visibly missing.
            return _VARIABLE.sub(lambda m: self.saved.get(m.group(1), f"missing-{m.group(1)}"),
                                 value)
        if isinstance(value, list):
            return [self.fill(v) for v in value]
        if isinstance(value, dict):
            return {self.fill(k): self.fill(v) for k, v in value.items()}
        return value

    def request(self, actor: str, method: str, path: str, body: Any = None,
                form: bool = False, headers: dict[str, str] | None = None) -> httpx.Response:
        client = self.client(actor)
        headers = dict(headers or {})
        if actor.startswith("web:") and "_xsrf" in client.cookies:
            headers["X-XSRFToken"] = client.cookies["_xsrf"]
        kwargs: dict[str, Any] = {"headers": headers}
        if form:
            page = client.get(self.fill(path))
            match = _XSRF_FIELD.search(page.text)
            kwargs["data"] = {**(body or {}), **({"_xsrf": match.group(1)} if match else {})}
        elif body is not None:
            kwargs["json"] = body
        return client.request(method, self.fill(path), **kwargs)

    def record(self, response: httpx.Response) -> None:
        location = response.headers.get("location", "")
        self.transcript.setdefault(self.number, []).append(
            f"{response.status_code} {location} {response.text[:600]}".strip())

    def run(self, number: int, step: Step) -> Outcome:
        self.number = number
        outcome = Outcome()
        if isinstance(step, Call):
            response = self.request(step.actor, step.method, step.path,
                                    self.fill(step.body), step.form, step.headers)
            self.record(response)
            for name, key in step.save.items():
                value = response.json() if response.content else {}
                for part in key.split("."):
                    value = value.get(part) if isinstance(value, dict) else None
                if isinstance(value, str):
                    self.saved[name] = value
            outcome.answers.append((step.method, step.path,
                                    facts(response, self.normaliser(), step.page)))
        elif isinstance(step, Login):
            actor = f"web:{step.user}"
            form = self.client(actor).get("/hub/login")
            outcome.answers.append(("GET", "/hub/login", facts(form, self.normaliser(), True)))
            response = self.request(actor, "POST", "/hub/login",
                                    {"username": step.user, "password": PASSWORD}, form=True)
            self.record(response)
            outcome.answers.append(("POST", "/hub/login", facts(response, self.normaliser())))
        else:
            # A condition that never holds on one hub is a difference too; the run goes on.
            method, until = ("WAIT", step.until) if isinstance(step, Wait) else ("CULL", "culled")
            try:
                self.wait(step.path, step.until, step.timeout) if isinstance(step, Wait) \
                    else self.cull(step)
                held: dict[str, Any] = {"condition": f"{until}: held"}
            except AssertionError as e:
                held = {"condition": f"{until}: timed out"}
                self.failures.append(str(e)[:3000])
            outcome.answers.append((method, step.path, held))
        return outcome

    def holds(self, path: str, until: str) -> bool:
        response = self.client("admin").get(self.fill(path))
        if until == "gone":
            return response.status_code == 404
        body = response.json()
        if until == "ready":
            return body.get("ready") is True
        if until == "stopped":
            return response.status_code == 404 or (not body.get("ready")
                                                   and body.get("pending") is None)
        if until.startswith("activity-after:"):
            before = _time(self.saved[until.split(":", 1)[1]])
            return bool(body.get("last_activity")) and _time(body["last_activity"]) > before
        raise ValueError(f"unknown condition {until!r}")

    def wait(self, path: str, until: str, timeout: float) -> None:
        wait_until(lambda: self.holds(path, until), timeout, interval=0.25,
                   what=f"{self.hub.name}: {path} {until}", log=self.hub.log)

    def cull(self, step: Cull) -> None:
        env = {**os.environ, "JUPYTERHUB_API_TOKEN": CULLER_TOKEN}
        culler = subprocess.Popen(
            [sys.executable, "-m", "jupyterhub_idle_culler", f"--url={self.hub.url}/hub/api",
             f"--timeout={step.idle_seconds}", "--cull-every=1", "--concurrency=1"],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            self.wait(step.path, "stopped", 60)
        except AssertionError as e:
            culler.send_signal(signal.SIGTERM)
            output = culler.communicate(timeout=10)[0].decode(errors="replace")
            raise AssertionError(f"{e}\nthe culler's output:\n{output}") from None
        finally:
            stop_process(culler)

    def close(self) -> None:
        for client in self.clients.values():
            client.close()


def actor_of(step: Step) -> str:
    """Who a step acts as, as selectors name it."""
    if isinstance(step, Call):
        return step.actor
    if isinstance(step, Login):
        return f"web:{step.user}"
    return "culler" if isinstance(step, Cull) else "admin"


def _time(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def run_scenario(steps: list[Step], reference: Hub, candidate: Hub
                 ) -> tuple[list[Difference], float, tuple[Driver, Driver]]:
    """Every difference between the two hubs' answers, the seconds the run took, and
    the two drivers (their transcripts say what each hub answered)."""
    drivers = (Driver(reference), Driver(candidate))
    found: list[Difference] = []
    started = time.monotonic()
    with ThreadPoolExecutor(2) as pool:
        try:
            for number, step in enumerate(steps, 1):
                futures = [pool.submit(driver.run, number, step) for driver in drivers]
                left, right = (future.result() for future in futures)
                for (method, path, a), (_, _, b) in zip(left.answers, right.answers,
                                                         strict=True):
                    found += differences(number, actor_of(step), method, path, a, b)
        finally:
            for driver in drivers:
                driver.close()
                for failure in driver.failures:
                    print(f"{driver.hub.name}: {failure}")
    return found, time.monotonic() - started, drivers
