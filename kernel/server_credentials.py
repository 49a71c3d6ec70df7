"""A server's own credentials: the API token and OAuth client the single-user contract needs.

Issued afresh at every spawn (the previous ones revoked), and named as
JupyterHub names them, so that single-user servers and their extensions
find what they expect.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import quote

if TYPE_CHECKING:
    from kernel.hub import Hub
    from kernel.spawner import Spawner
    from kernel.users import Server


async def give_credentials(hub: Hub, spawner: Spawner, server: Server) -> None:
    """The server's own API token and OAuth client, as the single-user contract needs."""
    await hub.tokens.revoke_where(server_id=server.id)
    token, _ = await hub.tokens.issue(
        user_id=server.user.id, server_id=server.id,
        # The `server` role's bare filters are filled from the token's owner and server.
        scopes=spawner.server_token_scopes or hub.permissions.role_scopes("server"),
        note=f"Server at {server.prefix(hub.urls.base_url)}")
    spawner.api_token = token
    spawner.oauth_client_id = oauth_client_id(server)
    spawner.oauth_access_scopes = access_scopes(server)
    await hub.oauth_clients.register(
        identifier=spawner.oauth_client_id, secret=token,
        redirect_uri=f"{server.link(hub.urls)}oauth_callback",
        description=f"Server at {server.prefix(hub.urls.base_url)}",
        allowed_scopes=spawner.oauth_client_allowed_scopes,
        access_scopes=spawner.oauth_access_scopes)


def oauth_client_id(server: Server) -> str:
    """The server's OAuth client id (also its cookie name), as JupyterHub names it.

    Fully escaped, unlike the server's URL: ``@`` is fine in a path but not in a
    cookie name (``jupyterhub-user-ann%40example.org``).
    """
    client = f"jupyterhub-user-{quote(server.user.name, safe='')}"
    return f"{client}-{quote(server.name, safe='')}" if server.name else client


def access_scopes(server: Server) -> list[str]:
    """Scopes any one of which lets a user into the server (JUPYTERHUB_OAUTH_ACCESS_SCOPES)."""
    return [f"access:servers!server={server.full_name}",
            f"access:servers!user={server.user.name}"]
