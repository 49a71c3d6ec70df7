"""The proxy conformance suite: every test runs against kernel-proxy and configurable-http-proxy.

configurable-http-proxy (CHP) is the reference: whatever it does here,
kernel-proxy must do too. Behaviour only kernel-proxy promises lives in the
other test modules.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
import websockets.sync.client

from .conftest import Backend, raw_exchange, seen_by

ISO_MS = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


# the REST API: authentication

def test_api_without_token_is_403_with_empty_body(proxy_process):
    proxy = proxy_process()
    response = proxy.api("GET", "", token="")
    assert (response.status_code, response.content) == (403, b"")


def test_api_with_wrong_token_is_403_with_empty_body(proxy_process):
    proxy = proxy_process()
    response = proxy.api("POST", "/user/eve", {"target": "http://127.0.0.1:1"}, token="wrong")
    assert (response.status_code, response.content) == (403, b"")
    assert proxy.routes() == {}


def test_api_needs_no_token_when_none_is_configured(proxy_process):
    proxy = proxy_process(token="")
    assert proxy.api("GET", "", token="").status_code == 200


# the REST API: routes

def test_added_route_is_listed_with_its_data_and_last_activity(proxy_process, backend):
    proxy = proxy_process()
    response = proxy.api("POST", "/user/alice", {"target": backend.url, "user": "alice"})
    assert response.status_code == 201
    route = proxy.routes()["/user/alice"]
    assert route["target"] == backend.url
    assert route["user"] == "alice"
    assert ISO_MS.fullmatch(route["last_activity"])


def test_last_activity_of_a_new_route_is_now(proxy_process, backend):
    proxy = proxy_process()
    proxy.add_route("/user/alice", backend.url)
    stamped = datetime.fromisoformat(proxy.routes()["/user/alice"]["last_activity"])
    assert abs(stamped - datetime.now(UTC)) < timedelta(seconds=5)


def test_one_route_can_be_read(proxy_process, backend):
    proxy = proxy_process()
    proxy.add_route("/user/alice", backend.url, user="alice")
    response = proxy.api("GET", "/user/alice")
    assert response.status_code == 200
    assert response.json()["user"] == "alice"


def test_reading_a_missing_route_is_404(proxy_process):
    proxy = proxy_process()
    assert proxy.api("GET", "/user/nobody").status_code == 404


def test_route_paths_lose_their_trailing_slash(proxy_process, backend):
    proxy = proxy_process()
    proxy.add_route("/user/alice/", backend.url)
    assert list(proxy.routes()) == ["/user/alice"]
    assert proxy.api("GET", "/user/alice/").status_code == 200


def test_the_root_route_keeps_its_slash(proxy_process, backend):
    proxy = proxy_process()
    proxy.add_route("/", backend.url)
    assert list(proxy.routes()) == ["/"]


def test_route_paths_are_url_decoded(proxy_process, backend):
    proxy = proxy_process()
    proxy.add_route("/user/%C3%A9milie%20b", backend.url)
    assert list(proxy.routes()) == ["/user/émilie b"]


def test_adding_a_route_again_replaces_it(proxy_process, backend, make_backend):
    proxy = proxy_process()
    other = make_backend("other")
    proxy.add_route("/user/alice", backend.url, version=1)
    proxy.add_route("/user/alice", other.url, version=2)
    route = proxy.routes()["/user/alice"]
    assert (route["target"], route["version"]) == (other.url, 2)
    seen_by(other, proxy.get("/user/alice/"))


@pytest.mark.parametrize("body", [{}, {"target": 8888}, {"target": None}, ["http://x"]])
def test_adding_a_route_without_a_string_target_is_400(proxy_process, body):
    proxy = proxy_process()
    assert proxy.api("POST", "/user/alice", body).status_code == 400
    assert proxy.routes() == {}


def test_adding_a_route_with_invalid_json_is_400(proxy_process):
    proxy = proxy_process()
    response = proxy.api("POST", "/user/alice", content=b"{not json",
                         headers={"Content-Type": "application/json"})
    assert response.status_code == 400


def test_deleting_a_route_is_204_and_then_404(proxy_process, backend):
    proxy = proxy_process()
    proxy.add_route("/user/alice", backend.url)
    assert proxy.api("DELETE", "/user/alice").status_code == 204
    assert proxy.routes() == {}
    assert proxy.api("DELETE", "/user/alice").status_code == 404


def test_inactive_since_lists_only_routes_idle_since_then(proxy_process, backend):
    proxy = proxy_process()
    proxy.add_route("/user/old", backend.url)
    time.sleep(0.05)
    between = iso(datetime.now(UTC))
    time.sleep(0.05)
    proxy.add_route("/user/new", backend.url)
    assert list(proxy.routes(f"?inactive_since={between}")) == ["/user/old"]
    later = iso(datetime.now(UTC) + timedelta(hours=1))
    assert sorted(proxy.routes(f"?inactive_since={later}")) == ["/user/new", "/user/old"]


def test_inactive_since_may_be_spelled_in_camel_case(proxy_process, backend):
    proxy = proxy_process()
    proxy.add_route("/user/alice", backend.url)
    earlier = iso(datetime.now(UTC) - timedelta(hours=1))
    later = iso(datetime.now(UTC) + timedelta(hours=1))
    assert proxy.routes(f"?inactiveSince={earlier}") == {}
    assert list(proxy.routes(f"?inactiveSince={later}")) == ["/user/alice"]


def test_an_invalid_inactive_since_is_400(proxy_process):
    proxy = proxy_process()
    assert proxy.api("GET", "?inactive_since=yesterday-ish").status_code == 400


def test_traffic_bumps_last_activity(proxy_process, backend):
    proxy = proxy_process()
    proxy.add_route("/user/alice", backend.url)
    added = proxy.routes()["/user/alice"]["last_activity"]
    time.sleep(0.05)
    seen_by(backend, proxy.get("/user/alice/api/status"))
    deadline = time.monotonic() + 3
    while proxy.routes()["/user/alice"]["last_activity"] == added:
        assert time.monotonic() < deadline, "last_activity did not move"
        time.sleep(0.1)
    assert proxy.routes()["/user/alice"]["last_activity"] > added


def test_default_target_becomes_the_root_route(proxy_process, backend):
    proxy = proxy_process("--default-target", backend.url)
    assert proxy.routes()["/"]["target"] == backend.url
    seen_by(backend, proxy.get("/anything/at/all"))


# routing

def test_requests_go_to_the_longest_matching_prefix(proxy_process, make_backend):
    proxy = proxy_process()
    users, alice = make_backend("users"), make_backend("alice")
    proxy.add_route("/user", users.url)
    proxy.add_route("/user/alice", alice.url)
    seen_by(alice, proxy.get("/user/alice/lab/tree"))
    seen_by(users, proxy.get("/user/bob/lab"))


def test_prefixes_match_whole_path_segments_only(proxy_process, backend):
    proxy = proxy_process()
    proxy.add_route("/user/alice", backend.url)
    for path in ("/user/alice", "/user/alice/", "/user/alice/lab?x=1", "/user/alice?x=1"):
        seen_by(backend, proxy.get(path))
    assert proxy.get("/user/alicex").status_code == 404


def test_the_root_route_catches_every_other_path(proxy_process, make_backend):
    proxy = proxy_process()
    hub, alice = make_backend("hub"), make_backend("alice")
    proxy.add_route("/", hub.url)
    proxy.add_route("/user/alice", alice.url)
    seen_by(hub, proxy.get("/hub/login"))
    seen_by(hub, proxy.get("/user/alicex"))
    seen_by(alice, proxy.get("/user/alice/tree"))


def test_request_paths_are_url_decoded_for_routing(proxy_process, backend):
    proxy = proxy_process()
    proxy.add_route("/user/alice", backend.url)
    facts = seen_by(backend, proxy.get("/user/%61lice/tree"))
    assert facts["target"] == "/user/%61lice/tree"


def test_dot_segments_are_resolved_before_routing(proxy_process, make_backend):
    proxy = proxy_process()
    alice, bob = make_backend("alice"), make_backend("bob")
    proxy.add_route("/user/alice", alice.url)
    proxy.add_route("/user/bob", bob.url)
    answer = raw_exchange(proxy.port, b"GET /user/bob/../alice/x HTTP/1.1\r\n"
                                      b"Host: localhost\r\nConnection: close\r\n\r\n")
    facts = json.loads(answer.split(b"\r\n\r\n", 1)[1])
    assert (facts["name"], facts["target"]) == ("alice", "/user/alice/x")


def test_encoded_dot_segments_are_resolved_before_routing(proxy_process, make_backend):
    proxy = proxy_process()
    alice, hub = make_backend("alice"), make_backend("hub")
    proxy.add_route("/", hub.url)
    proxy.add_route("/user/alice", alice.url)
    answer = raw_exchange(proxy.port, b"GET /user/alice/%2e%2E/%2E./hub HTTP/1.1\r\n"
                                      b"Host: localhost\r\nConnection: close\r\n\r\n")
    facts = json.loads(answer.split(b"\r\n\r\n", 1)[1])
    assert (facts["name"], facts["target"]) == ("hub", "/hub")


def test_encoded_slashes_do_not_make_dot_segments(proxy_process, make_backend):
    proxy = proxy_process()
    alice, hub = make_backend("alice"), make_backend("hub")
    proxy.add_route("/", hub.url)
    proxy.add_route("/user/alice", alice.url)
    answer = raw_exchange(proxy.port, b"GET /user/alice/..%2F..%2Fhub HTTP/1.1\r\n"
                                      b"Host: localhost\r\nConnection: close\r\n\r\n")
    facts = json.loads(answer.split(b"\r\n\r\n", 1)[1])
    assert (facts["name"], facts["target"]) == ("alice", "/user/alice/..%2F..%2Fhub")


def test_the_full_path_and_query_reach_the_backend(proxy_process, backend):
    proxy = proxy_process()
    proxy.add_route("/user/alice", backend.url)
    facts = seen_by(backend, proxy.get("/user/alice/lab/tree/a%20b.ipynb?token=x&y=1"))
    assert facts["target"] == "/user/alice/lab/tree/a%20b.ipynb?token=x&y=1"


@pytest.mark.parametrize(("path", "forwarded"), [
    ("/user/alice/lab?x=1", "/lab?x=1"),
    ("/user/alice/", "/"),
    ("/user/alice", "/"),
    ("/user/alice?x=1", "/?x=1"),
])
def test_no_include_prefix_strips_the_route_prefix(proxy_process, backend, path, forwarded):
    proxy = proxy_process("--no-include-prefix")
    proxy.add_route("/user/alice", backend.url)
    assert seen_by(backend, proxy.get(path))["target"] == forwarded


def test_a_target_path_is_prepended(proxy_process, backend):
    proxy = proxy_process()
    proxy.add_route("/user/alice", backend.url + "/base")
    assert seen_by(backend, proxy.get("/user/alice/x?y=1"))["target"] == "/base/user/alice/x?y=1"


def test_host_routing_routes_on_the_host_header(proxy_process, make_backend):
    proxy = proxy_process("--host-routing")
    alice, hub = make_backend("alice"), make_backend("hub")
    proxy.add_route("/alice.example.org", alice.url)
    proxy.add_route("/", hub.url)
    assert proxy.routes()["/alice.example.org"]["host"] == "alice.example.org"
    facts = seen_by(alice, proxy.get("/tree", headers={"Host": "alice.example.org:8000"}))
    assert facts["target"] == "/tree"
    seen_by(hub, proxy.get("/tree", headers={"Host": "bob.example.org"}))


def test_the_host_header_reaches_the_backend_unchanged(proxy_process, backend):
    proxy = proxy_process()
    proxy.add_route("/", backend.url)
    facts = seen_by(backend, proxy.get("/", headers={"Host": "hub.example.org:8443"}))
    assert facts["headers"]["host"] == "hub.example.org:8443"


def test_x_forwarded_headers_are_added(proxy_process, backend):
    proxy = proxy_process()
    proxy.add_route("/", backend.url)
    headers = seen_by(backend, proxy.get("/"))["headers"]
    assert headers["x-forwarded-for"] == "127.0.0.1"
    assert headers["x-forwarded-proto"] == "http"
    assert headers["x-forwarded-host"] == f"127.0.0.1:{proxy.port}"
    assert headers["x-forwarded-port"] == str(proxy.port)


def test_x_forwarded_for_from_the_client_is_extended(proxy_process, backend):
    proxy = proxy_process()
    proxy.add_route("/", backend.url)
    headers = seen_by(backend, proxy.get("/", headers={"X-Forwarded-For": "203.0.113.7"}))
    assert headers["headers"]["x-forwarded-for"] == "203.0.113.7,127.0.0.1"


def test_no_x_forward_adds_no_forwarded_headers(proxy_process, backend):
    proxy = proxy_process("--no-x-forward")
    proxy.add_route("/", backend.url)
    headers = seen_by(backend, proxy.get("/"))["headers"]
    assert not [name for name in headers if name.startswith("x-forwarded-")]


# answers from the proxy itself

def test_health_check_answers_ok(proxy_process, backend):
    proxy = proxy_process()
    proxy.add_route("/", backend.url)
    response = proxy.get("/_chp_healthz")
    assert (response.status_code, response.json()) == (200, {"status": "OK"})


def test_no_route_is_404(proxy_process):
    proxy = proxy_process()
    assert proxy.get("/user/nobody/").status_code == 404


def test_no_route_relays_the_error_targets_404_page(proxy_process, make_backend):
    errors = make_backend("errors")
    proxy = proxy_process("--error-target", errors.url + "/hub/error")
    response = proxy.get("/user/nobody/tree?q=1")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/json"
    asked = urlsplit(response.json()["target"])
    assert asked.path == "/hub/error/404"
    assert parse_qs(asked.query) == {"url": ["/user/nobody/tree?q=1"]}


def test_a_dead_backend_is_503(proxy_process, dead_url):
    proxy = proxy_process()
    proxy.add_route("/user/alice", dead_url)
    assert proxy.get("/user/alice/").status_code == 503


def test_a_dead_backend_relays_the_error_targets_503_page(proxy_process, make_backend, dead_url):
    errors = make_backend("errors")
    proxy = proxy_process("--error-target", errors.url)
    proxy.add_route("/user/alice", dead_url)
    response = proxy.get("/user/alice/tree")
    assert response.status_code == 503
    asked = urlsplit(response.json()["target"])
    assert (asked.path, parse_qs(asked.query)) == ("/503", {"url": ["/user/alice/tree"]})


def test_a_dead_error_target_falls_back_to_a_plain_404(proxy_process, dead_url):
    proxy = proxy_process("--error-target", dead_url)
    assert proxy.get("/user/nobody").status_code == 404


# HTTP/1.1 framing and streaming

def test_client_connections_are_kept_alive(proxy_process, backend):
    proxy = proxy_process()
    proxy.add_route("/", backend.url)
    answer = raw_exchange(proxy.port, b"GET /one HTTP/1.1\r\nHost: h\r\n\r\n"
                                      b"GET /two HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n")
    assert answer.count(b"HTTP/1.1 200 ") == 2
    assert b'"target": "/one"' in answer and b'"target": "/two"' in answer


def test_backend_connections_are_reused(proxy_process, backend):
    proxy = proxy_process()
    proxy.add_route("/", backend.url)
    first = seen_by(backend, proxy.get("/one"))
    second = seen_by(backend, proxy.get("/two"))
    assert first["connection"] == second["connection"]


def test_a_head_response_has_no_body_and_the_connection_goes_on(proxy_process, backend):
    proxy = proxy_process()
    proxy.add_route("/", backend.url)
    answer = raw_exchange(proxy.port, b"HEAD /one HTTP/1.1\r\nHost: h\r\n\r\n"
                                      b"GET /two HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n")
    head, second = answer.split(b"\r\n\r\n", 1)
    assert head.startswith(b"HTTP/1.1 200 ")
    assert second.startswith(b"HTTP/1.1 200 ") and b'"target": "/two"' in second


def test_a_chunked_request_body_reaches_the_backend(proxy_process, backend):
    proxy = proxy_process()
    proxy.add_route("/", backend.url)
    pieces = [b"x" * 1000, b"y" * 70000, b"z"]
    response = httpx.post(proxy.public_url + "/upload", content=iter(pieces), trust_env=False)
    facts = seen_by(backend, response)
    assert facts["headers"]["transfer-encoding"] == "chunked"
    assert facts["body_length"] == 71001
    assert facts["body_sha256"] == hashlib.sha256(b"".join(pieces)).hexdigest()


def test_a_chunked_response_reaches_the_client(proxy_process, backend):
    proxy = proxy_process()
    proxy.add_route("/", backend.url)
    response = proxy.get("/file?download=300000&chunked=1")
    assert response.headers["transfer-encoding"] == "chunked"
    assert response.content == (Backend.PATTERN * 5)[:300000]


def test_a_10_mb_upload_arrives_intact(proxy_process, backend):
    proxy = proxy_process()
    proxy.add_route("/", backend.url)
    body = Backend.PATTERN * 160
    facts = seen_by(backend, httpx.put(proxy.public_url + "/up", content=body, trust_env=False))
    assert facts["body_sha256"] == hashlib.sha256(body).hexdigest()


def test_a_10_mb_download_arrives_intact(proxy_process, backend):
    proxy = proxy_process()
    proxy.add_route("/", backend.url)
    body = Backend.PATTERN * 160
    assert proxy.get(f"/down?download={len(body)}").content == body


# websockets

def test_websocket_messages_are_echoed_through_the_proxy(proxy_process, ws_backend):
    proxy = proxy_process()
    proxy.add_route("/user/alice", ws_backend.url)
    with websockets.sync.client.connect(f"ws://127.0.0.1:{proxy.port}/user/alice/ws") as ws:
        ws.send("whoami")
        assert ws.recv(timeout=5) == "/user/alice/ws"
        for message in ("hello", b"\x00\x01binary", "x" * 100_000):
            ws.send(message)
            assert ws.recv(timeout=5) == message


def test_a_websocket_to_a_dead_backend_is_503(proxy_process, dead_url):
    proxy = proxy_process()
    proxy.add_route("/user/alice", dead_url)
    # CHP's answer, "HTTP/1.1 503" without a reason phrase, is too terse for
    # websocket clients to parse: read it raw.
    answer = raw_exchange(proxy.port, b"GET /user/alice/ws HTTP/1.1\r\nHost: h\r\n"
                                      b"Connection: Upgrade\r\nUpgrade: websocket\r\n"
                                      b"Sec-WebSocket-Version: 13\r\n"
                                      b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 503")


def test_tls_serves_the_public_side(proxy_process, backend, tls_files):
    key, cert = tls_files
    proxy = proxy_process("--ssl-key", key, "--ssl-cert", cert)
    proxy.add_route("/", backend.url)
    headers = seen_by(backend, proxy.get("/secure"))["headers"]
    assert headers["x-forwarded-proto"] == "https"


# failures

def test_a_bad_request_line_is_400_and_the_proxy_stays_up(proxy_process, backend):
    proxy = proxy_process()
    proxy.add_route("/", backend.url)
    assert raw_exchange(proxy.port, b"BLAH\r\n\r\n").startswith(b"HTTP/1.1 400")
    seen_by(backend, proxy.get("/still/serving"))


def test_an_oversized_request_head_is_431_and_the_proxy_stays_up(proxy_process, backend):
    proxy = proxy_process()
    proxy.add_route("/", backend.url)
    answer = raw_exchange(proxy.port, b"GET / HTTP/1.1\r\nHost: h\r\nX-Big: "
                                      + b"a" * 100_000 + b"\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 431")
    seen_by(backend, proxy.get("/still/serving"))


def test_an_invalid_chunk_size_is_400_and_the_proxy_stays_up(proxy_process, backend):
    proxy = proxy_process()
    proxy.add_route("/", backend.url)
    answer = raw_exchange(proxy.port, b"POST /up HTTP/1.1\r\nHost: h\r\n"
                                      b"Transfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n")
    assert answer.startswith(b"HTTP/1.1 400")
    seen_by(backend, proxy.get("/still/serving"))


def test_timeout_drops_a_request_whose_backend_stays_silent(proxy_process, backend):
    proxy = proxy_process("--timeout", "300")
    proxy.add_route("/", backend.url)
    with pytest.raises(httpx.RemoteProtocolError):
        proxy.get("/slow?sleep=8", timeout=15)  # dropped long before the backend answers
    seen_by(backend, proxy.get("/still/serving"))


def test_an_idle_keep_alive_connection_is_closed(proxy_process, backend):
    proxy = proxy_process("--keep-alive-timeout", "300")
    proxy.add_route("/", backend.url)
    # Without the close, raw_exchange would time out waiting for the end.
    answer = raw_exchange(proxy.port, b"GET /once HTTP/1.1\r\nHost: h\r\n\r\n", timeout=5)
    assert answer.startswith(b"HTTP/1.1 200")


# the process

def test_the_pid_file_holds_the_process_id_until_exit(proxy_process, tmp_path):
    pid_file = tmp_path / "proxy.pid"
    proxy = proxy_process("--pid-file", str(pid_file))
    assert int(pid_file.read_text()) == proxy.pid
    proxy.stop()
    assert not pid_file.exists()
