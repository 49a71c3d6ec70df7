"""A tiny single-user server for tests and demos: `python -m kernel.testing.mockserver`.

It does what the hub needs from a single-user server and nothing more: it
listens where ``JUPYTERHUB_SERVICE_URL`` says, answers under
``JUPYTERHUB_SERVICE_PREFIX`` (``{prefix}api`` for the hub's readiness
check), and shows who it runs for. ``{prefix}env`` returns its
environment, uid, pid and working folder as JSON, so tests can check the
contract (it includes the server's token: this is for tests only).
``MOCKSERVER_START_DELAY`` (seconds) makes it slow to start, and
``MOCKSERVER_STOP_DELAY`` slow to stop (it answers on for that long after
SIGINT or SIGTERM). It is not a
Jupyter server: there is no authentication at all.
"""

from __future__ import annotations

import contextlib
import html
import json
import os
import signal
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit


class MockServerHandler(BaseHTTPRequestHandler):
    prefix = "/"
    server_version = "kernelhub-mockserver"

    def do_GET(self) -> None:
        path = urlsplit(self.path).path
        if not path.startswith(self.prefix):
            self._send(404, "text/plain", f"not under {self.prefix}\n")
        elif path == f"{self.prefix}api":
            self._send(200, "application/json", json.dumps({"version": "mock"}))
        elif path == f"{self.prefix}env":
            env = dict(os.environ)
            env["uid"] = str(os.getuid())
            env["pid"] = str(os.getpid())
            env["cwd"] = os.getcwd()
            self._send(200, "application/json", json.dumps(env))
        else:
            user = html.escape(os.environ.get("JUPYTERHUB_USER", "?"))
            self._send(200, "text/html; charset=utf-8",
                       f"<!DOCTYPE html><title>{user}'s server</title>"
                       f"<h1>Hello, {user}</h1><p>This is {user}'s server, at "
                       f"<code>{html.escape(path)}</code>.</p>")

    def _send(self, status: int, content_type: str, body: str) -> None:
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:
        sys.stderr.write(f"[mockserver {os.environ.get('JUPYTERHUB_USER', '?')}] "
                         f"{format % args}\n")


def main() -> None:
    # A slow server, for tests of what happens while spawns are pending.
    time.sleep(float(os.environ.get("MOCKSERVER_START_DELAY", "0")))
    url = urlsplit(os.environ["JUPYTERHUB_SERVICE_URL"])
    MockServerHandler.prefix = os.environ.get("JUPYTERHUB_SERVICE_PREFIX", url.path or "/")
    server = ThreadingHTTPServer((url.hostname or "", url.port or 8888), MockServerHandler)
    stop_delay = float(os.environ.get("MOCKSERVER_STOP_DELAY", "0"))
    if stop_delay:
        # A slow server to stop: it goes on answering for a while after SIGINT or SIGTERM.
        def exit_later(*_: object) -> None:
            threading.Timer(stop_delay, os._exit, args=(0,)).start()

        signal.signal(signal.SIGINT, exit_later)
        signal.signal(signal.SIGTERM, exit_later)
    else:
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    with contextlib.suppress(KeyboardInterrupt):
        server.serve_forever()


if __name__ == "__main__":
    main()
