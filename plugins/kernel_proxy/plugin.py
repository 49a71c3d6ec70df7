"""The `kernel-proxy` plugin (the default proxy): the hub starts and drives kernelhub's proxy.

The proxy itself is a separate process (``python -m plugins.kernel_proxy``,
or ``kernel proxy``) that serves configurable-http-proxy's REST API and
command-line flags, so it also works in front of JupyterHub. This module is
the plugin side: its options, and a ``ProcessProxy`` (``plugins.support``) that starts
that process when ``[proxy] should_start`` is on, watches it, and drives its
routes (the configurable-http-proxy plugin runs its npm package the same way).
"""

from __future__ import annotations

import sys

import click

from kernel import hookimpl
from kernel.config import OptionRegistry
from kernel.config.types import Boolean, Command, Number, Text
from kernel.hub import Hub
from plugins.support.proxy_process import ProcessProxy

SECTION = "kernel-proxy"


@hookimpl
def declare_options(options: OptionRegistry) -> None:
    options.add(SECTION, "command", Command(), [],
                "The command that runs the proxy (default: this Python with "
                "-m plugins.kernel_proxy); the hub adds configurable-http-proxy's flags "
                "and the deadlines below. Further kernel-proxy flags go after it "
                "(`kernel proxy --help` lists them all).")
    options.add(SECTION, "head_timeout", Number(minimum=0), 30.0,
                "Seconds a client has to send a whole request head, from its first byte "
                "(from the connection, for its first request), however slowly it trickles "
                "in: slow-loris clients are cut off (408). 0 turns the deadline off.")
    options.add(SECTION, "body_timeout", Number(minimum=0), 60.0,
                "Seconds a request body may stall before the proxy gives up on it (408), "
                "as nginx's client_body_timeout. 0 turns the timeout off.")
    options.add(SECTION, "debug", Boolean(), False, "Log every proxied request.")
    options.add(SECTION, "pid_file", Text(), "kernelhub-proxy.pid",
                "Where the hub records the proxy's process id, to find it after a restart.")


@hookimpl
def route(hub: Hub) -> ProcessProxy:
    options = hub.config.section(SECTION)
    command = list(options.command) or [sys.executable, "-m", "plugins.kernel_proxy"]
    deadlines = ["--head-timeout", str(round(options.head_timeout * 1000)),
                 "--body-timeout", str(round(options.body_timeout * 1000))]
    return ProcessProxy(hub, name="kernel-proxy", command=[*command, *deadlines],
                        pid_file=options.pid_file,
                        log_level="debug" if options.debug else "info")


@hookimpl
def cli_commands(cli: click.Group) -> None:
    @cli.command(context_settings={"ignore_unknown_options": True, "help_option_names": []})
    @click.argument("args", nargs=-1, type=click.UNPROCESSED)
    def proxy(args: tuple[str, ...]) -> None:
        """Run kernelhub's proxy (configurable-http-proxy's flags; --help lists them)."""
        from plugins.kernel_proxy.server import main

        main(list(args))
