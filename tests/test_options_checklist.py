"""Every JupyterHub option is declared, under its own name in [hub], with a type and help.

The list is JupyterHub 6.1.1's ``c.JupyterHub.*`` options (82 of them). An
option may be declared by the kernel or by the built-in plugin whose feature
it configures; one that kernelhub cannot honour must say why (``unavailable``)
or name its replacement (``deprecated``).
"""

from __future__ import annotations

from pathlib import Path

from kernel.config.generate import all_declarations
from kernel.config.options import OptionRegistry

OPTIONS_FILE = Path(__file__).parent / "data" / "jupyterhub_options.txt"


def jupyterhub_options() -> list[str]:
    lines = OPTIONS_FILE.read_text().splitlines()
    return [line for line in lines if line and not line.startswith("#")]


def builtin_declarations() -> OptionRegistry:
    from kernel.plugin_manager import installed_plugins

    builtin = {name: ep for name, ep in installed_plugins().items()
               if ep.dist and ep.dist.metadata["Name"] == "kernelhub"}
    return all_declarations(builtin)


def test_the_checklist_has_every_jupyterhub_option():
    assert len(jupyterhub_options()) == 82


def test_every_jupyterhub_option_is_declared_in_the_hub_section():
    registry = builtin_declarations()
    missing = [name for name in jupyterhub_options() if registry.get("hub", name) is None]
    assert missing == []


def test_every_declared_option_has_help_and_a_parseable_default():
    for option in builtin_declarations():
        assert option.help, f"{option.key} has no help text"
        if not option.type.is_table and option.default is not None:
            text = option.type.format(option.default)
            if text:
                assert option.type.parse(text) == option.default, option.key


def test_options_that_cannot_be_honoured_say_why():
    registry = builtin_declarations()
    for name in ("user_redirect_hook", "extra_handlers", "extra_log_handlers", "config_file",
                 "generate_config"):
        assert registry.get("hub", name).unavailable
    for name in ("admin_users", "proxy_auth_token", "proxy_cmd", "debug_proxy",
                 "proxy_api_ip", "proxy_api_port", "hub_connect_port", "confirm_no_ssl",
                 "extra_log_file"):
        assert registry.get("hub", name).deprecated
