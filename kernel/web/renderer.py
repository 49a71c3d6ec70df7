"""The HTML page renderer a plugin provides (the pages plugin): its protocol and stash key.

The kernel renders only its error pages, through whatever renderer is in
``hub.stash[PAGE_RENDERER]``; with none, errors are plain text.
"""

from __future__ import annotations

from typing import Any, Protocol

from starlette.requests import Request
from starlette.responses import Response

from kernel.stash import StashKey


class PageRenderer(Protocol):
    def render(self, request: Request, name: str, status_code: int = 200,
               **context: Any) -> Response:
        """The template ``name`` rendered with ``context``; ``error.html`` gets
        ``status`` and ``message``."""
        ...


PAGE_RENDERER = StashKey[PageRenderer]()
