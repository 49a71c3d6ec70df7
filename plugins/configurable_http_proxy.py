"""The `configurable-http-proxy` plugin: the hub routes through JupyterHub's default proxy.

configurable-http-proxy is the npm package (Node.js) that JupyterHub runs in
front of itself. With ``[hub] proxy_class = configurable-http-proxy`` the hub
starts it exactly as JupyterHub does (same flags, token in
``CONFIGPROXY_AUTH_TOKEN``, pid file, a proxy left running taken over or
stopped), restarts it when it dies, and drives its routes; the work is done
by ``ProcessProxy`` (``plugins.support``), shared with kernel-proxy. With
``[proxy] should_start = false`` the hub drives one run elsewhere, at
``[proxy] api_url``.

The section keeps JupyterHub's ``ConfigurableHTTPProxy`` option names, so
``c.ConfigurableHTTPProxy.X`` is ``[configurable-http-proxy] X``; the ones
kernelhub keeps elsewhere are accepted and moved there with a warning.
"""

from __future__ import annotations

from kernel import hookimpl
from kernel.config import Option, OptionRegistry
from kernel.config.types import URL, Boolean, Choice, Command, Integer, Text
from kernel.hub import Hub
from plugins.support.proxy_process import ProcessProxy

SECTION = "configurable-http-proxy"

INSTALL_HINT = ("install it with `npm install -g configurable-http-proxy` (npm comes with "
                "Node.js), or set [configurable-http-proxy] command to its full path")


COMMAND = Option(SECTION, "command", Command(), ["configurable-http-proxy"],
                 "The command that runs configurable-http-proxy. The hub adds --ip, --port, "
                 "--api-ip, --api-port, --error-target, --log-level and, with [hub] ssl_cert, "
                 "--ssl-key and --ssl-cert; put any other flag here "
                 "(`configurable-http-proxy --no-x-forward`).")
DEBUG = Option(SECTION, "debug", Boolean(), False,
               "Run the proxy with --log-level debug (overrides log_level).")
LOG_LEVEL = Option(SECTION, "log_level", Choice(("debug", "info", "warn", "error")), "info",
                   "The proxy's --log-level.")
PID_FILE = Option(SECTION, "pid_file", Text(), "jupyterhub-proxy.pid",
                  "Where the hub records the proxy's process id, to find it after a restart.")
# JupyterHub's names for options every proxy plugin shares in kernelhub: only declared, so
# that their values move to where kernelhub keeps them.
RENAMED = (
    Option(SECTION, "check_running_interval", Integer(minimum=1), 30,
           "Seconds between checks that the proxy is running.",
           deprecated="use [hub] proxy_check_interval, which every proxy plugin follows",
           renamed_to=("hub", "proxy_check_interval")),
    Option(SECTION, "api_url", URL(), "", "The proxy's REST API.",
           deprecated="use [proxy] api_url", renamed_to=("proxy", "api_url")),
    Option(SECTION, "auth_token", Text(), "", "The proxy API's token.",
           deprecated="use [proxy] auth_token", renamed_to=("proxy", "auth_token")),
)


@hookimpl
def declare_options(options: OptionRegistry) -> None:
    options.declare(COMMAND, DEBUG, LOG_LEVEL, PID_FILE, *RENAMED)


@hookimpl
def route(hub: Hub) -> ProcessProxy:
    config = hub.config
    return ProcessProxy(hub, name="configurable-http-proxy", command=list(config[COMMAND]),
                        pid_file=config[PID_FILE],
                        log_level="debug" if config[DEBUG] else config[LOG_LEVEL],
                        missing_hint=INSTALL_HINT)
