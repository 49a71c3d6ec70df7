"""kernel-proxy's routing table: URL-prefix routes, their targets and their last activity.

Routes are keyed by configurable-http-proxy's normal form of a prefix
(``/user/alice``: a leading slash, no trailing slash except for ``/``). A
request is routed by looking up its path's segment prefixes from the longest
to the shortest, so a lookup costs one dict probe per path segment however
many routes there are.
"""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote, urlsplit


class Target:
    """Where a route sends requests: ``http(s)://host:port[/path]``."""

    __slots__ = ("host", "key", "path", "port", "tls")

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        if scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an http(s)://host[:port] URL: {url!r}")
        self.tls = scheme == "https"
        self.host = parts.hostname
        self.port = parts.port or (443 if self.tls else 80)
        # The target's own path is prepended to proxied paths (CHP's prependPath).
        self.path = parts.path.rstrip("/").encode()
        self.key = (self.host, self.port, self.tls)


class Route:
    """One routing-table entry: its prefix, the data the API stored, and its target."""

    __slots__ = ("data", "last_activity", "prefix", "strip", "target")

    def __init__(self, prefix: str, data: dict[str, Any], host_routing: bool) -> None:
        self.prefix = prefix
        self.data = data
        self.last_activity = time.time()
        try:
            self.target: Target | None = Target(data["target"])
        except ValueError:
            self.target = None  # accepted like CHP does; requests to it get a 500
        # How many characters of the request path the prefix covers
        # (--no-include-prefix); with host routing the "/host" part is not in the path.
        path_part = prefix
        if host_routing and prefix != "/":
            path_part = prefix[prefix.find("/", 1):] if prefix.find("/", 1) > 0 else ""
        self.strip = 0 if path_part == "/" else len(path_part)

    def to_json(self) -> dict[str, Any]:
        """The route as the REST API shows it: the stored data plus ``last_activity``."""
        return {**self.data, "last_activity": iso8601(self.last_activity)}


class RouteTable:
    """All routes, matched by longest path-segment prefix."""

    def __init__(self, host_routing: bool = False) -> None:
        self.host_routing = host_routing
        self._routes: dict[str, Route] = {}
        # Routes that saw traffic since the last flush: the hot path only adds to
        # this set, and ``flush_activity`` stamps them about once a second.
        self.active: set[Route] = set()

    def __len__(self) -> int:
        return len(self._routes)

    def add(self, path: str, data: dict[str, Any]) -> Route:
        """Add or replace the route at ``path``; its last activity becomes now."""
        prefix = normalise(path)
        if self.host_routing and prefix != "/":
            data["host"] = prefix.split("/")[1]
        route = Route(prefix, data, self.host_routing)
        self._routes[prefix] = route
        return route

    def remove(self, path: str) -> bool:
        """Remove the route at ``path``; False when there was none."""
        return self._routes.pop(normalise(path), None) is not None

    def get(self, path: str) -> Route | None:
        """The route stored at exactly ``path`` (after normalisation)."""
        return self._routes.get(normalise(path))

    def routes(self) -> dict[str, Route]:
        """Every route by prefix (the live mapping: do not modify)."""
        return self._routes

    def match(self, path: str) -> Route | None:
        """The route with the longest prefix that covers ``path`` on a segment boundary."""
        routes = self._routes
        path = path.rstrip("/")
        while path:
            route = routes.get(path)
            if route is not None:
                return route
            path = path[: path.rfind("/")].rstrip("/")
        return routes.get("/")

    def flush_activity(self, now: float | None = None) -> None:
        """Stamp every route that carried traffic since the last flush with ``now``."""
        if self.active:
            now = time.time() if now is None else now
            for route in self.active:
                route.last_activity = now
            self.active.clear()


def normalise(path: str) -> str:
    """CHP's normal form of a route path: ``user/alice/`` -> ``/user/alice``; ``/`` stays."""
    if not path.startswith("/"):
        path = "/" + path
    if len(path) > 1 and path.endswith("/"):
        path = path[:-1]
    return path


def routing_path(raw_path: bytes) -> tuple[str, bytes]:
    """The decoded path a request is routed by, and the raw path to forward.

    Dot segments are resolved first, as configurable-http-proxy's URL parsing
    does, so ``/user/bob/../alice`` is routed (and forwarded) as ``/user/alice``.
    """
    try:
        path = raw_path.decode("ascii")
    except UnicodeDecodeError:
        path = raw_path.decode("utf-8", "surrogateescape")
    if "/." in path or "/%2" in path:  # may hold dot segments (".", "..", "%2e")
        path = remove_dot_segments(path)
        raw_path = path.encode("utf-8", "surrogateescape")
    if "%" in path:
        path = unquote(path)
    return path, raw_path


_DOT = re.compile(r"%2e", re.IGNORECASE)


def remove_dot_segments(path: str) -> str:
    """RFC 3986 section 5.2.4, with ``%2e`` counted as a dot (as WHATWG URL parsing does)."""
    output: list[str] = []
    segments = path.split("/")
    for i, segment in enumerate(segments[1:], start=1):
        dots = _DOT.sub(".", segment)
        last = i == len(segments) - 1
        if dots == "..":
            if len(output) > 0:
                output.pop()
            if last:
                output.append("")
        elif dots == ".":
            if last:
                output.append("")
        else:
            output.append(segment)
    return "/" + "/".join(output)


def upstream_path(url: bytes, strip: int, target_path: bytes) -> bytes:
    """The request target for the backend: ``url`` less ``strip`` bytes, after ``target_path``."""
    if strip:
        url = url[strip:]
        if not url or url[:1] == b"?":
            url = b"/" + url
    if target_path:
        url = target_path + url
    return url


def iso8601(timestamp: float) -> str:
    """``2026-11-25T20:22:13.575Z``: UTC with milliseconds, as JavaScript's toISOString."""
    moment = datetime.fromtimestamp(timestamp, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def parse_iso8601(text: str) -> float:
    """A timestamp from an ISO 8601 date or date-time; times without an offset are UTC.

    :raises ValueError: when ``text`` is not ISO 8601.
    """
    moment = datetime.fromisoformat(text.strip())
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()
