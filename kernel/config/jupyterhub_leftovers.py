"""JupyterHub's [hub] options that kernelhub replaces, or keeps only as deprecated names.

Declared so that a hub.ini (or ``kernel import-config``) using one gets told
what to write instead, rather than "unknown option".
"""

from __future__ import annotations

from kernel.config.options import OptionRegistry
from kernel.config.types import Boolean, Command, Integer, Number, Table, Text, TextList


def declare_jupyterhub_leftovers(options: OptionRegistry) -> None:
    """Declare the JupyterHub options kernelhub does not apply or has deprecated."""
    _declare_not_applicable(options)
    _declare_deprecated(options)


def _declare_not_applicable(o: OptionRegistry) -> None:
    """JupyterHub options that hold Python objects, with what kernelhub offers instead."""
    o.add("hub", "config_file", Text(), "hub.ini", "The config file to read.",
          unavailable="choose the file with `kernel serve -c FILE`")
    o.add("hub", "generate_config", Boolean(), False, "Write a default config file.",
          unavailable="run `kernel generate-config` instead")
    o.add("hub", "user_redirect_hook", Text(), "", "Callable that decides /user-redirect/.",
          unavailable="a Python callable cannot live in hub.ini; implement the `redirect` "
          "hook in a plugin (docs/hooks/redirect.md)")
    o.add("hub", "extra_handlers", Text(), "", "Extra tornado handlers.",
          unavailable="kernelhub is not built on tornado; add pages with the `web_routes` "
          "hook in a plugin (docs/hooks/web_routes.md)")
    o.add("hub", "extra_log_handlers", Text(), "", "Extra Python log handlers.",
          unavailable="ship events elsewhere with a plugin implementing the `log` hook "
          "(docs/hooks/log.md), e.g. the kernelhub-jsonlog package")
    o.add("hub", "tornado_settings",
          Table(Number(minimum=0), known=("slow_spawn_timeout", "slow_stop_timeout")), {},
          "JupyterHub's tornado settings. kernelhub understands slow_spawn_timeout and "
          "slow_stop_timeout: seconds an API start or stop waits before answering 202 "
          "(default 10). Other keys are ignored with a warning.")


def _declare_deprecated(o: OptionRegistry) -> None:
    o.add("hub", "admin_users", TextList(), [], "Users who are admins.",
          deprecated="use [auth] admin_users", renamed_to=("auth", "admin_users"))
    o.add("hub", "confirm_no_ssl", Boolean(), False, "Does nothing.",
          deprecated="it has no effect")
    o.add("hub", "extra_log_file", Text(), "",
          "Also write the hub's own log to this file (appending).",
          deprecated="it holds the hub's own log only, not the proxy's or the servers' "
          "output; redirect the output instead (kernel serve >> hub.log 2>&1)")
    o.add("hub", "hub_connect_port", Integer(minimum=0), 0,
          "The port servers and the proxy use to reach the hub, when it differs from "
          "hub_port. 0: hub_port. hub_connect_url, when set, wins.",
          deprecated="use [hub] hub_connect_url")
    o.add("hub", "proxy_api_ip", Text(), "",
          "The proxy API's address: sets [proxy] api_url to http://IP:PORT (IP default "
          "127.0.0.1, PORT default proxy_api_port, else the public port + 1), unless "
          "api_url is set.",
          deprecated="use [proxy] api_url")
    o.add("hub", "proxy_api_port", Integer(minimum=0), 0,
          "The proxy API's port: sets [proxy] api_url as proxy_api_ip does.",
          deprecated="use [proxy] api_url")
    o.add("hub", "proxy_auth_token", Text(), "", "The proxy's API token.",
          deprecated="use [proxy] auth_token", renamed_to=("proxy", "auth_token"))
    o.add("hub", "proxy_cmd", Command(), [], "The command that starts the proxy.",
          deprecated="use [configurable-http-proxy] command",
          renamed_to=("configurable-http-proxy", "command"))
    o.add("hub", "debug_proxy", Boolean(), False, "Debug logging in the proxy.",
          deprecated="use [configurable-http-proxy] debug",
          renamed_to=("configurable-http-proxy", "debug"))
