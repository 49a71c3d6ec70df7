"""Loading hub.ini: choose the plugins, collect their declarations, validate every key.

The order matters: the ``[hub]`` keys that choose plugins are read first, the
plugin manager is built from them (importing only enabled plugins), then each
enabled plugin declares its options, and only then is the whole file checked,
so that a typo in any plugin's section is caught before anything starts.
"""

from __future__ import annotations

import copy
import difflib
import os
from collections.abc import Mapping
from dataclasses import dataclass
from importlib.metadata import EntryPoint
from typing import Any, TypeVar
from urllib.parse import urlsplit

import pluggy

from kernel.config.core_options import declare_core_options
from kernel.config.errors import ConfigError
from kernel.config.ini import RawIni, RawValue, parse_ini, read_ini
from kernel.config.options import (
    COLLECTION_SEPARATOR,
    TABLE_SEPARATOR,
    Option,
    OptionRegistry,
)
from kernel.config.types import Table
from kernel.config.values import Config, Section
from kernel.hookcall import HookRunner, PluginError
from kernel.plugin_manager import (
    ROLES,
    Plugins,
    PluginSelection,
    build_plugins,
    installed_plugins,
    new_plugin_manager,
    role_hooks_of,
)

#: The distribution whose plugins are built in (consulted for helpful errors).
BUILTIN_DISTRIBUTION = "kernelhub"

T = TypeVar("T")


@dataclass
class Loaded:
    """A validated config and the plugin manager built for it."""

    config: Config
    plugins: Plugins


def load(
    path: str | os.PathLike[str] | None = None,
    *,
    text: str | None = None,
    environ: Mapping[str, str] | None = None,
    installed: Mapping[str, EntryPoint] | None = None,
) -> Loaded:
    """Read and validate hub.ini (a ``path``, or ``text`` for tests; neither = defaults)."""
    environ = os.environ if environ is None else environ
    if text is not None:
        raw = parse_ini(text, str(path) if path else "hub.ini", environ)
    elif path is not None:
        raw = read_ini(path, environ)
    else:
        raw = RawIni()
    installed = installed_plugins() if installed is None else installed

    registry = OptionRegistry()
    declare_core_options(registry)
    try:
        plugins = build_plugins(_selection(raw, registry), installed)
    except ConfigError as e:
        raise raw.error(e.message, e.section, e.key) if e.file is None else e from e.__cause__
    declare_plugin_options(plugins.manager, registry)
    return Loaded(_Validator(raw, registry, plugins, installed).run(), plugins)


def declare_plugin_options(pm: pluggy.PluginManager, registry: OptionRegistry) -> None:
    """Call every registered plugin's ``declare_options``, attributing options to it."""
    try:
        HookRunner(pm).declare_options(options=registry, around=registry.declaring)
    except PluginError as e:
        if isinstance(e.error, ConfigError):
            raise e.error from None  # already says what to fix in hub.ini
        raise ConfigError(f"plugin {e.plugin!r} failed to declare its options: "
                          f"{type(e.error).__name__}: {e.error}") from e.error


def _selection(raw: RawIni, registry: OptionRegistry) -> PluginSelection:
    """The plugin-choosing [hub] keys, parsed with their declared types."""
    hub = raw.sections.get("hub", {})
    values = {}
    for key in ("authenticator_class", "spawner_class", "proxy_class", "plugins"):
        option = registry.get("hub", key)
        assert option is not None
        values[key] = _parse(raw, option, hub[key]) if key in hub else option.default
    values["plugins"] = tuple(values["plugins"])
    return PluginSelection(**values)


def _parse(raw: RawIni, option: Option[T], value: RawValue, section: str | None = None) -> T:
    """``value`` parsed as ``option``'s type; errors name ``section`` (the section as
    written, e.g. [group:physics] for an option declared in [group:*])."""
    section = section or option.section
    if option.type.is_table:
        table = f"{section}{TABLE_SEPARATOR}{option.name}"
        raise raw.error(f"this option is a table: write it as a section [{table}] with one "
                        "`key = value` line per entry", section, option.name)
    try:
        return option.type.parse(value.text)
    except ValueError as e:
        raise raw.error(str(e), section, option.name) from None


