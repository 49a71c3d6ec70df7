"""The HTTP/1.1 details kernel-proxy handles itself: chunk framing, request headers, error pages.

Request headers are X-Forwarded-* and ``--custom-header``'s; error pages come
from ``--error-target`` or ``--error-path``.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import ssl
from collections.abc import Callable, Iterable
from http import HTTPStatus
from urllib.parse import urlencode

import httptools

from plugins.kernel_proxy.routing import Target

log = logging.getLogger("kernelhub.kernel_proxy")

#: Longest request head accepted (431 beyond), and longest response head relayed.
MAX_HEAD = 64 * 1024
#: Most header lines a request head may have (431 beyond): Apache's LimitRequestFields.
MAX_HEADERS = 100

_CHUNK_SIZE = re.compile(rb"[0-9A-Fa-f]{1,15}[ \t]*(;[^\r\n]*)?")
_PORT = re.compile(rb":(\d+)$")
_FORWARDED = (b"x-forwarded-for", b"x-forwarded-port", b"x-forwarded-proto")
_HTML = b"Content-Type: text/html\r\n"


class ChunkedScanner:
    """Finds where a chunked request body ends, without copying or decoding it."""

    __slots__ = ("after_data", "line", "need", "trailers")

    def __init__(self) -> None:
        self.need = 0  # chunk-data bytes still to skip
        self.line = b""  # an unfinished size or trailer line
        self.after_data = False  # the CRLF that closes chunk data comes next
        self.trailers = False

    def end(self, data: bytes) -> int:
        """Index just past the body's last byte in ``data``, or -1 when the body goes on.

        :raises ValueError: on malformed chunking.
        """
        pos, size = 0, len(data)
        while True:
            if self.need:
                step = min(self.need, size - pos)
                self.need -= step
                pos += step
                if self.need:
                    return -1
            newline = data.find(b"\n", pos)
            if newline < 0:
                self.line += data[pos:]
                if len(self.line) > 4096:
                    raise ValueError("chunk line too long")
                return -1
            line, self.line, pos = self.line + data[pos:newline], b"", newline + 1
            if not line.endswith(b"\r"):
                raise ValueError("chunk line not ended by CRLF")
            line = line[:-1]
            if self.after_data:
                if line:
                    raise ValueError("chunk data longer than its size")
                self.after_data = False
            elif self.trailers:
                if not line:
                    return pos
            elif _CHUNK_SIZE.fullmatch(line):
                self.need = int(line.split(b";")[0], 16)
                self.trailers = self.need == 0
                self.after_data = not self.trailers
            else:
                raise ValueError(f"invalid chunk size line {line[:40]!r}")


def forwarded(lines: bytes, headers: list[tuple[bytes, bytes]] | None, client: bytes,
              host: bytes, tls: bool, websocket: bool) -> bytes:
    """Header ``lines`` with X-Forwarded-For, -Port, -Proto and -Host added as CHP adds them.

    ``headers`` is the parsed list when the client sent X-Forwarded-* headers
    itself (their values are then extended, comma-separated), else None.
    Websocket requests get ``ws``/``wss`` and no X-Forwarded-Host, like CHP.
    """
    port = _PORT.search(host)
    added = {
        b"x-forwarded-for": client,
        b"x-forwarded-port": port[1] if port else (b"443" if tls else b"80"),
        b"x-forwarded-proto": (b"wss" if tls else b"ws") if websocket
        else (b"https" if tls else b"http"),
    }
    want_host = not websocket and bool(host)
    if headers is None:
        return lines + (
            b"X-Forwarded-For: %s\r\nX-Forwarded-Port: %s\r\nX-Forwarded-Proto: %s\r\n%s"
            % (*added.values(), b"X-Forwarded-Host: %s\r\n" % host if want_host else b""))
    out: list[bytes] = []
    seen: dict[bytes, list[bytes]] = {}
    for name, value in headers:
        lower = name.lower()
        if lower in _FORWARDED:
            seen.setdefault(lower, []).append(value)
            continue
        if lower == b"x-forwarded-host":
            want_host = False  # the first proxy's idea of the host wins
        out.append(b"%s: %s\r\n" % (name, value))
    for lower, value in added.items():
        if lower in seen:
            value = b", ".join(seen[lower]) + b"," + value
        out.append(b"%s: %s\r\n" % (lower, value))
    if want_host:
        out.append(b"X-Forwarded-Host: %s\r\n" % host)
    return b"".join(out)


class CustomHeaders:
    """``--custom-header``: header lines set on every request, replacing the client's."""

    __slots__ = ("lines", "names")

    def __init__(self, headers: Iterable[tuple[str, str]]) -> None:
        headers = tuple(headers)
        self.names = frozenset(name.lower().encode() for name, _ in headers)
        self.lines = b"".join(b"%s: %s\r\n" % (name.encode(), value.encode("latin-1"))
                              for name, value in headers)

    def apply(self, lines: bytes) -> bytes:
        """Header ``lines`` (each ending in CRLF) without any of ours, then ours.

        Names are compared in any letter case, so a client cannot slip its own
        value past under another spelling. Lines are whole headers: llhttp
        refuses obsolete line folding.
        """
        names = self.names
        kept = [line + b"\r\n" for line in lines.split(b"\r\n")[:-1]
                if line.partition(b":")[0].lower() not in names]
        return b"".join(kept) + self.lines


