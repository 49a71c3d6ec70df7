"""How `kernel import-config` turns a jupyterhub_config.py into the equivalent hub.ini.

The config file is executed as JupyterHub executes it, against a ``c`` that
records every assignment (and every ``.append``/``.add``/``.update`` on a
list, set or dict). Each recorded value is then placed under kernelhub's
name for it and written in hub.ini syntax; whatever has no hub.ini
equivalent (a Python callable, an unknown class, a trait kernelhub does not
have) is listed, with the reason, at the top of the file and on stderr.
"""

from __future__ import annotations

import json
import runpy
import shlex
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kernel.config.options import Option, OptionRegistry
from kernel.config.types import TextList
from kernel.plugin_manager import (
    DEFAULT_PLUGINS,
    ESSENTIAL_PLUGINS,
    JUPYTERHUB_CLASSES,
    installed_plugins,
    role_hooks_of,
)

#: JupyterHub classes whose traits live in one kernelhub section; the rest have their own.
SHARED_SECTIONS = {
    "JupyterHub": "hub",
    "Authenticator": "auth",
    "LocalAuthenticator": "auth",
    "Spawner": "spawner",
    "Proxy": "proxy",
}
#: Plugin classes whose own traits go to the plugin's section (shared traits stay shared).
PLUGIN_SECTIONS = {
    "PAMAuthenticator": "pam",
    "DummyAuthenticator": "dummy",
    "SharedPasswordAuthenticator": "dummy",
    "LocalProcessSpawner": "localprocess",
    "SimpleLocalProcessSpawner": "simple",
    "ConfigurableHTTPProxy": "configurable-http-proxy",
}
#: Traits that moved: (JupyterHub class, trait) -> (section, option).
MOVED = {
    ("ConfigurableHTTPProxy", "api_url"): ("proxy", "api_url"),
    ("ConfigurableHTTPProxy", "auth_token"): ("proxy", "auth_token"),
    ("ConfigurableHTTPProxy", "should_start"): ("proxy", "should_start"),
    ("SharedPasswordAuthenticator", "user_password"): ("dummy", "password"),
}
#: Class-valued [hub] options and the role they choose.
ROLE_OPTIONS = ("authenticator_class", "spawner_class", "proxy_class")
#: Python hooks JupyterHub configs set, and what kernelhub offers instead.
CALLABLE_ADVICE = {
    "pre_spawn_hook": "write a plugin implementing the pre_spawn_start hook",
    "post_stop_hook": "write a plugin implementing the post_spawn_stop hook",
    "post_auth_hook": "write an authenticator plugin that returns what it needs",
    "user_redirect_hook": "write a plugin implementing the redirect hook",
    "auth_state_hook": "write a plugin implementing the pre_spawn_start hook",
    "modify_pod_hook": "a spawner plugin for Kubernetes would read its own options",
}


class _Lazy:
    """What reading an unset trait gives: it records list, set and dict mutations."""

    def __init__(self) -> None:
        self.value: Any = None

    def _as(self, kind: type) -> Any:
        if self.value is None:
            self.value = kind()
        return self.value

    def append(self, item: Any) -> None:
        self._as(list).append(item)

    def extend(self, items: Any) -> None:
        self._as(list).extend(items)

    def insert(self, index: int, item: Any) -> None:
        self._as(list).insert(index, item)

    def add(self, item: Any) -> None:
        self._as(set).add(item)

    def update(self, *args: Any, **kwargs: Any) -> None:
        target = self._as(dict)
        target.update(*args, **kwargs)


class _Section:
    """``c.ClassName``: records trait assignments."""

    def __init__(self) -> None:
        object.__setattr__(self, "_traits", {})

    def __getattr__(self, trait: str) -> Any:
        traits = object.__getattribute__(self, "_traits")
        if trait.startswith("__"):
            raise AttributeError(trait)
        return traits.setdefault(trait, _Lazy())

    def __setattr__(self, trait: str, value: Any) -> None:
        object.__getattribute__(self, "_traits")[trait] = value


