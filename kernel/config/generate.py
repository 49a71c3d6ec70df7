"""`kernel generate-config`: a commented hub.ini of every option, from the declarations.

It lists the kernel's options and those of every installed plugin (enabled or
not), each commented out at its default with its help text, so a new
operator can read one file to see everything a hub can be told.
"""

from __future__ import annotations

import textwrap
from collections.abc import Mapping
from importlib.metadata import EntryPoint
from typing import Any

from kernel import __version__
from kernel.config.core_options import declare_core_options
from kernel.config.loader import declare_plugin_options
from kernel.config.options import Option, OptionRegistry
from kernel.config.types import Table
from kernel.plugin_manager import installed_plugins, new_plugin_manager

SECTION_HELP = {
    "hub": "The hub itself (JupyterHub's c.JupyterHub options, same names).",
    "auth": "Rules for every authenticator (c.Authenticator).",
    "spawner": "Options for every spawner (c.Spawner).",
    "proxy": "Options for every proxy (c.Proxy and the proxy API).",
}


def all_declarations(installed: Mapping[str, EntryPoint] | None = None) -> OptionRegistry:
    """The kernel's options and every installed plugin's, importing them all."""
    registry = OptionRegistry()
    declare_core_options(registry)
    pm = new_plugin_manager()
    for name, ep in sorted((installed_plugins() if installed is None else installed).items()):
        pm.register(ep.load(), name=name)
    declare_plugin_options(pm, registry)
    return registry


def generate_config(registry: OptionRegistry) -> str:
    """hub.ini text: every section, every option commented out at its default."""
    lines = [
        f"# kernelhub {__version__} configuration, written by `kernel generate-config`.",
        "# Every option is shown commented out at its default. Values may use ${VAR}",
        "# (or ${VAR:-default}) to read the environment. Lists are comma-separated;",
        "# tables are sections of their own, e.g. [hub.api_tokens].",
    ]
    for section in registry.sections():
        options = registry.in_section(section)
        header = section.replace(":*", ":NAME")
        # A collection's header is an example: a real one names the item.
        lines += ["", "", f"# [{header}]" if section.endswith(":*") else f"[{header}]"]
        if section in SECTION_HELP:
            lines.append(f"# {SECTION_HELP[section]}")
        elif section.endswith(":*"):
            lines.append(f"# One [{header}] section per {section[:-2]}, e.g. "
                         f"[{section[:-2]}:example].")
        owners = {o.owner for o in options} - {"kernel"}
        if owners and section not in SECTION_HELP:
            lines.append(f"# Declared by plugin {', '.join(sorted(owners))}.")
        for option in options:
            lines += _option_lines(option)
    return "\n".join(lines) + "\n"


def _option_lines(option: Option[Any]) -> list[str]:
    lines = [""]
    help_text = option.help or "(no description)"
    lines += ["# " + line for line in textwrap.wrap(help_text, 86)]
    if option.unavailable:
        # Named all the same, so that someone looking for JupyterHub's option finds what
        # replaces it.
        refusal = f"{option.name}: not in hub.ini; {option.unavailable}"
        return lines + ["# " + line for line in textwrap.wrap(refusal, 86)]
    notes = []
    if option.owner != "kernel" and option.section in SECTION_HELP:
        notes.append(f"from plugin {option.owner}")
    if option.deprecated:
        notes.append(f"deprecated: {option.deprecated}")
    notes.append(f"type: {option.type.expectation()}")
    lines += ["# " + line for line in textwrap.wrap("(" + "; ".join(notes) + ")", 86)]
    if isinstance(option.type, Table):
        lines.append(f"# [{option.section}.{option.name}]")
        for key, value in (option.default or {}).items():
            lines.append(f"# {key} = {option.type.values.format(value)}")
    else:
        lines.append(f"# {option.name} = {option.type.format(option.default)}".rstrip())
    return lines
