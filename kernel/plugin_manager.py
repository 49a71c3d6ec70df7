"""Building a hub's plugin manager: discovery, the hub.ini allowlist, call order, role checks.

Every plugin, built-in or third-party, is an entry point in the ``kernelhub``
group. Only the plugins hub.ini enables are imported; all others are blocked
before import. Enabled plugins are registered so that pluggy calls them in the
order hub.ini lists them: ``[hub] plugins`` first, then the authenticator,
spawner and proxy, then plugins that are on by default, then the essential
plugins (the REST API and the pages), which can never be disabled.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib.metadata import EntryPoint, entry_points

import pluggy

from kernel import PROJECT_NAME, hookspecs
from kernel.config.errors import ConfigError
from kernel.hookcall import HOOK_MODES

ENTRY_POINT_GROUP = PROJECT_NAME

#: Loaded whatever hub.ini says; `no:NAME` for these is an error.
ESSENTIAL_PLUGINS: tuple[str, ...] = ("rest-api", "pages", "oauth-provider")
#: On unless hub.ini says `no:NAME` in `[hub] plugins`.
DEFAULT_PLUGINS: tuple[str, ...] = ("services", "prometheus", "import-config", "import-db",
                                    "sharing")


@dataclass(frozen=True)
class Role:
    """A job exactly one enabled plugin does, chosen by a [hub] option."""

    hook: str
    option: str
    noun: str
    default: str


#: The ``single`` hooks a ``[hub]`` option chooses the plugin for, in hookspecs order.
ROLES: tuple[Role, ...] = tuple(
    Role(hook, mode.chosen_by, mode.noun, mode.default)
    for hook, mode in HOOK_MODES.items()
    # single() insists on a default where an option chooses; the checks narrow the types.
    if mode.kind == "single" and mode.chosen_by and mode.noun and mode.default
)


#: JupyterHub's class names for what kernelhub has as plugins, for a helpful error.
JUPYTERHUB_CLASSES = {
    "jupyterhub.auth.PAMAuthenticator": "pam",
    "jupyterhub.auth.DummyAuthenticator": "dummy",
    "jupyterhub.auth.NullAuthenticator": "null",
    "jupyterhub.spawner.LocalProcessSpawner": "localprocess",
    "jupyterhub.spawner.SimpleLocalProcessSpawner": "simple",
    "jupyterhub.proxy.ConfigurableHTTPProxy": "configurable-http-proxy",
}


@dataclass(frozen=True)
class PluginSelection:
    """What hub.ini asks for: the three role plugins and the `[hub] plugins` list."""

    authenticator_class: str = "pam"
    spawner_class: str = "localprocess"
    proxy_class: str = "kernel-proxy"
    plugins: tuple[str, ...] = ()

    def chosen(self, role: Role) -> str:
        name = getattr(self, role.option)
        return role.default if name == "default" else name

    @property
    def added(self) -> list[str]:
        return [p for p in self.plugins if not p.startswith("no:")]

    @property
    def disabled(self) -> list[str]:
        return [p[3:] for p in self.plugins if p.startswith("no:")]


@dataclass
class PluginInfo:
    """One installed plugin, as `kernel plugins` shows it."""

    name: str
    entry_point: str
    distribution: str | None
    version: str | None
    active: bool
    reason: str
    hooks: list[str] = field(default_factory=list)


@dataclass
class Plugins:
    """A hub's plugin manager and what it knows about every installed plugin."""

    manager: pluggy.PluginManager
    infos: dict[str, PluginInfo]
    #: Enabled plugin names in call order.
    order: list[str]
    #: The plugin doing each role, by option name (``spawner_class`` -> ``simple``).
    roles: dict[str, str]


def installed_plugins() -> dict[str, EntryPoint]:
    """Every entry point in the ``kernelhub`` group, by name; a name twice is an error."""
    found: dict[str, EntryPoint] = {}
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        other = found.get(ep.name)
        if other is not None and _dist_name(other) != _dist_name(ep):
            raise ConfigError(
                f"two installed packages both provide the plugin {ep.name!r}: "
                f"{_dist_name(other)} and {_dist_name(ep)}; uninstall one of them"
            )
        found[ep.name] = ep
    return found


def role_hooks_of(plugin: object) -> list[str]:
    """The role hooks (authenticate, spawn, route) a plugin module implements."""
    pm = new_plugin_manager()
    return [role.hook for role in ROLES if pm.parse_hookimpl_opts(plugin, role.hook)]


def new_plugin_manager() -> pluggy.PluginManager:
    """An empty plugin manager that knows kernelhub's hook specs."""
    pm = pluggy.PluginManager(PROJECT_NAME)
    pm.add_hookspecs(hookspecs)
    return pm


def build_plugins(
    selection: PluginSelection, installed: Mapping[str, EntryPoint] | None = None
) -> Plugins:
    """Import and register exactly the plugins ``selection`` enables, in call order."""
    installed = installed_plugins() if installed is None else installed
    reasons = _enabled_with_reasons(selection, installed)
    order = list(reasons)

    pm = new_plugin_manager()
    for name in installed:
        if name not in reasons:
            pm.set_blocked(name)  # blocked before import: never loaded
    # pluggy calls the last registered implementation first.
    for name in reversed(order):
        _register(pm, name, installed[name])
    _check_hooks(pm)

    roles = {role.option: selection.chosen(role) for role in ROLES}
    _check_roles(pm, roles)

    infos = {}
    for name, ep in sorted(installed.items()):
        plugin = pm.get_plugin(name)
        infos[name] = PluginInfo(
            name=name,
            entry_point=ep.value,
            distribution=_dist_name(ep),
            version=ep.dist.version if ep.dist else None,
            active=name in reasons,
            reason=reasons.get(name) or _why_inactive(name, selection),
            hooks=sorted(h.name for h in pm.get_hookcallers(plugin) or []) if plugin else [],
        )
    return Plugins(manager=pm, infos=infos, order=order, roles=roles)