class _Validator:
    """Checks every section and key of a RawIni against the registry."""

    def __init__(self, raw: RawIni, registry: OptionRegistry, plugins: Plugins,
                 installed: Mapping[str, EntryPoint]) -> None:
        self.raw = raw
        self.registry = registry
        self.plugins = plugins
        self.installed = installed
        self.plain_sections = [s for s in registry.sections() if not s.endswith(":*")]
        self.values: dict[str, dict[str, object]] = {
            s: {o.name: copy.deepcopy(o.default) for o in registry.in_section(s)}
            for s in self.plain_sections
        }
        self.explicit: dict[str, set[str]] = {s: set() for s in self.plain_sections}
        self.collections: dict[str, dict[str, dict[str, object]]] = {
            kind: {} for kind in registry.collection_kinds()
        }
        #: The keys each [kind:NAME] section gives ("service:grader" -> {"url"}).
        self.item_explicit: dict[str, set[str]] = {}
        self.warnings: list[str] = []

    def run(self) -> Config:
        item_tables = []
        for section, items in self.raw.sections.items():
            if section in self.values:
                for key, value in items.items():
                    self._set(section, key, value)
            elif self._is_table_section(section):
                self._set_table(section, items)
            elif self._item_table_option(section):
                item_tables.append((section, items))
            elif self._collection_kind(section):
                self._set_collection_item(section, items)
            elif items or not self._is_disabled_plugin(section):
                raise self._unknown_section(section)
            # else: an empty section of an installed plugin that is off sets nothing.
        # After the items, so that [service:x.environment] may come before [service:x].
        for section, items in item_tables:
            self._set_item_table(section, items)
        self._proxy_api_url_from_deprecated_options()
        sections = {s: Section(s, v, self.explicit[s]) for s, v in self.values.items()}
        collections = {
            kind: {
                name: Section(f"{kind}:{name}", values,
                              self.item_explicit[f"{kind}{COLLECTION_SEPARATOR}{name}"])
                for name, values in items.items()
            }
            for kind, items in self.collections.items()
        }
        return Config(self.registry, sections, collections, self.raw, self.warnings)

    # -- plain keys ---------------------------------------------------------

    def _set(self, section: str, key: str, value: RawValue) -> None:
        option = self.registry.get(section, key)
        if option is None:
            raise self._unknown_key(section, key)
        if option.unavailable:
            raise self.raw.error(f"cannot be set in kernelhub: {option.unavailable}",
                                 section, key)
        parsed = _parse(self.raw, option, value)
        self.values[section][key] = parsed
        self.explicit[section].add(key)
        if option.deprecated:
            self._deprecated(option, parsed)

    def _deprecated(self, option: Option[Any], value: object) -> None:
        where = self.raw.error("", option.section, option.name)
        message = f"{str(where).rstrip(': ')} is deprecated; {option.deprecated}"
        if option.renamed_to:
            section, key = option.renamed_to
            if self.registry.get(section, key) is None:
                message += f" (it has no effect: no enabled plugin declares [{section}] {key})"
            elif key not in self.explicit[section]:
                self.values[section][key] = value
                self.explicit[section].add(key)
        self.warnings.append(message)

    def _proxy_api_url_from_deprecated_options(self) -> None:
        """JupyterHub's proxy_api_ip and proxy_api_port set the proxy's api_url to
        http://IP:PORT, 127.0.0.1 and the public port + 1 standing in for the one not set.
        An api_url set explicitly wins."""
        hub, explicit = self.values["hub"], self.explicit["hub"]
        if not {"proxy_api_ip", "proxy_api_port"} & explicit or \
                "api_url" in self.explicit["proxy"]:
            return
        ip = str(hub["proxy_api_ip"] or "127.0.0.1")
        port = hub["proxy_api_port"]
        if not port:
            bind_port = urlsplit(str(hub["bind_url"])).port
            public = hub["port"] if "port" in explicit or not bind_port else bind_port
            port = int(str(public)) + 1
        host = f"[{ip}]" if ":" in ip else ip
        self.values["proxy"]["api_url"] = f"http://{host}:{port}"
        self.explicit["proxy"].add("api_url")

    # -- [section.table] ----------------------------------------------------

    def _table_option(self, section: str) -> Option[Any] | None:
        owner, _, name = section.rpartition(TABLE_SEPARATOR)
        option = self.registry.get(owner, name) if owner else None
        return option if option is not None and option.type.is_table else None

    def _is_table_section(self, section: str) -> bool:
        option = self._table_option(section)
        return option is not None and option.section in self.values

    def _set_table(self, section: str, items: dict[str, RawValue]) -> None:
        option = self._table_option(section)
        assert option is not None and option.type.is_table
        self.values[option.section][option.name] = self._parse_table(option, section, items)
        self.explicit[option.section].add(option.name)
        if option.deprecated:
            self._deprecated(option, self.values[option.section][option.name])

    def _parse_table(self, option: Option[Any], section: str,
                     items: dict[str, RawValue]) -> dict[str, object]:
        if option.unavailable:
            raise self.raw.error(f"cannot be set in kernelhub: {option.unavailable}", section)
        assert isinstance(option.type, Table)  # only table options have table sections
        return option.type.parse_table(
            {k: v.text for k, v in items.items()},
            lambda key, message: self.raw.error(message, section, key),
            lambda key, message: self.warnings.append(
                f"{str(self.raw.error('', section, key)).rstrip(': ')} {message}"),
        )

    # -- [kind:NAME.table] ----------------------------------------------------

    def _item_table_option(self, section: str) -> Option[Any] | None:
        """The table option ``[service:NAME.environment]`` sets, if it is one.

        A name may contain dots; the part after the last one counts as a table
        only when the collection declares a table option of that name.
        """
        kind = self._collection_kind(section)
        item, sep, key = section.rpartition(TABLE_SEPARATOR)
        if kind is None or not sep or not item.partition(COLLECTION_SEPARATOR)[2]:
            return None
        option = self.registry.get(f"{kind}{COLLECTION_SEPARATOR}*", key)
        return option if option is not None and option.type.is_table else None

    def _set_item_table(self, section: str, items: dict[str, RawValue]) -> None:
        option = self._item_table_option(section)
        assert option is not None
        item, _, _ = section.rpartition(TABLE_SEPARATOR)
        kind, _, name = item.partition(COLLECTION_SEPARATOR)
        if name.strip() not in self.collections[kind]:
            self._set_collection_item(item, {})
        self.collections[kind][name.strip()][option.name] = self._parse_table(
            option, section, items)
        self.item_explicit[f"{kind}{COLLECTION_SEPARATOR}{name.strip()}"].add(option.name)

    # -- [kind:NAME] --------------------------------------------------------

    def _collection_kind(self, section: str) -> str | None:
        kind, sep, _ = section.partition(COLLECTION_SEPARATOR)
        return kind if sep and kind in self.collections else None

    def _set_collection_item(self, section: str, items: dict[str, RawValue]) -> None:
        kind, _, name = section.partition(COLLECTION_SEPARATOR)
        name = name.strip()
        if not name:
            raise self.raw.error(f"a [{kind}:NAME] section needs a name after the colon",
                                 section)
        pattern = f"{kind}{COLLECTION_SEPARATOR}*"
        options = self.registry.in_section(pattern)
        values = {o.name: copy.deepcopy(o.default) for o in options}
        for key, value in items.items():
            option = self.registry.get(pattern, key)
            if option is None:
                raise self._unknown_key(section, key, declared_as=pattern)
            if option.unavailable:
                raise self.raw.error(f"cannot be set in kernelhub: {option.unavailable}",
                                     section, key)
            values[key] = _parse(self.raw, option, value, section)
            if option.deprecated:
                where = str(self.raw.error("", section, key)).rstrip(": ")
                self.warnings.append(f"{where} is deprecated; {option.deprecated}")
        self.collections[kind][name] = values
        self.item_explicit[f"{kind}{COLLECTION_SEPARATOR}{name}"] = set(items)

    # -- helpful errors -----------------------------------------------------

    def _unknown_key(self, section: str, key: str, declared_as: str | None = None) -> ConfigError:
        declared_as = declared_as or section
        disabled = self._of_a_disabled_plugin(declared_as, key)
        if disabled:
            return self.raw.error(disabled, section, key)
        elsewhere = [o for o in self.registry if o.name == key and not o.is_collection]
        if elsewhere:
            return self.raw.error(f"unknown option here; did you mean [{elsewhere[0].section}] "
                                  f"{key}?", section, key)
        here = [o.name for o in self.registry.in_section(declared_as)]
        close = difflib.get_close_matches(key, here, n=1)
        if close:
            return self.raw.error(f"unknown option; did you mean {close[0]!r}?", section, key)
        return self.raw.error(f"unknown option (`kernel generate-config` lists every option of "
                              f"[{section}])", section, key)

    def _is_disabled_plugin(self, section: str) -> bool:
        name = section.partition(TABLE_SEPARATOR)[0].partition(COLLECTION_SEPARATOR)[0]
        return name in self.installed and name not in self.plugins.order

    def _unknown_section(self, section: str) -> ConfigError:
        name = section.partition(TABLE_SEPARATOR)[0].partition(COLLECTION_SEPARATOR)[0]
        owner, dot, table = section.rpartition(TABLE_SEPARATOR)
        disabled = self._of_a_disabled_plugin(owner, table) if dot and owner in self.values \
            else None
        if disabled:  # [hub.TABLE] of a plugin that is off
            return self.raw.error(disabled, section)
        if self._is_disabled_plugin(section):
            return self.raw.error(f"this section configures plugin {name!r}, which is not "
                                  f"enabled; {self._how_to_enable(name)}", section)
        known = self.plain_sections + [f"{k}:NAME" for k in self.collections]
        close = difflib.get_close_matches(section, known, n=1)
        hint = f"did you mean [{close[0]}]? " if close else ""
        return self.raw.error(
            f"unknown section; {hint}Sections are {', '.join(f'[{s}]' for s in known)}; a "
            "section for another plugin needs that plugin installed and enabled", section
        )

    def _how_to_enable(self, plugin: str) -> str:
        """Role plugins are chosen, not added: two authenticators would conflict."""
        role = next((r for r in ROLES if r.hook in self._hooks_of(plugin)), None)
        if role is not None:
            return f"choose it with [hub] {role.option} = {plugin}"
        return f"add {plugin!r} to [hub] plugins"

    def _hooks_of(self, plugin: str) -> set[str]:
        ep = self.installed[plugin]
        if not _is_builtin(ep):
            return set()  # never import a third-party plugin hub.ini did not enable
        try:
            return set(role_hooks_of(ep.load()))
        except Exception:
            return set()

    def _of_a_disabled_plugin(self, section: str, key: str) -> str | None:
        """Why [section] key cannot be set when an installed plugin that is off declares
        it: how to enable the plugin, or why the option is unavailable."""
        owned = self._disabled_owner(section, key)
        if owned is None:
            return None
        owner, option = owned
        if option.unavailable:
            return f"cannot be set in kernelhub: {option.unavailable}"
        return (f"this option belongs to plugin {owner!r}, which is not enabled; "
                f"{self._how_to_enable(owner)}")

    def _disabled_owner(self, section: str, key: str) -> tuple[str, Option[Any]] | None:
        """The installed built-in plugin, not enabled, that declares [section] key."""
        for name, ep in self.installed.items():
            if name in self.plugins.order or not _is_builtin(ep):
                continue  # never import third-party code that hub.ini did not enable
            registry = OptionRegistry()
            pm = new_plugin_manager()
            try:
                pm.register(ep.load(), name=name)
                declare_plugin_options(pm, registry)
            except Exception:
                continue
            option = registry.get(section, key)
            if option is not None:
                return name, option
        return None


def _is_builtin(ep: EntryPoint) -> bool:
    return ep.dist is not None and ep.dist.metadata["Name"] == BUILTIN_DISTRIBUTION
