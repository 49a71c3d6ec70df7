"""What a caller may do: the scopes of users (from their roles) and of tokens (limited by
their owner's), computed once and cached until roles, groups or admin rights change.

A token's permissions are its own scopes intersected with what its owner may
do *now*: demoting an admin takes their tokens' admin rights at once. A login
session has all of its user's permissions.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from kernel.roles import RoleAssignments, load_roles
from kernel.scopes import IDENTIFY_SCOPES, Owner, Scopes

if TYPE_CHECKING:
    from kernel.hub import Hub
    from kernel.tokens import TokenInfo
    from kernel.users import User
    from kernel.web.identity import Identity


class Permissions:
    def __init__(self, hub: Hub) -> None:
        self.hub = hub
        self.roles = RoleAssignments()
        self._user_scopes: dict[int, Scopes] = {}
        self._token_scopes: dict[int, Scopes] = {}

    def load(self) -> None:
        """Read roles and their holders (call on a database thread, at start-up)."""
        self.roles = load_roles(admin_access=self.hub.config.hub.admin_access)
        self.changed()

    def changed(self) -> None:
        """Forget computed scopes: a role, a group or an admin flag changed."""
        self._user_scopes.clear()
        self._token_scopes.clear()

    def groups_of(self, user_name: str) -> set[str]:
        user = self.hub.users.get(user_name)
        return user.groups if user is not None else set()

    def role_names(self, user: User) -> set[str]:
        """The roles a user holds directly (not through groups), as the API lists them."""
        names = {"user"} | self.roles.users.get(user.id, set())
        if user.admin:
            names.add("admin")
        return names

    def user_scopes(self, user: User) -> Scopes:
        scopes = self._user_scopes.get(user.id)
        if scopes is None:
            names = self.role_names(user)
            for name in user.groups:
                group = self.hub.groups.get(name)
                if group is not None:
                    names |= self.roles.groups.get(group.id, set())
            granted = [*self.roles.scopes_of(names),
                       *self.hub.shares.scopes_for(user.id, user.groups)]
            scopes = Scopes.expand(granted, Owner(user=user.name))
            self._user_scopes[user.id] = scopes
        return scopes

    def token_scopes(self, token: TokenInfo, owner: User) -> Scopes:
        scopes = self._token_scopes.get(token.id)
        if scopes is None:
            server = self._server_of(token)
            own = Scopes.expand([*token.scopes, *IDENTIFY_SCOPES],
                                Owner(user=owner.name, server=server))
            scopes = own.intersect(self.user_scopes(owner), self.groups_of)
            self._token_scopes[token.id] = scopes
        return scopes

    def scopes(self, identity: Identity) -> Scopes:
        """Everything the caller of a request may do."""
        if identity.token is None:
            return self.user_scopes(identity.user)
        return self.token_scopes(identity.token, identity.user)

    def _server_of(self, token: TokenInfo) -> str | None:
        """``user/name`` of the server a server's own token belongs to."""
        if token.server_id is None or token.user_id is None:
            return None
        owner = self.hub.users.by_id(token.user_id)
        if owner is None:
            return None
        server = next((s for s in owner.servers.values() if s.id == token.server_id), None)
        return server.full_name if server else None
