"""Where `next=` may send a browser: only to paths on this hub, never to another site.

An open redirect lets a phishing link borrow the hub's address. A ``next``
value is accepted only as an absolute path under ``base_url`` with no scheme
or host, after undoing the encodings and slash tricks browsers forgive
(``//evil``, ``/\\evil``, ``/%2F%2Fevil``, tabs and newlines, ...).
"""

from __future__ import annotations

from urllib.parse import unquote, urlsplit


def safe_next_url(next_url: str | None, base_url: str) -> str | None:
    """``next_url`` if it is a same-origin path under ``base_url``, else None."""
    if not next_url:
        return None
    # Browsers drop tabs and newlines inside URLs, and treat "\" like "/".
    if any(c in next_url for c in "\t\r\n\x00\\"):
        return None
    if not next_url.startswith("/") or next_url.startswith("//"):
        return None
    # Decoded forms must pass the same checks (a proxy or the browser may decode them).
    decoded = next_url
    for _ in range(3):
        decoded = unquote(decoded)
        if decoded.startswith("//") or "\\" in decoded or any(c in decoded for c in "\t\r\n"):
            return None
    parts = urlsplit(next_url)
    if parts.scheme or parts.netloc:
        return None
    if not (parts.path + "/").startswith(base_url):
        return None
    return next_url
