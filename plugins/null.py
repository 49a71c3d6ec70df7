"""The `null` authenticator: nobody logs in through the login page; the hub is API-only.

For hubs driven entirely by services and scripts with API tokens
(``[hub.api_tokens]``, ``kernel token``): every login attempt is refused.
"""

from __future__ import annotations

from kernel import hookimpl


@hookimpl
def authenticate() -> None:
    return None
