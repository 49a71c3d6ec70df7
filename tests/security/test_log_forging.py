"""Values from requests cannot start a line of their own in the hub's log.

A newline decoded from a path (``%0a``), or sent in a CSP report, would
otherwise let anyone append lines that look like the hub's own (here: a
login by root). The hub writes them escaped (``\\n``) on the request's line.
"""

from __future__ import annotations

import io
import logging
import socket
from collections.abc import Iterator

import httpx
import pytest

from kernel.logs import HubFormatter, escape_control
from kernel.testing.hub import HubProcess, running_hub, wait_until

FORGED = "[I 1999-12-04 00:00:00.000 kernelhub.auth] User root logged in"


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HubProcess]:
    with running_hub(tmp_path_factory.mktemp("hub")) as hub:
        yield hub


def raw_get(hub: HubProcess, target: str) -> bytes:
    """GET ``target`` exactly as written (httpx would normalise it), on the hub's port."""
    with socket.create_connection(("127.0.0.1", hub.hub_port), timeout=10) as connection:
        connection.sendall(f"GET {target} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                           "Connection: close\r\n\r\n".encode())
        answer = b""
        while chunk := connection.recv(65536):
            answer += chunk
    return answer


def forged_lines(log: str) -> list[str]:
    return [line for line in log.splitlines() if line.startswith(FORGED[:14])]


@pytest.mark.parametrize(("control", "escaped"),
                         [("%0a", "\\n"), ("%0d", "\\r"), ("%0d%0a", "\\r\\n")])
def test_a_newline_in_the_path_stays_on_the_access_line(hub, control, escaped):
    forged = FORGED.replace(" ", "%20").replace("[", "%5B").replace("]", "%5D")
    marker = control.replace("%", "")
    answer = raw_get(hub, f"/hub/../x-{marker}{control}{forged}")
    assert answer.startswith(b"HTTP/1.1 ")
    wait_until(lambda: f"/hub/../x-{marker}{escaped}{FORGED} (-@" in hub.log,
               what="the escaped path in the access log")
    assert forged_lines(hub.log) == []


def test_a_csp_report_is_logged_on_one_line(hub):
    body = '{"csp-report": {"blocked-uri": "x\n' + FORGED + '\r\n\u2028' + FORGED + '"}}'
    response = httpx.post(f"{hub.url}hub/security/csp-report", content=body.encode(),
                          headers={"Content-Type": "application/csp-report"})
    assert response.status_code == 204
    wait_until(lambda: '"x\\n' + FORGED + "\\r\\n\\u2028" + FORGED in hub.log,
               what="the escaped report in the log")
    assert forged_lines(hub.log) == []


# -- the formatter, in this process ---------------------------------------------------


def format_record(*args: object, msg: object = "%s", exc: bool = False) -> str:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(HubFormatter("%(levelname)s %(message)s", "%H:%M", color=False))
    logger = logging.getLogger("test_log_forging")
    logger.handlers[:] = [handler]
    logger.propagate = False
    if exc:
        try:
            raise ValueError("first line\nsecond line")
        except ValueError:
            logger.exception(msg, *args)
    else:
        logger.warning(msg, *args)
    return stream.getvalue()


def test_every_kind_of_control_character_is_escaped():
    assert escape_control("a\nb\rc\td\x00e\x1bf\x7fg\x85h\u2028i\u2029j") == \
        "a\\nb\\rc\\td\\x00e\\x1bf\\x7fg\\x85h\\u2028i\\u2029j"
    assert escape_control("plain text, ünïcode ✓") == "plain text, ünïcode ✓"


def test_arguments_are_escaped_but_the_hubs_own_text_is_not():
    assert format_record("a\nb", msg="line one\nline two: %s") == \
        "WARNING line one\nline two: a\\nb\n"


def test_a_repr_is_not_escaped_twice():
    assert format_record("a\nb", msg="%r") == "WARNING 'a\\nb'\n"


def test_objects_and_numbers_are_formatted_as_usual():
    error = ValueError("bad\nvalue")
    assert format_record(error, 3, 2.5, msg="%s %d %.1f") == "WARNING bad\\nvalue 3 2.5\n"
    assert format_record(msg=error) == "WARNING bad\\nvalue\n"


def test_tracebacks_keep_their_lines():
    text = format_record("x\ny", msg="failed: %s", exc=True)
    assert text.startswith("ERROR failed: x\\ny\nTraceback (most recent call last):\n")
    assert text.endswith("ValueError: first line\nsecond line\n")
