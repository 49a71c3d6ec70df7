"""Scopes: JupyterHub's permission model, expanded, filtered, intersected and checked.

A scope names a permission (``read:users``) and may be limited by a filter
to one user, server, group or service (``read:users!user=alice``,
``access:servers!server=alice/gpu``, ``read:groups!group=physics``,
``access:services!service=grader``). A scope implies its subscopes
(``users`` implies ``read:users``, which implies ``read:users:name``, ...),
with the same filter. Roles are named lists of scopes (``kernel.roles``).

``Scopes`` holds an expanded set and answers "may this caller do X to that
resource?": yes; no, the scope is missing (403); or no, the caller holds the
scope only for other resources (404, which hides whether the resource
exists), as JupyterHub answers.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from kernel.plugin_scopes import DECLARED

#: Every scope: (what it allows, the scopes it implies).
SCOPE_DEFINITIONS: dict[str, tuple[str, tuple[str, ...]]] = {
    "self": ("Your own resources (expands to the owner's user-level scopes).", ()),
    "inherit": ("Everything the token's owner may do.", ()),
    "admin-ui": ("The admin page.", ()),
    "admin:users": ("Create, change and delete users, with their auth state.",
                    ("admin:auth_state", "users", "read:roles:users", "delete:users")),
    "admin:auth_state": ("Read users' auth state.", ()),
    "users": ("Read and change users (except admin rights).",
              ("read:users", "list:users", "users:activity")),
    "delete:users": ("Delete users.", ()),
    "list:users": ("List users' names.", ("read:users:name",)),
    "read:users": ("Read user models.",
                   ("read:users:name", "read:users:groups", "read:users:activity")),
    "read:users:name": ("Read users' names.", ()),
    "read:users:groups": ("Read users' group membership.", ()),
    "read:users:activity": ("Read users' last activity.", ()),
    "users:activity": ("Report users' activity.", ("read:users:activity",)),
    "read:roles": ("Read role assignments.",
                   ("read:roles:users", "read:roles:services", "read:roles:groups")),
    "read:roles:users": ("Read users' roles.", ()),
    "read:roles:services": ("Read services' roles.", ()),
    "read:roles:groups": ("Read groups' roles.", ()),
    "admin:servers": ("Start, stop and read servers, with their spawner state.",
                      ("admin:server_state", "servers")),
    "admin:server_state": ("Read servers' spawner state.", ()),
    "servers": ("Start, stop and read servers.",
                ("read:servers", "start:servers", "delete:servers")),
    "read:servers": ("Read servers' models.", ("read:users:name",)),
    "start:servers": ("Create, start and change servers.", ()),
    "delete:servers": ("Stop and remove servers.", ()),
    "tokens": ("Create, read and revoke API tokens.", ("read:tokens",)),
    "read:tokens": ("Read API tokens.", ()),
    "admin:groups": ("Create, change and delete groups.",
                     ("groups", "read:roles:groups", "delete:groups")),
    "groups": ("Read groups and change their members and properties.",
               ("read:groups", "list:groups")),
    "list:groups": ("List groups' names.", ("read:groups:name",)),
    "read:groups": ("Read group models.", ("read:groups:name",)),
    "read:groups:name": ("Read groups' names.", ()),
    "delete:groups": ("Delete groups.", ()),
    "admin:services": ("Create and delete services, and read them.",
                       ("list:services", "read:services", "read:roles:services")),
    "list:services": ("List services' names.", ("read:services:name",)),
    "read:services": ("Read service models.", ("read:services:name",)),
    "read:services:name": ("Read services' names.", ()),
    "read:hub": ("Read the hub's details (/info).", ()),
    "access:servers": ("Use servers through their web interface and API.", ()),
    "access:services": ("Use services through their web interface and API.", ()),
    "proxy": ("Read and sync the proxy's routing table.", ()),
    "shutdown": ("Shut the hub down.", ()),
    "read:metrics": ("Read the hub's metrics (/hub/metrics).", ()),
}

#: The custom scopes the running hub declares ([custom_scope:custom:NAME] sections), in
#: SCOPE_DEFINITIONS' shape. Like JupyterHub's, they are process-wide: each Hub replaces them
#: with its own when it is built (``define_custom_scopes``).
CUSTOM_SCOPES: dict[str, tuple[str, tuple[str, ...]]] = {}

#: JupyterHub's rule for custom scope names.
CUSTOM_SCOPE_PATTERN = re.compile(r"^custom:[a-z0-9][a-z0-9_\-\*:]+[a-z0-9_\*]$")

#: What `self` means: a user's own resources.
SELF_SCOPES = ("read:users", "users:activity", "servers", "tokens", "access:servers")

#: Granted to every token on top of its scopes, so that whoami works.
IDENTIFY_SCOPES = ("read:users:name!user", "read:users:groups!user")
SERVICE_IDENTIFY_SCOPES = ("read:services:name!service",)

FILTER_KINDS = ("user", "server", "group", "service")


class ScopeError(ValueError):
    """A scope that does not exist or is written wrongly; the message says which."""


class CustomScopeError(ScopeError):
    """A custom scope declared wrongly; ``scope`` names it."""

    def __init__(self, scope: str, message: str) -> None:
        super().__init__(message)
        self.scope = scope


@dataclass(frozen=True)
class Owner:
    """Who bare filters (``!user``, ``!server``, ``!service``) and ``self`` refer to."""

    user: str | None = None
    #: ``user/name`` of the server a server's token or OAuth client belongs to.
    server: str | None = None
    service: str | None = None


#: A scope's filter: (kind, value), or None for unfiltered.
Filter = tuple[str, str] | None
GroupsOf = Callable[[str], Iterable[str]]


def define_custom_scopes(definitions: Mapping[str, tuple[str, Iterable[str]]]) -> None:
    """Make ``definitions`` (scope -> (description, subscopes)) the custom scopes, checked
    as JupyterHub checks them (and with its words); CustomScopeError when one is wrong."""
    checked: dict[str, tuple[str, tuple[str, ...]]] = {}
    for scope, (description, subscopes) in definitions.items():
        if not CUSTOM_SCOPE_PATTERN.match(scope):
            raise CustomScopeError(scope, (
                f"Invalid scope name: {scope!r}. Custom scopes must start with `custom:` and "
                "contain only lowercase ascii letters, numbers, hyphen, underscore, colon, "
                "and asterisk (-_:*). The part after `custom:` must start with a letter or "
                "number. Scopes may not end with a hyphen or colon."))
        if not description:
            raise CustomScopeError(scope, f"scope {scope} missing key 'description'")
        for subscope in subscopes:
            if subscope in definitions:
                continue
            if subscope in SCOPE_DEFINITIONS:
                raise CustomScopeError(scope, (
                    f"non-custom subscope {subscope} in {scope} is not allowed. Custom scopes "
                    "may only have custom subscopes. Roles should be used to assign multiple "
                    "scopes together."))
            raise CustomScopeError(scope, f"subscope {subscope} in {scope} not found. All "
                                          "scopes must be defined.")
        checked[scope] = (description, tuple(subscopes))
    CUSTOM_SCOPES.clear()
    CUSTOM_SCOPES.update(checked)


def definition(base: str) -> tuple[str, tuple[str, ...]] | None:
    """(description, subscopes) of a built-in, plugin or custom scope; None if none."""
    return (SCOPE_DEFINITIONS.get(base) or DECLARED.definitions.get(base)
            or CUSTOM_SCOPES.get(base))


def all_definitions() -> dict[str, tuple[str, tuple[str, ...]]]:
    """Every scope the running hub knows: built in, from plugins, and custom."""
    return {**SCOPE_DEFINITIONS, **DECLARED.definitions, **CUSTOM_SCOPES}


def parse(scope: str) -> tuple[str, Filter | str]:
    """``read:users!user=alice`` -> ("read:users", ("user", "alice")); bare filters kept."""
    base, _, rest = scope.partition("!")
    if base.startswith("custom:") and base not in CUSTOM_SCOPES:
        # JupyterHub's words, and where to declare it.
        raise ScopeError(f"Scope '{base}' does not exist: declare it in a "
                         f"[custom_scope:{base}] section with a description")
    if definition(base) is None:
        raise ScopeError(f"unknown scope {base!r}")
    if not rest:
        return base, None
    kind, equals, value = rest.partition("=")
    if kind not in FILTER_KINDS:
        raise ScopeError(f"unknown filter {rest!r} in {scope!r} (use !user=, !server=, "
                         "!group= or !service=)")
    if not equals:
        return base, kind  # a bare filter, filled from the owner
    if not value or (kind == "server" and "/" not in value):
        raise ScopeError(f"bad filter value in {scope!r}")
    return base, (kind, value)


def check(scopes: Iterable[str]) -> list[str]:
    """The scopes, each checked to exist and be well written (ScopeError otherwise)."""
    return [scope for scope in scopes if parse(scope)]


class Scopes:
    """An expanded set of scopes: base scope -> the filters it holds (None = everything)."""

    def __init__(self, grants: Mapping[str, set[Filter]] | None = None) -> None:
        self._grants: dict[str, set[Filter]] = {k: set(v) for k, v in (grants or {}).items()}

    @classmethod
    def expand(cls, scopes: Iterable[str], owner: Owner) -> Scopes:
        """Expand scopes (and `self`) into every implied subscope, filling bare filters."""
        expanded = cls()
        for scope in scopes:
            base, filter_ = parse(scope)
            if base == "self":
                if owner.user:
                    for own in (*SELF_SCOPES, *DECLARED.own):
                        expanded._add_with_subscopes(own, ("user", owner.user))
                continue
            if base == "inherit":
                expanded._grants.setdefault("inherit", set()).add(None)
                continue
            if isinstance(filter_, str):
                filter_ = _fill(filter_, owner)
                if filter_ is None:
                    continue  # e.g. `!server` for an owner without a server: grants nothing
            expanded._add_with_subscopes(base, filter_)
        return expanded

    def _add_with_subscopes(self, base: str, filter_: Filter) -> None:
        self._grants.setdefault(base, set()).add(filter_)
        for sub in (definition(base) or ("", ()))[1]:
            if filter_ and filter_[0] == "server" and sub.startswith("read:user"):
                # As in JupyterHub, a server filter makes no sense on user-level
                # subscopes (read:servers -> read:users:name): they are dropped, so that
                # access to one server does not reveal its owner's user model.
                continue
            self._add_with_subscopes(sub, filter_)

    # -- questions ------------------------------------------------------------------

    @property
    def inherits(self) -> bool:
        return "inherit" in self._grants

    def holds(self, base: str) -> bool:
        """Whether any grant of ``base`` is held, for any resource."""
        return bool(self._grants.get(base))

    def allows(self, base: str, *, user: str | None = None, server: str | None = None,
               group: str | None = None, service: str | None = None,
               groups_of: GroupsOf = lambda _: ()) -> bool:
        """Whether ``base`` covers the resource (a user, a ``user/name`` server, a group, a
        service), or covers everything when no resource is named."""
        filters = self._grants.get(base, set())
        if None in filters:
            return True
        if server is not None and user is None:
            user = server.split("/", 1)[0]
        resource = {"user": user, "server": server, "group": group, "service": service}
        for kind, value in filter(None, filters):  # None (everything) was answered above
            if value == resource[kind]:
                return True
            if kind == "group" and user is not None and value in groups_of(user):
                return True
        return False

    def filters(self, base: str) -> set[Filter]:
        return set(self._grants.get(base, set()))

    def intersect(self, other: Scopes, groups_of: GroupsOf) -> Scopes:
        """What both allow: a token's scopes limited to what its owner may do now."""
        if self.inherits:
            return other
        result = Scopes()
        for base in self._grants.keys() & other._grants.keys():
            mine, theirs = self._grants[base], other._grants[base]
            kept = {f for f in mine if _covered(f, theirs, groups_of)}
            kept |= {f for f in theirs if _covered(f, mine, groups_of)}
            if kept:
                result._grants[base] = {None} if None in kept else kept
        return result

    def __or__(self, other: Scopes) -> Scopes:
        merged = Scopes(self._grants)
        for base, filters in other._grants.items():
            merged._grants.setdefault(base, set()).update(filters)
        return merged

    def as_list(self) -> list[str]:
        """Sorted scope strings, as the API shows them."""
        return sorted(base if f is None else f"{base}!{f[0]}={f[1]}"
                      for base, filters in self._grants.items()
                      for f in ({None} if None in filters else filters))

    def __repr__(self) -> str:
        return f"Scopes({self.as_list()})"


