"""Request body limits for every hub endpoint, and an end to reading bodies nobody wants.

``BodyLimit`` wraps every route and middleware that may read a body
(plugins' too); only the access log and the response headers are outside it. Each request gets the
limit of its kind of endpoint ([hub] max_api_body_size, max_form_body_size,
max_csp_report_size):

- a ``Content-Length`` above the limit is answered 413 before the app runs,
  so not a byte of the body is read;
- a chunked (or HTTP/2) body is counted as the app reads it, and the read
  that passes the limit raises a 413 ``HubError`` (the usual JSON or error
  page); the connection is then closed rather than drained;
- when the app answers without reading the body (a 403 for a request without
  credentials), the end of the answer waits while at most ``LINGER_BYTES`` of
  the rest of the body are read and thrown away, for ``LINGER_SECONDS`` at
  most. A small unread body is then gone and the connection stays usable;
  closing a socket with unread data would reset it, which can destroy the
  answer on its way through a proxy (a 503 there instead of the 403). A big
  body is not waited for: the connection is closed, and its sender learns
  from the answer it has already had. (Until hypercorn has closed it, what
  it queued for the app is still dropped: it cannot close a connection
  while that queue is full.)

Hypercorn itself reads ahead of the app only up to ``max_app_queue_size``
messages of at most 64 KiB, so a body nobody reads stays in the sender's
socket; memory is bounded by the limits, not by what a client sends.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import TYPE_CHECKING

from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from kernel.errors import HubError
from kernel.web.errors import error_response

if TYPE_CHECKING:
    from kernel.hub import Hub

#: How much of a body the app did not read is read and dropped before the answer ends.
LINGER_BYTES = 1024 * 1024
#: How long that may take, at most.
LINGER_SECONDS = 2.0


class BodyTooLarge(HubError):
    """413: the request body is over its endpoint's limit."""

    def __init__(self, limit: int, option: str) -> None:
        super().__init__(413, f"Request body too large: the limit here is {limit} bytes "
                              f"([hub] {option})", headers={"Connection": "close"})


class BodyLimit:
    """The body limit of each request's kind of endpoint: see the module docstring."""

    def __init__(self, app: ASGIApp, hub: Hub) -> None:
        self.app = app
        options = hub.config.hub
        prefix = hub.urls.hub_prefix
        form = (options.max_form_body_size, "max_form_body_size")
        # First match wins. OAuth's endpoints live under api/ but take forms, from anyone.
        self.limits = [
            (prefix + "security/csp-report", (options.max_csp_report_size,
                                              "max_csp_report_size")),
            (prefix + "api/oauth2/", form),
            (prefix + "api/", (options.max_api_body_size, "max_api_body_size")),
        ]
        self.form = form

    def limit_for(self, path: str) -> tuple[int, str]:
        """(limit in bytes, the option that sets it) for a request path."""
        for prefix, limit in self.limits:
            if path.startswith(prefix):
                return limit
        return self.form

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit, option = self.limit_for(scope["path"])
        declared = _content_length(scope)
        # Without Content-Length or Transfer-Encoding, an HTTP/1 request has no body.
        bodiless = declared == 0 or (declared is None
                                     and not _has_header(scope, b"transfer-encoding")
                                     and scope.get("http_version") in ("1.0", "1.1"))
        body = _BodyState(receive, limit, option, complete=bodiless)
        started = False

        async def send_after_body(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                if body.too_large:
                    MutableHeaders(scope=message)["Connection"] = "close"
            elif (message["type"] == "http.response.body" and not message.get("more_body")
                  and not body.complete):
                await body.finish_answer(send, message)
                return
            await send(message)

        if declared is not None and declared > limit:
            body.too_large = True
            await _refuse(scope, send_after_body, BodyTooLarge(limit, option))
            return
        try:
            await self.app(scope, body.receive, send_after_body)
        except BodyTooLarge as e:
            # Read outside an endpoint (a plugin's middleware): answered here instead.
            if not started:
                await _refuse(scope, send_after_body, e)


class _BodyState:
    """The request body as the app receives it: counted, and cut off past the limit."""

    def __init__(self, receive: Receive, limit: int, option: str, *, complete: bool) -> None:
        self._receive = receive
        self.limit = limit
        self.option = option
        self.received = 0
        self.complete = complete
        self.too_large = False

    async def receive(self) -> Message:
        if self.too_large:
            raise BodyTooLarge(self.limit, self.option)
        message = await self._receive()
        if message["type"] == "http.request":
            self.received += len(message.get("body", b""))
            if not message.get("more_body"):
                self.complete = True
            if self.received > self.limit:
                self.too_large = True
                raise BodyTooLarge(self.limit, self.option)
        elif message["type"] == "http.disconnect":
            self.complete = True
        return message

    async def finish_answer(self, send: Send, last: Message) -> None:
        """Send the answer's ``last`` message although the body was not all read.

        A small rest of the body (within LINGER_BYTES and LINGER_SECONDS) is read and
        dropped first, unless the body is over its limit. If some is left even so,
        the server closes the connection after ``last``; until it has, the rest is
        dropped as it comes: the server cannot close while its queue of body
        messages for the app is full, and the app reads no more.
        """
        if not self.too_large:
            if last.get("body"):
                await send({**last, "more_body": True})
                last = {"type": "http.response.body", "body": b"", "more_body": False}
            await self._linger()
        if self.complete:
            await send(last)
            return
        dropping = asyncio.ensure_future(self._drop_until_disconnect())
        try:
            await send(last)
        finally:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(dropping, LINGER_SECONDS)

    async def _linger(self) -> None:
        deadline = time.monotonic() + LINGER_SECONDS
        dropped = 0
        while not self.complete and dropped <= LINGER_BYTES:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return
            try:
                message = await asyncio.wait_for(self._receive(), remaining)
            except TimeoutError:
                return
            if message["type"] != "http.request" or not message.get("more_body"):
                self.complete = True
            dropped += len(message.get("body", b""))

    async def _drop_until_disconnect(self) -> None:
        while (await self._receive())["type"] != "http.disconnect":
            pass


def _content_length(scope: Scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None  # the HTTP parser has refused it already
    return None


def _has_header(scope: Scope, header: bytes) -> bool:
    return any(name == header for name, _ in scope["headers"])


async def _refuse(scope: Scope, send: Send, error: BodyTooLarge) -> None:
    response = error_response(Request(scope), error.status, error.message, error.headers)
    await response(scope, _no_receive, send)


async def _no_receive() -> Message:
    return {"type": "http.disconnect"}
