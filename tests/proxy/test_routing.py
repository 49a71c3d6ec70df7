"""The routing table: normal forms, longest-prefix matching, and request-path rewriting."""

from __future__ import annotations

import re

import pytest

from plugins.kernel_proxy.routing import (
    RouteTable,
    iso8601,
    normalise,
    parse_iso8601,
    remove_dot_segments,
    routing_path,
    upstream_path,
)


class CountingDict(dict):
    """A dict that counts lookups, to check what a match costs."""

    lookups = 0

    def get(self, key, default=None):
        self.lookups += 1
        return super().get(key, default)


@pytest.mark.parametrize(("path", "normal"), [
    ("/user/alice/", "/user/alice"), ("user/alice", "/user/alice"), ("/", "/"), ("", "/"),
])
def test_normalise_gives_chps_normal_form(path, normal):
    assert normalise(path) == normal


def test_match_prefers_the_longest_prefix():
    table = RouteTable()
    table.add("/user", {"target": "http://127.0.0.1:1"})
    table.add("/user/alice", {"target": "http://127.0.0.1:2"})
    assert table.match("/user/alice/lab").prefix == "/user/alice"
    assert table.match("/user/bob").prefix == "/user"


def test_match_respects_segment_boundaries():
    table = RouteTable()
    table.add("/user/alice", {"target": "http://127.0.0.1:1"})
    assert table.match("/user/alicex") is None
    assert table.match("/user/alice/").prefix == "/user/alice"


def test_the_root_route_matches_everything():
    table = RouteTable()
    table.add("/", {"target": "http://127.0.0.1:1"})
    assert table.match("/anything/at//all/").prefix == "/"


def test_match_cost_grows_with_path_depth_not_route_count():
    table = RouteTable()
    for n in range(10_000):
        table.add(f"/user/u{n}", {"target": f"http://127.0.0.1:{1000 + n % 50000}"})
    table._routes = CountingDict(table._routes)
    assert table.match("/user/u9999/lab/tree/a/b/c.ipynb").prefix == "/user/u9999"
    assert table._routes.lookups == 6  # one per segment, longest first
    assert table.match("/elsewhere/x") is None


def test_host_routing_stores_the_host_and_strips_only_the_path():
    table = RouteTable(host_routing=True)
    route = table.add("/alice.example.org/lab", {"target": "http://127.0.0.1:1"})
    assert route.data["host"] == "alice.example.org"
    assert upstream_path(b"/lab/tree", route.strip, b"") == b"/tree"


def test_an_unusable_target_is_kept_without_a_target():
    table = RouteTable()
    assert table.add("/x", {"target": "not a url"}).target is None


@pytest.mark.parametrize(("path", "resolved"), [
    ("/a/b/../c", "/a/c"), ("/a/./b", "/a/b"), ("/a/%2e%2E/b", "/b"), ("/../../a", "/a"),
    ("/a/b/..", "/a/"), ("/a/..%2Fb", "/a/..%2Fb"),
])
def test_remove_dot_segments(path, resolved):
    assert remove_dot_segments(path) == resolved


def test_routing_path_decodes_and_keeps_the_raw_path_to_forward():
    assert routing_path(b"/user/%61lice/x") == ("/user/alice/x", b"/user/%61lice/x")


@pytest.mark.parametrize(("url", "strip", "target_path", "upstream"), [
    (b"/user/alice/lab?x=1", 0, b"", b"/user/alice/lab?x=1"),
    (b"/user/alice/lab?x=1", 11, b"", b"/lab?x=1"),
    (b"/user/alice", 11, b"", b"/"),
    (b"/user/alice?x=1", 11, b"", b"/?x=1"),
    (b"/user/alice/lab", 0, b"/base", b"/base/user/alice/lab"),
])
def test_upstream_path(url, strip, target_path, upstream):
    assert upstream_path(url, strip, target_path) == upstream


def test_iso8601_has_milliseconds_and_z():
    assert iso8601(1764102133.5759) == "2025-11-25T20:22:13.575Z"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", iso8601(0))


def test_parse_iso8601_reads_z_offsets_and_naive_times_as_utc():
    assert parse_iso8601("2025-11-25T20:22:13.575Z") == pytest.approx(1764102133.575)
    assert parse_iso8601("2025-11-25T20:22:13.575") == pytest.approx(1764102133.575)
    with pytest.raises(ValueError):
        parse_iso8601("last tuesday")


def test_flush_activity_stamps_only_routes_that_saw_traffic():
    table = RouteTable()
    busy = table.add("/busy", {"target": "http://127.0.0.1:1"})
    quiet = table.add("/quiet", {"target": "http://127.0.0.1:2"})
    table.active.add(busy)
    table.flush_activity(now=4e9)
    assert busy.last_activity == 4e9
    assert quiet.last_activity < 4e9
    assert not table.active
