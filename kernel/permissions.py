"""What a caller may do: the scopes of users and services (from their roles) and of
tokens (limited by their owner's), computed once and cached until roles, groups or
admin rights change.

A token's permissions are its own scopes intersected with what its owner may
do *now*: demoting an admin takes their tokens' admin rights at once. A login
session has all of its user's permissions. A service holds only the roles
given to it (``[role:NAME] services``), and the admin role if it is an
admin service.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable
from typing import TYPE_CHECKING

from kernel.errors import HubError
from kernel.roles import RoleAssignments, load_roles
from kernel.scopes import IDENTIFY_SCOPES, SERVICE_IDENTIFY_SCOPES, Owner, Scopes
from kernel.users import User

if TYPE_CHECKING:
    from kernel.hub import Hub
    from kernel.services import Service
    from kernel.tokens import TokenInfo
    from kernel.web.identity import Identity


class Permissions:
    #: How many tokens' scopes are remembered (the least recently used go first).
    token_cache_size = 50_000

    def __init__(self, hub: Hub) -> None:
        self.hub = hub
        self.roles = RoleAssignments()
        self._user_scopes: dict[int, Scopes] = {}
        self._service_scopes: dict[int, Scopes] = {}
        # Keyed by the whole token, not by its id: the database gives a deleted token's id
        # to the next token made (SQLite reuses the highest rowid), so a server's token
        # revoked at stop would hand its scopes to whichever token came next, whoever
        # owns it. A token's scopes depend only on these fields and on what its owner
        # holds, which `changed` covers.
        self._token_scopes: OrderedDict[TokenInfo, Scopes] = OrderedDict()

    def load(self) -> None:
        """Read roles and their holders (call on a database thread, at start-up)."""
        self.roles = load_roles(admin_access=self.hub.config.hub.admin_access)
        self.changed()

    def changed(self) -> None:
        """Forget computed scopes: a role, a group or an admin flag changed."""
        self._user_scopes.clear()
        self._service_scopes.clear()
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
                       *self._granted_by_plugins(user=user, group=None)]
            scopes = Scopes.expand(granted, Owner(user=user.name))
            self._user_scopes[user.id] = scopes
        return scopes

    def service_role_names(self, service: Service) -> set[str]:
        names = set(self.roles.services.get(service.id, set()))
        if service.spec.admin:
            names.add("admin")
        return names

    def group_role_names(self, group_id: int) -> set[str]:
        return set(self.roles.groups.get(group_id, set()))

    def service_scopes(self, service: Service) -> Scopes:
        scopes = self._service_scopes.get(service.id)
        if scopes is None:
            scopes = Scopes.expand(self.roles.scopes_of(self.service_role_names(service)),
                                   Owner(service=service.name))
            self._service_scopes[service.id] = scopes
        return scopes

    def token_scopes(self, token: TokenInfo, owner: User | Service) -> Scopes:
        scopes = self._token_scopes.get(token)
        if scopes is not None:
            self._token_scopes.move_to_end(token)
        else:
            if isinstance(owner, User):
                own = Scopes.expand([*token.scopes, *IDENTIFY_SCOPES],
                                    Owner(user=owner.name, server=self._server_of(token)))
                held = self.user_scopes(owner)
            else:
                own = Scopes.expand([*token.scopes, *SERVICE_IDENTIFY_SCOPES],
                                    Owner(service=owner.name))
                held = self.service_scopes(owner)
            scopes = own.intersect(held, self.groups_of)
            self._token_scopes[token] = scopes
            if len(self._token_scopes) > self.token_cache_size:
                self._token_scopes.popitem(last=False)
        return scopes

    def not_held(self, held: Scopes, scopes: list[str], owner: Owner) -> list[str]:
        """The scopes (expanded for ``owner``) that ``held`` does not fully cover:
        nobody can hand out more than they hold."""
        missing = []
        for scope in scopes:
            wanted = Scopes.expand([scope], owner)
            if wanted.inherits:
                continue
            covered = wanted.intersect(held, self.groups_of)
            if set(covered.as_list()) != set(wanted.as_list()):
                missing.append(scope)
        return missing

    def role_scopes(self, name: str) -> list[str]:
        """The scopes of the role ``name`` (none for a role that does not exist)."""
        role = self.roles.roles.get(name)
        return list(role.scopes) if role is not None else []

    def has_role(self, name: str) -> bool:
        return name in self.roles.roles

    def group_scopes(self, name: str) -> list[str]:
        """What membership of the group ``name`` gives: its roles' scopes and what plugins
        grant it (the servers shared with it)."""
        group = self.hub.groups.get(name)
        if group is None:
            return []
        return [*self.roles.scopes_of(self.roles.groups.get(group.id, set())),
                *self._granted_by_plugins(user=None, group=name)]

    def _granted_by_plugins(self, *, user: User | None, group: str | None) -> list[str]:
        """What plugins grant beyond roles (the ``granted_scopes`` hook)."""
        return self.hub.hooks.granted_scopes(user=user, group=group)

    def check_grant(self, grantor: Scopes, user_name: str, *, admin: bool = False,
                    roles: Iterable[str] = (), groups: Iterable[str] = ()) -> None:
        """403 unless ``grantor`` holds every scope that the user ``user_name`` would gain
        from the admin flag, the ``roles`` and the ``groups`` (each newly given).

        Nobody hands out more than they hold, whichever way: without this rule a
        holder of ``admin:users`` would make themselves admin through ``roles``.
        """
        granted = [*(self.role_scopes("admin") if admin else ()),
                   *(scope for role in roles for scope in self.role_scopes(role)),
                   *(scope for group in groups for scope in self.group_scopes(group))]
        missing = self.not_held(grantor, granted, Owner(user=user_name))
        if missing:
            given = [*(["admin"] if admin else []), *(f"role {r}" for r in roles),
                     *(f"group {g}" for g in groups)]
            raise HubError(403, f"Cannot give {user_name} {', '.join(given)}: that grants "
                                f"{', '.join(sorted(set(missing)))}, which you do not hold")

    def is_admin(self, identity: Identity) -> bool:
        """An admin user, or a service holding the admin role (who may make admins)."""
        if identity.user is not None:
            return identity.user.admin
        assert identity.service is not None
        return "admin" in self.service_role_names(identity.service)

    def scopes(self, identity: Identity) -> Scopes:
        """Everything the caller of a request may do."""
        if identity.token is None:
            assert identity.user is not None  # only users log in with a cookie
            return self.user_scopes(identity.user)
        owner = identity.user if identity.user is not None else identity.service
        assert owner is not None
        return self.token_scopes(identity.token, owner)

    @staticmethod
    def identify_scopes(identity: Identity) -> Scopes:
        """What whoami lets any credentials read of their owner, held or not (JupyterHub
        shows the model with them but does not list them among the caller's scopes)."""
        if identity.user is not None:
            return Scopes.expand(IDENTIFY_SCOPES, Owner(user=identity.user.name))
        assert identity.service is not None
        return Scopes.expand(SERVICE_IDENTIFY_SCOPES, Owner(service=identity.service.name))

    def _server_of(self, token: TokenInfo) -> str | None:
        """``user/name`` of the server a server's own token belongs to."""
        if token.server_id is None or token.user_id is None:
            return None
        owner = self.hub.users.by_id(token.user_id)
        if owner is None:
            return None
        server = next((s for s in owner.servers.values() if s.id == token.server_id), None)
        return server.full_name if server else None
