"""Is a new server up? Poll its URL until it answers HTTP, as JupyterHub does."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import httpx


class NotReady(Exception):
    """The server did not answer in time, or exited first; the message says which."""

    def __init__(self, message: str, *, exited: bool) -> None:
        super().__init__(message)
        self.exited = exited


async def wait_for_http(
    client: httpx.AsyncClient,
    url: str,
    timeout: float,
    exit_status: Callable[[], Awaitable[int | None]] | None = None,
) -> int:
    """GET ``url`` until any status below 500 comes back; return that status.

    Redirects are not followed: a 302 to a login page means the server is up.
    ``exit_status`` (the spawner's poll) is asked between attempts, so that a
    server that exits at once fails the spawn at once instead of after
    ``timeout``.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    delay = 0.02
    last_problem = "no answer"
    while True:
        try:
            response = await client.get(url, follow_redirects=False,
                                        timeout=max(1.0, min(5.0, deadline - loop.time())))
        except httpx.TransportError as e:
            last_problem = type(e).__name__
        else:
            if response.status_code < 500:
                return response.status_code
            last_problem = f"HTTP {response.status_code}"
        if exit_status is not None:
            status = await exit_status()
            if status is not None:
                raise NotReady(f"the server exited with status {status} before answering at "
                               f"{url}", exited=True)
        if loop.time() + delay > deadline:
            raise NotReady(f"the server did not answer at {url} within {timeout:g} seconds "
                           f"(http_timeout; last: {last_problem})", exited=False)
        await asyncio.sleep(delay)
        delay = min(delay * 1.5, 1.0)