def _enabled_with_reasons(
    selection: PluginSelection, installed: Mapping[str, EntryPoint]
) -> dict[str, str]:
    """Enabled plugin names, in call order, each with why it is enabled."""
    for name in selection.disabled:
        if name in ESSENTIAL_PLUGINS:
            raise ConfigError(
                f"plugin {name!r} is essential and cannot be disabled",
                section="hub", key="plugins",
            )
        if name in selection.added:
            raise ConfigError(f"plugin {name!r} is both enabled and disabled (no:{name})",
                              section="hub", key="plugins")
        chooser = next((r.option for r in ROLES if selection.chosen(r) == name), None)
        if chooser:
            raise ConfigError(f"no:{name} disables the plugin [hub] {chooser} chooses; "
                              f"choose another in {chooser} instead", section="hub",
                              key="plugins")
    enabled: dict[str, str] = {}
    for name in selection.added:
        enabled.setdefault(name, "[hub] plugins")
    for role in ROLES:
        enabled.setdefault(selection.chosen(role), f"[hub] {role.option}")
    for name in DEFAULT_PLUGINS:
        if name not in selection.disabled:
            enabled.setdefault(name, "on by default")
    for name in ESSENTIAL_PLUGINS:
        enabled.setdefault(name, "essential")

    for name, reason in enabled.items():
        if name not in installed:
            raise ConfigError(_not_installed_message(name, installed), section="hub",
                              key=reason.split()[-1] if reason.startswith("[hub]") else None)
    return enabled


def _not_installed_message(name: str, installed: Mapping[str, EntryPoint]) -> str:
    if name in JUPYTERHUB_CLASSES:
        return (f"kernelhub chooses plugins by name, not by Python class: write "
                f"{JUPYTERHUB_CLASSES[name]!r} for {name}")
    if "." in name:
        return (f"{name!r} looks like a Python class; kernelhub chooses plugins by name "
                "(`kernel plugins` lists the installed ones)")
    close = difflib.get_close_matches(name, list(installed), n=1)
    if close:
        return f"plugin {name!r} is not installed; did you mean {close[0]!r}?"
    return (
        f"plugin {name!r} is not installed (no entry point {name!r} in the "
        f"{ENTRY_POINT_GROUP!r} group). Install the package that provides it, "
        f"usually `pip install kernelhub-{name}`; `kernel plugins` lists what is installed"
    )


def _register(pm: pluggy.PluginManager, name: str, ep: EntryPoint) -> None:
    where = f"plugin {name!r} ({ep.value}, from {_dist_name(ep) or 'an unknown package'})"
    try:
        plugin = ep.load()
    except Exception as e:
        raise ConfigError(f"{where} failed to import: {type(e).__name__}: {e}") from e
    try:
        pm.register(plugin, name=name)
    except pluggy.PluginValidationError as e:
        raise ConfigError(f"{where} is not a valid kernelhub plugin: {e}") from e


def _check_hooks(pm: pluggy.PluginManager) -> None:
    """Misspelled hook names and wrappers (which kernelhub's hook calls don't run)."""
    known = [name for name in dir(hookspecs) if pm.parse_hookspec_opts(hookspecs, name)]
    for name, plugin in pm.list_name_plugin():
        for attr in dir(plugin):
            opts = pm.parse_hookimpl_opts(plugin, attr)
            if opts is None:
                continue
            hook = opts.get("specname") or attr
            if hook not in known:
                close = difflib.get_close_matches(hook, known, n=1)
                hint = f"; did you mean {close[0]!r}?" if close else ""
                raise ConfigError(f"plugin {name!r} implements {hook!r}, which is not a "
                                  f"kernelhub hook{hint}")
            if opts.get("wrapper") or opts.get("hookwrapper"):
                raise ConfigError(f"plugin {name!r} declares {hook!r} as a wrapper; kernelhub "
                                  "hooks do not support wrappers")
    pm.check_pending()


def _check_roles(pm: pluggy.PluginManager, roles: dict[str, str]) -> None:
    """Exactly the chosen plugin implements each role hook."""
    for role in ROLES:
        chosen = roles[role.option]
        providers = [impl.plugin_name for impl in getattr(pm.hook, role.hook).get_hookimpls()]
        if chosen not in providers:
            raise ConfigError(
                f"plugin {chosen!r} is not {_article(role.noun)} (it does not implement the "
                f"{role.hook!r} hook); `kernel plugins` shows which plugins are",
                section="hub", key=role.option,
            )
        others = [p for p in providers if p != chosen]
        if others:
            raise ConfigError(
                f"plugins {chosen!r} and {others[0]!r} both provide the {role.noun} "
                f"(hook {role.hook!r}); [hub] {role.option} chooses {chosen!r}, so remove "
                f"{others[0]!r} from [hub] plugins",
                section="hub", key=role.option,
            )


def _why_inactive(name: str, selection: PluginSelection) -> str:
    if name in selection.disabled:
        return f"disabled by no:{name} in [hub] plugins"
    return "not enabled in hub.ini"


def _article(noun: str) -> str:
    return f"an {noun}" if noun[0] in "aeiou" else f"a {noun}"


def _dist_name(ep: EntryPoint) -> str | None:
    return ep.dist.metadata["Name"] if ep.dist else None
