"""Scopes that plugins bring: new scopes, and the built-in roles (and ``self``) that hold them.

Plugins declare them through the ``declare_scopes`` hook, into a
``ScopeDeclarations``, while the hub is built. Like the custom scopes of
``[custom_scope:NAME]`` sections, they are process-wide: each Hub replaces
``DECLARED`` with its own (``declare``), which ``kernel.scopes`` and
``kernel.roles`` read.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

#: The built-in roles a plugin may add scopes to.
EXTENSIBLE_ROLES = ("admin", "user", "server", "token")


@dataclass
class ScopeDeclarations:
    """What the enabled plugins declare: scopes, and who holds them without asking."""

    #: scope -> (what it allows, the scopes it implies), as ``kernel.scopes`` keeps them.
    definitions: dict[str, tuple[str, tuple[str, ...]]] = field(default_factory=dict)
    #: Scopes a user holds on their own resources: part of ``self``.
    own: list[str] = field(default_factory=list)
    #: Built-in role -> the scopes plugins add to it.
    roles: dict[str, list[str]] = field(default_factory=dict)

    def add(self, name: str, description: str, subscopes: Iterable[str] = (), *,
            roles: Iterable[str] = (), own: bool = False) -> None:
        """Declare the scope ``name`` implying ``subscopes``, held by the built-in
        ``roles`` (e.g. ``admin``) and, with ``own``, by every user on their own
        resources (``self``). A name declared twice is an error."""
        if name in self.definitions:
            raise ValueError(f"the scope {name!r} is declared twice")
        if not description:
            raise ValueError(f"the scope {name!r} needs a description")
        for role in roles:
            if role not in EXTENSIBLE_ROLES:
                raise ValueError(f"{role!r} is not a built-in role "
                                 f"({', '.join(EXTENSIBLE_ROLES)})")
            self.roles.setdefault(role, []).append(name)
        self.definitions[name] = (description, tuple(subscopes))
        if own:
            self.own.append(name)


#: The running hub's declarations (see ``declare``).
DECLARED = ScopeDeclarations()


def declare(declarations: ScopeDeclarations) -> None:
    """Make ``declarations`` the plugin scopes of this process."""
    DECLARED.definitions = dict(declarations.definitions)
    DECLARED.own = list(declarations.own)
    DECLARED.roles = {role: list(scopes) for role, scopes in declarations.roles.items()}
