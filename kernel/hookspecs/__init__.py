"""The hook specifications: the whole surface a kernelhub plugin can implement.

Every hook is documented for plugin authors, and each has a page in
``docs/hooks/``. Implement one with ``from kernel.api import hookimpl`` and a
module-level function of the same name; you may accept any subset of the
arguments, in any order (pluggy passes them by name).

A hook documented as "may return an awaitable" can be implemented with
``def`` or ``async def``; kernelhub awaits the result for you (see
``kernel.hookengine``). The others must be plain functions.

The decorator under ``@hookspec`` is the hook's call mode (see
``kernel.hookmodes``): how the hub calls the implementations and combines
their results. The hub calls a hook through its typed method on
``hub.hooks`` (``kernel.hookcall.HookRunner``), never by name.

The specifications are grouped in the modules of this package: ``hub``
(configuration, the hub's lifecycle, the roles), ``requests`` (around spawns
and requests, observers, the web app and the command line) and ``data``
(plugins' tables, scopes and grants); every hook is importable from here.
"""

from kernel.hookspecs.data import (
    declare_scopes,
    extra_template_vars,
    granted_scopes,
    resource_deleted,
    resource_renamed,
    stored_data,
)
from kernel.hookspecs.hub import (
    authenticate,
    declare_options,
    hub_shutdown,
    hub_startup,
    internal_tls,
    post_auth,
    refresh_user,
    route,
    spawn,
)
from kernel.hookspecs.marker import hookspec
from kernel.hookspecs.requests import (
    cli_commands,
    log,
    login_services,
    metrics,
    post_spawn_stop,
    pre_spawn_start,
    redirect,
    template_paths,
    web_middleware,
    web_routes,
)

__all__ = [
    "authenticate",
    "cli_commands",
    "declare_options",
    "declare_scopes",
    "extra_template_vars",
    "granted_scopes",
    "hookspec",
    "hub_shutdown",
    "hub_startup",
    "internal_tls",
    "log",
    "login_services",
    "metrics",
    "post_auth",
    "post_spawn_stop",
    "pre_spawn_start",
    "redirect",
    "refresh_user",
    "resource_deleted",
    "resource_renamed",
    "route",
    "spawn",
    "stored_data",
    "template_paths",
    "web_middleware",
    "web_routes",
]
