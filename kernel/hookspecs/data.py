"""Hook specifications: plugins' own data and permissions (tables, scopes, grants), and
what follows renames and deletions."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import TYPE_CHECKING, Any

from kernel.hookmodes import collect, each, per_plugin
from kernel.hookspecs.marker import hookspec

if TYPE_CHECKING:
    from starlette.requests import Request

    from kernel.db.plugin_data import StoredData
    from kernel.hub import Hub
    from kernel.plugin_scopes import ScopeDeclarations
    from kernel.users import Server, User


# --------------------------------------------------------------------------
# Plugins' own data and permissions
# (one block: the tables, scopes and grants a plugin brings)
# --------------------------------------------------------------------------


@hookspec
@per_plugin
def stored_data() -> StoredData | None:
    """The tables this plugin keeps in the hub's database, and how they upgrade.

    Called once for every enabled plugin, when the hub is built and when
    ``kernel upgrade-db`` runs, before the database is checked. Must be a
    plain function, not returning an awaitable. Return a
    ``kernel.db.plugin_data.StoredData(models, migrations)``: the peewee models
    as they are now (in an order that satisfies foreign keys; they are bound
    to the hub's database for you) and the ``Migration`` steps from version 1
    (the plugin's first tables) to now. The kernel records the plugin's
    schema version: a database that has not seen the plugin gets its tables
    at the latest version; one whose tables are behind stops the hub until
    ``kernel upgrade-db`` (or ``[hub] upgrade_db``) runs the migrations, with
    the same backup as the kernel's own.

    :return: what the plugin stores, or ``None`` for nothing.
    """


@hookspec
@each(strict=True, awaits=False)
def declare_scopes(scopes: ScopeDeclarations) -> None:
    """Declare the scopes this plugin brings, and which built-in roles hold them.

    Called once for every enabled plugin while the hub is built, before
    ``hub.ini``'s roles are applied, so that roles, tokens and services can
    name the new scopes. Must be a plain function, not returning an
    awaitable; an exception (a scope declared twice, a subscope nobody
    declares) is a start-up error naming the plugin. Call
    ``scopes.add(name, description, subscopes, roles=("admin",), own=True)``:
    ``roles`` lists the built-in roles (``admin``, ``user``, ``server``,
    ``token``) that hold the scope, ``own`` makes it part of ``self`` (every
    user holds it on their own resources). Without ``[hub] admin_access``,
    admins get a scope that implies ``access:servers`` only as its other
    subscopes.

    :param scopes: the declarations to add to (``kernel.plugin_scopes``).
    :return: nothing; results are ignored.
    """


@hookspec
@collect
def granted_scopes(hub: Hub, user: User | None, group: str | None) -> list[str] | None:
    """Scopes this plugin grants a user, or the members of a group, beyond their roles.

    Called for every enabled plugin when the hub works out what a user may
    do (``user`` set, ``group`` None; the answer includes what the user's
    groups get) or what membership of a group gives (``user`` None,
    ``group`` its name; checked when someone adds a member). The hub caches
    the results: call ``hub.permissions.changed()`` whenever your grants
    change. Must be a plain, quick function, not returning an awaitable and
    not querying the database; an exception fails the request.

    :param hub: the running hub.
    :param user: the user whose scopes are worked out, or None.
    :param group: the group whose members' scopes are worked out, or None.
    :return: scopes (filtered as you like, e.g.
        ``access:servers!server=alice/``), or ``None`` for none.
    """


@hookspec
@each(strict=False)
def resource_renamed(hub: Hub, old: str, new: str) -> Awaitable[None] | None:
    """A user or a server was renamed: rewrite what the plugin keeps that names it.

    Called for every enabled plugin, in turn, after the rename is stored and
    before the request answers, so that what a plugin keeps (a share's
    scopes, ``access:servers!server=alice/gpu``) keeps naming the renamed
    user or server, and nothing passes to whoever takes the old name next.
    ``old`` and ``new`` are user names (``alice``) or servers' full names
    (``alice/gpu``), as ``kernel.scopes.follow_rename`` takes them. May
    return an awaitable; an exception is logged and the others still run.

    :param hub: the running hub.
    :param old: the old name.
    :param new: the new name.
    """


@hookspec
@each(strict=False)
def resource_deleted(hub: Hub, user: User | None, server: Server | None,
                     group: str | None) -> Awaitable[None] | None:
    """A user, a named server or a group was deleted: forget what the plugin keeps of it.

    Called for every enabled plugin, in turn, once the deletion is stored
    (database rows that refer to it with ``on_delete="CASCADE"`` are gone
    already) and before the request answers. Exactly one of ``user``,
    ``server`` and ``group`` is set. Forget what you keep in memory, and
    call ``hub.permissions.changed()`` if that changes anyone's scopes. May
    return an awaitable; an exception is logged and the others still run.

    :param hub: the running hub.
    :param user: the deleted user, or None.
    :param server: the deleted named server, or None.
    :param group: the name of the deleted group, or None.
    """


@hookspec
@per_plugin
def extra_template_vars(hub: Hub, request: Request, template: str,
                        user: User | None) -> dict[str, Any] | None:
    """Variables to add to a page the hub renders (datasette's hook of the same name).

    Called for every enabled plugin each time a page is rendered, with the
    template's name (``home.html``); the variables of all plugins are merged,
    and the page's own variables win over them. Must be a plain, quick
    function, not returning an awaitable; an exception fails the page.

    :param hub: the running hub.
    :param request: the request being answered.
    :param template: the template's file name.
    :param user: the logged-in person, or None.
    :return: a dict of template variables, or ``None`` for none.
    """