class RecordingConfig:
    """The ``c`` a jupyterhub_config.py sees."""

    def __init__(self) -> None:
        object.__setattr__(self, "_sections", {})

    def __getattr__(self, name: str) -> _Section:
        if name.startswith("__"):
            raise AttributeError(name)
        return object.__getattribute__(self, "_sections").setdefault(name, _Section())

    def items(self) -> Iterator[tuple[str, str, Any]]:
        for cls, section in object.__getattribute__(self, "_sections").items():
            for trait, value in object.__getattribute__(section, "_traits").items():
                value = value.value if isinstance(value, _Lazy) else value
                if value is not None:
                    yield cls, trait, value


@dataclass
class Translation:
    #: section -> option -> hub.ini text (tables and collections have their own sections).
    sections: dict[str, dict[str, str]] = field(default_factory=dict)
    #: What could not be translated: "c.Class.trait: why".
    skipped: list[str] = field(default_factory=list)

    def set(self, section: str, key: str, text: str) -> None:
        self.sections.setdefault(section, {})[key] = text

    def to_ini(self, source: str) -> str:
        lines = [f"# Written by `kernel import-config` from {source}."]
        if self.skipped:
            lines.append("# Not translated (set these another way, or leave them out):")
            lines += [f"#   {item}" for item in self.skipped]
        for section, items in self.sections.items():
            lines += ["", f"[{section}]"]
            lines += [f"{key} = {value}" for key, value in items.items()]
        return "\n".join(lines) + "\n"


def record(config_file: str | Path) -> RecordingConfig:
    """Execute a JupyterHub config file against a recording ``c``."""
    c = RecordingConfig()
    runpy.run_path(str(config_file), init_globals={"c": c, "get_config": lambda: c})
    return c


def translate(c: RecordingConfig, registry: OptionRegistry) -> Translation:
    result = Translation()
    owners: set[str] = set()
    for cls, trait, value in c.items():
        where = f"c.{cls}.{trait}"
        target = _target(cls, trait, registry)
        if target is None:
            advice = CALLABLE_ADVICE.get(trait, "kernelhub has no such option")
            result.skipped.append(f"{where}: {advice}")
            continue
        section, option_name = target
        if section == "hub" and trait in ROLE_OPTIONS:
            plugin = _plugin_name(value)
            if plugin is None:
                result.skipped.append(f"{where}: {value!r} is no plugin kernelhub has")
            else:
                result.set("hub", trait, plugin)
            continue
        if (section, trait) == ("hub", "services"):
            _services(value, result, where)
            continue
        if (section, trait) == ("hub", "external_ssl_authorities"):
            # One [external_ssl_authority:NAME] section each, keys as JupyterHub's.
            for name, files in (value or {}).items():
                for key, path in (files or {}).items():
                    result.set(f"external_ssl_authority:{name}", key, _text(path))
            authorities = registry.get(section, option_name)
            assert authorities is not None  # _target found it in the registry
            owners.add(authorities.owner)
            continue
        if (section, trait) in (("hub", "load_groups"), ("hub", "load_roles")):
            _collection(trait, value, result, where)
            continue
        option = registry.get(section, option_name)
        assert option is not None
        if option.renamed_to and registry.get(*option.renamed_to) is not None:
            section, option_name = option.renamed_to  # write the current name, not the old
            option = registry.get(section, option_name)
            assert option is not None
        if callable(value):
            advice = CALLABLE_ADVICE.get(trait, "a Python callable cannot be written in hub.ini")
            result.skipped.append(f"{where}: {advice}")
        elif option.unavailable:
            result.skipped.append(f"{where}: {option.unavailable}")
        elif option.type.is_table:
            if not isinstance(value, dict):
                result.skipped.append(f"{where}: expected a dict")
                continue
            for key, item in value.items():
                result.set(f"{section}.{option_name}", str(key), _text(item))
        else:
            owners.add(option.owner)
            previous = result.sections.get(section, {}).get(option_name)
            if previous is not None and isinstance(option.type, TextList):
                # Two JupyterHub traits fill this list (admin_users, old and new): merge them.
                value = sorted({*option.type.parse(previous), *_as_list(value)})
            result.set(section, option_name, _format(option, value))
    _enable_feature_plugins(owners, result)
    return result