def follow_rename(scopes: Iterable[str], old: str, new: str) -> list[str]:
    """``scopes`` with their filters on a renamed user or server following the new name.

    For a user (``old`` and ``new`` without a slash) that is its ``!user=`` filters and
    the ``!server=`` filters of its servers; for a server (``user/name``), its
    ``!server=`` filters. Without this, a grant on ``alice`` would pass to the next
    person who takes the name.
    """
    renamed = []
    for scope in scopes:
        base, _, rest = scope.partition("!")
        kind, _, value = rest.partition("=")
        if "/" in old:
            if kind == "server" and value == old:
                value = new
        elif kind == "user" and value == old:
            value = new
        elif kind == "server" and value.partition("/")[0] == old:
            value = f"{new}/{value.partition('/')[2]}"
        renamed.append(f"{base}!{kind}={value}" if value and rest else scope)
    return renamed


def _fill(kind: str, owner: Owner) -> Filter:
    value = {"user": owner.user, "server": owner.server, "service": owner.service}.get(kind)
    return (kind, value) if value else None


def _covered(filter_: Filter, by: set[Filter], groups_of: GroupsOf) -> bool:
    """Whether a grant with ``filter_`` lies within the grants ``by``."""
    if None in by:
        return True
    if filter_ is None:
        return False
    if filter_ in by:
        return True
    kind, value = filter_
    user = value.split("/", 1)[0] if kind == "server" else value if kind == "user" else None
    if user is None:
        return False
    for kind, holder in filter(None, by):  # None (everything) was answered above
        if (kind, holder) == ("user", user):
            return True
        if kind == "group" and holder in groups_of(user):
            return True
    return False
