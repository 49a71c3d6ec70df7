"""Login throttling counts a user name as the hub would log it in: case does not escape it.

A real hub (``running_hub``) behind its proxy, with two free failures per
name: then 1 s to wait after the second failure, 2 s after the third. (A
client address gets four times as many, more than these tests use up.)
"""

from __future__ import annotations

import time

import pytest

from kernel.testing.hub import PASSWORD, running_hub

THROTTLE = {"auth": {"throttle_failed_logins": "2", "throttle_max_delay": "60"}}


@pytest.fixture(scope="module")
def hub(tmp_path_factory):
    with running_hub(tmp_path_factory.mktemp("throttle-bypass"), THROTTLE) as hub:
        yield hub


def test_another_case_of_a_throttled_name_is_throttled_too(hub):
    client = hub.client()
    assert client.login("Bob", "wrong").status_code == 403
    assert client.login("bOb", "wrong").status_code == 403
    answer = client.login("BOB", "wrong")
    assert answer.status_code == 429
    assert "Too many failed logins" in answer.text


def test_the_right_password_in_another_case_waits_like_the_name(hub):
    client = hub.client()
    # Three failures, the last after the wait the second set: carol must now wait 2 s.
    for wait in (0, 0, 1.1):
        time.sleep(wait)
        assert client.login("carol", "wrong").status_code == 403
    assert client.login("carol", PASSWORD).status_code == 429
    answer = client.login("CaRoL", PASSWORD)
    assert answer.status_code == 429
    assert "Retry-After" in answer.headers
