"""Login throttling: a guessing loop slows down; the real person still gets in."""

from __future__ import annotations

import time

from starlette.testclient import TestClient

from kernel.security.throttle import LoginThrottle
from kernel.testing.hub import PASSWORD, hub_app


def test_the_first_failures_are_free():
    throttle = LoginThrottle(free_attempts=5, max_delay=60)
    for _ in range(4):
        throttle.failed("alice", "10.0.0.1", now=100.0)
    assert throttle.retry_after("alice", "10.0.0.1", now=100.0) == 0


def test_each_further_failure_doubles_the_wait_up_to_the_ceiling():
    throttle = LoginThrottle(free_attempts=5, max_delay=8)
    waits = []
    for failure in range(1, 11):
        throttle.failed("alice", f"10.0.0.{failure}", now=100.0)  # from other addresses
        waits.append(throttle.retry_after("alice", "10.0.0.99", now=100.0))
    assert waits == [0, 0, 0, 0, 1, 2, 4, 8, 8, 8]


def test_the_wait_runs_out():
    throttle = LoginThrottle(free_attempts=1, max_delay=60)
    throttle.failed("alice", "10.0.0.1", now=100.0)
    throttle.failed("alice", "10.0.0.1", now=100.0)
    assert throttle.retry_after("alice", "10.0.0.2", now=101.5) == 0.5
    assert throttle.retry_after("alice", "10.0.0.2", now=102.0) == 0


def test_a_success_clears_the_name_but_not_the_address():
    throttle = LoginThrottle(free_attempts=1, max_delay=60)
    for _ in range(6):
        throttle.failed("alice", "10.0.0.1", now=100.0)
    throttle.succeeded("alice")
    assert throttle.retry_after("alice", "10.0.0.2", now=100.0) == 0
    assert throttle.retry_after("bob", "10.0.0.1", now=100.0) > 0


def test_one_address_may_fail_more_often_than_one_name():
    throttle = LoginThrottle(free_attempts=2, max_delay=60)
    for name in ("a", "b", "c", "d", "e", "f", "g"):
        throttle.failed(name, "10.0.0.1", now=100.0)
    assert throttle.retry_after("h", "10.0.0.1", now=100.0) == 0  # 7 of 8 allowed
    throttle.failed("h", "10.0.0.1", now=100.0)
    assert throttle.retry_after("i", "10.0.0.1", now=100.0) > 0


def test_throttling_can_be_turned_off():
    throttle = LoginThrottle(free_attempts=0, max_delay=60)
    for _ in range(50):
        throttle.failed("alice", "10.0.0.1", now=100.0)
    assert throttle.retry_after("alice", "10.0.0.1", now=100.0) == 0


def _token_login(client: TestClient, password: str):
    """POST /users/NAME/tokens with the `auth` field: a login through the API."""
    return client.post("/hub/api/users/alice/tokens",
                       json={"auth": {"username": "alice", "password": password}})


def test_over_http_a_guessing_loop_gets_429_and_the_owner_gets_in_after_the_wait(tmp_path):
    client = TestClient(hub_app(tmp_path, {"auth": {"throttle_failed_logins": "3"}}))
    assert [_token_login(client, "guess").status_code for _ in range(3)] == [403] * 3
    throttled = _token_login(client, PASSWORD)
    assert throttled.status_code == 429
    assert throttled.headers["Retry-After"] == "1"
    assert throttled.json()["message"] == "Too many failed logins. Try again in 1 second."
    time.sleep(1.1)
    assert _token_login(client, PASSWORD).status_code == 201
