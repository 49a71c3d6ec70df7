"""HubError: a refusal with an HTTP status, raised by hub logic and answered by the web layer.

Hub logic (spawning, users, tokens) raises ``HubError`` with the status
JupyterHub answers in that situation; the web app turns it into a JSON error
for API requests and an error page for browsers.
"""

from __future__ import annotations


class HubError(Exception):
    def __init__(self, status: int, message: str, *,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}