def origin_form(url: bytes) -> bytes:
    """``http://host/path?q`` (absolute form) or ``*`` -> ``/path?q``."""
    try:
        parts = httptools.parse_url(url)
    except httptools.HttpParserInvalidURLError:
        return b"/"
    path = parts.path or b"/"
    return path + b"?" + parts.query if parts.query else path


def closing(head: bytes) -> bytes:
    """A response ``head`` that tells the client the connection closes after it.

    Its own Connection and Keep-Alive headers (hop-by-hop) give way to
    ``Connection: close``.
    """
    lines = head[:-4].split(b"\r\n")
    kept = [line for line in lines[1:]
            if line.split(b":", 1)[0].strip().lower() not in (b"connection", b"keep-alive")]
    return b"\r\n".join([lines[0], *kept, b"Connection: close"]) + b"\r\n\r\n"


def response(status: int, body: bytes, close: bool, headers: bytes = b"") -> bytes:
    """A whole response the proxy answers itself; ``headers`` are complete lines."""
    return b"HTTP/1.1 %d %s\r\n%sContent-Length: %d\r\n%s\r\n%s" % (
        status, HTTPStatus(status).phrase.encode(), headers, len(body),
        b"Connection: close\r\n" if close else b"", body)


class _ErrorPage:
    """Collects an error-target response (httptools callbacks)."""

    def __init__(self) -> None:
        self.headers = b""
        self.body: list[bytes] = []
        self.head_done = False
        self.done = False

    def on_headers_complete(self) -> None:
        self.head_done = True

    def on_header(self, name: bytes, value: bytes) -> None:
        if name.lower() in (b"content-type", b"content-encoding"):
            self.headers += b"%s: %s\r\n" % (name, value)

    def on_body(self, body: bytes) -> None:
        self.body.append(body)

    def on_message_complete(self) -> None:
        self.done = True


async def fetch_error_page(error_target: str, code: int, url: bytes,
                           tls: Callable[[], ssl.SSLContext],
                           timeout: float = 10.0) -> tuple[bytes, bytes] | None:
    """GET ``<error_target>/<code>?url=<url>``: (header lines to relay, body), or None.

    As in CHP, only Content-Type and Content-Encoding are relayed; the status
    stays ``code`` whatever the error target answers. ``tls`` gives the
    context for an https error target: the one routes use (``--client-ssl-*``),
    as CHP uses it, so an error target that requires client certificates works.
    """
    try:
        target = Target(error_target)
    except ValueError:
        log.error("--error-target %s is not an http(s) URL", error_target)
        return None
    query = urlencode({"url": url.decode("latin-1")})
    request = (f"GET {target.path.decode()}/{code}?{query} HTTP/1.1\r\n"
               f"Host: {target.host}:{target.port}\r\nConnection: close\r\n\r\n").encode()
    page = _ErrorPage()
    parser = httptools.HttpResponseParser(page)
    writer = None
    try:
        async with asyncio.timeout(timeout):
            reader, writer = await asyncio.open_connection(
                target.host, target.port, ssl=tls() if target.tls else None)
            writer.write(request)
            while not page.done:
                data = await reader.read(65536)
                if not data:
                    break
                parser.feed_data(data)
    except (OSError, TimeoutError, ssl.SSLError, httptools.HttpParserError) as e:
        log.error("Failed to get custom error page: %r", e)
        return None
    finally:
        if writer is not None:
            writer.close()
    # A response without a length ends with the connection.
    return (page.headers, b"".join(page.body)) if page.head_done else None


async def read_error_page(folder: str, code: int) -> tuple[bytes, bytes] | None:
    """``<folder>/<code>.html``, else ``<folder>/error.html``: (header lines, body), or None.

    The file is looked up when the error happens, as CHP does: a page added
    or edited while the proxy runs is served at once (a test can tell, so no
    cache at start-up). Errors are off the hot path; the read runs on a worker
    thread so that a slow disk stalls no other connection.
    """
    return await asyncio.to_thread(_read_error_file, folder, code)


def _read_error_file(folder: str, code: int) -> tuple[bytes, bytes] | None:
    for name in (f"{code}.html", "error.html"):
        path = os.path.join(folder, name)
        try:
            with open(path, "rb") as f:
                return _HTML, f.read()
        except FileNotFoundError:
            continue
        except OSError as e:  # there but unreadable: CHP does not fall back either
            log.error("--error-path: cannot read %s (%s)", path, e.strerror or e)
            return None
    log.warning("--error-path %s holds neither %d.html nor error.html", folder, code)
    return None