def _enable_feature_plugins(owners: set[str], result: Translation) -> None:
    """A feature's options (statsd_host) mean its plugin is wanted: list it in [hub] plugins.

    Plugins that do a role (an authenticator, a spawner, a proxy) are chosen by
    authenticator_class and the like instead, and default ones are on anyway.
    """
    installed = installed_plugins()
    wanted = []
    for owner in sorted(owners - {"kernel"}):
        if owner in DEFAULT_PLUGINS or owner in ESSENTIAL_PLUGINS or owner not in installed:
            continue
        if not role_hooks_of(installed[owner].load()):
            wanted.append(owner)
    if wanted:
        result.set("hub", "plugins", ", ".join(wanted))


def _as_list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list | tuple | set | frozenset) else [value]


def _target(cls: str, trait: str, registry: OptionRegistry) -> tuple[str, str] | None:
    if (cls, trait) in MOVED:
        return MOVED[(cls, trait)]
    candidates = []
    if cls in PLUGIN_SECTIONS:
        candidates.append(PLUGIN_SECTIONS[cls])
        # A plugin class also has its base class's traits (c.PAMAuthenticator.admin_users).
        candidates += ["auth", "spawner", "proxy"]
    elif cls in SHARED_SECTIONS:
        candidates.append(SHARED_SECTIONS[cls])
    for section in candidates:
        if registry.get(section, trait) is not None:
            return section, trait
    if cls == "JupyterHub" and trait in ("services", "load_groups", "load_roles"):
        return "hub", trait
    return None


def _plugin_name(value: Any) -> str | None:
    name = value if isinstance(value, str) else f"{value.__module__}.{value.__qualname__}"
    if name in JUPYTERHUB_CLASSES:
        return JUPYTERHUB_CLASSES[name]
    return name if "." not in name else None


def _format(option: Option[Any], value: Any) -> str:
    if isinstance(value, set | frozenset | tuple):
        value = sorted(value) if isinstance(value, set | frozenset) else list(value)
    try:
        return option.type.format(value)
    except (TypeError, ValueError, AttributeError):
        return _text(value)


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple | set):
        return ", ".join(map(str, value))
    return str(value)


def _services(services: Any, result: Translation, where: str) -> None:
    for service in services if isinstance(services, list) else []:
        name = service.get("name") if isinstance(service, dict) else None
        if not name:
            result.skipped.append(f"{where}: a service without a name")
            continue
        for key, value in service.items():
            if key == "name":
                continue
            if key in ("environment", "info") and isinstance(value, dict):
                for item, text in value.items():
                    result.set(f"service:{name}.{key}", item, _text(text))
            elif key == "command" and isinstance(value, list):
                result.set(f"service:{name}", key, shlex.join(map(str, value)))
            else:
                result.set(f"service:{name}", key, _text(value))


def _collection(trait: str, value: Any, result: Translation, where: str) -> None:
    if trait == "load_groups" and isinstance(value, dict):
        for group, members in value.items():
            users = members.get("users", []) if isinstance(members, dict) else members
            result.set(f"group:{group}", "users", _text(users))
            if isinstance(members, dict) and "properties" in members:
                result.set(f"group:{group}", "properties", json.dumps(members["properties"]))
        return
    if trait == "load_roles" and isinstance(value, list):
        for role in value:
            if not isinstance(role, dict) or "name" not in role:
                result.skipped.append(f"{where}: a role without a name")
                continue
            for key in ("description", "scopes", "users", "groups", "services"):
                if role.get(key):
                    result.set(f"role:{role['name']}", key, _text(role[key]))
        return
    result.skipped.append(f"{where}: expected a dict (load_groups) or a list (load_roles)")
