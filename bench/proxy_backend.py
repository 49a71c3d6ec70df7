"""The benchmark's backend: an HTTP server and a websocket echo server, on uvloop.

Every proxy in the benchmark forwards to it, and the "direct" column talks to
it with nothing in between, so it must be faster than any proxy in front of
it: a bare asyncio buffered protocol that reads into one 1 MiB buffer and
parses with httptools (the parser uvicorn uses), no framework, nothing
logged. Request bodies are counted, never copied: with an ``on_body``
callback, which copies every chunk, uploads stalled at about 1 GB/s here,
below what the proxies carry.

- ``GET /bytes/N``: N bytes (``/bytes/64`` is the small GET), keep-alive;
- ``POST /upload``: reads the whole body and answers with its length;
- the websocket server (its own port) echoes every message.

Run ``python bench/proxy_backend.py PORT WS_PORT``; it prints ``ready`` once both
listen, and runs until SIGTERM.
"""

from __future__ import annotations

import asyncio
import functools
import signal
import sys

import httptools
import uvloop
import websockets.asyncio.server

#: Bodies up to this size are sent in one write; larger ones stream in BLOCK-sized writes.
SMALL = 64 * 1024
BLOCK = memoryview(b"\x00" * (1024 * 1024))


def head(length: int, keep_alive: bool) -> bytes:
    connection = b"" if keep_alive else b"Connection: close\r\n"
    return (b"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n"
            b"Content-Length: %d\r\n%s\r\n" % (length, connection))


@functools.cache
def small_response(size: int, keep_alive: bool) -> bytes:
    return head(size, keep_alive) + bytes(BLOCK[:size])


class HTTPBackend(asyncio.BufferedProtocol):
    """One client connection: requests one after the other, answered in order."""

    def __init__(self) -> None:
        self.buffer = memoryview(bytearray(1024 * 1024))
        # No on_body method: httptools then skips bodies without handing them over.
        self.parser = httptools.HttpRequestParser(self)
        self.path = b""
        #: The Content-Length of the request; the parser completes it once all arrived.
        self.body_length = 0
        self.writable = asyncio.Event()
        self.writable.set()
        self.streaming: asyncio.Task[None] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport: asyncio.Transport = transport  # type: ignore[assignment]

    def get_buffer(self, sizehint: int) -> memoryview:
        return self.buffer

    def buffer_updated(self, nbytes: int) -> None:
        try:
            self.parser.feed_data(self.buffer[:nbytes])
        except httptools.HttpParserError:
            self.transport.close()

    # httptools callbacks

    def on_url(self, url: bytes) -> None:
        self.path += url

    def on_header(self, name: bytes, value: bytes) -> None:
        if name.lower() == b"content-length":
            self.body_length = int(value)

    def on_message_complete(self) -> None:
        self.answer(self.parser.should_keep_alive())
        self.path = b""
        self.body_length = 0

    def answer(self, keep_alive: bool) -> None:
        if self.path.startswith(b"/bytes/"):
            size = int(self.path[len(b"/bytes/"):])
            if size > SMALL:
                self.streaming = asyncio.ensure_future(self.stream(size, keep_alive))
                return
            self.transport.write(small_response(size, keep_alive))
        else:
            body = str(self.body_length).encode()
            self.transport.write(head(len(body), keep_alive) + body)
        if not keep_alive:
            self.transport.close()

    async def stream(self, size: int, keep_alive: bool) -> None:
        self.transport.write(head(size, keep_alive))
        while size > 0 and not self.transport.is_closing():
            await self.writable.wait()
            piece = BLOCK[:min(size, len(BLOCK))]
            self.transport.write(piece)
            size -= len(piece)
        if not keep_alive:
            self.transport.close()

    def pause_writing(self) -> None:
        self.writable.clear()

    def resume_writing(self) -> None:
        self.writable.set()

    def connection_lost(self, exc: Exception | None) -> None:
        self.writable.set()
        if self.streaming is not None:
            self.streaming.cancel()


async def echo(ws: websockets.asyncio.server.ServerConnection) -> None:
    async for message in ws:
        await ws.send(message)


async def serve(port: int, ws_port: int) -> None:
    loop = asyncio.get_running_loop()
    http = await loop.create_server(HTTPBackend, "127.0.0.1", port, backlog=4096)
    ws = await websockets.asyncio.server.serve(echo, "127.0.0.1", ws_port, compression=None)
    print("ready", flush=True)
    stop = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    await stop.wait()
    http.close()
    ws.close()


if __name__ == "__main__":
    uvloop.run(serve(int(sys.argv[1]), int(sys.argv[2])))
