"""kernel-proxy's command line: configurable-http-proxy's flags, parsed into ``ProxyOptions``.

Implemented as in configurable-http-proxy (CHP) 5.x: ``--ip``, ``--port``,
``--api-ip``, ``--api-port``, ``--default-target``, ``--error-target``,
``--ssl-key``, ``--ssl-cert`` (passphrase from ``CONFIGPROXY_SSL_KEY_PASSPHRASE``),
``--pid-file``, ``--no-x-forward``, ``--no-include-prefix``,
``--no-prepend-path``, ``--host-routing``, ``--timeout``,
``--keep-alive-timeout`` and ``--log-level``. The API token comes only from
the environment variable ``CONFIGPROXY_AUTH_TOKEN`` (empty or unset: no auth).

Accepted and ignored, with a debug log line, so that command lines written
for CHP keep working:

- taking a value: ``--ssl-ca``, ``--ssl-protocol``, ``--ssl-ciphers``,
  ``--ssl-dhparam``, ``--api-ssl-key``, ``--api-ssl-cert``, ``--api-ssl-ca``,
  ``--client-ssl-key``, ``--client-ssl-cert``, ``--client-ssl-ca``,
  ``--error-path``, ``--redirect-port``, ``--redirect-to``,
  ``--protocol-rewrite``, ``--custom-header`` (repeatable), ``--metrics-ip``,
  ``--metrics-port``, ``--proxy-timeout``, ``--storage-backend``;
- switches: ``--ssl-request-cert``, ``--ssl-reject-unauthorized``,
  ``--ssl-allow-rc4``, ``--api-ssl-request-cert``,
  ``--api-ssl-reject-unauthorized``, ``--client-ssl-request-cert``,
  ``--client-ssl-reject-unauthorized``, ``--auto-rewrite``,
  ``--change-origin``, ``--insecure``.

Refused with an error, because ignoring them would leave the proxy listening
somewhere other than where its caller looks: ``--socket``, ``--api-socket``,
``--metrics-socket`` (UNIX domain sockets are not supported).
"""

from __future__ import annotations

import argparse
import logging
import os
from dataclasses import dataclass, field

IGNORED_WITH_VALUE = (
    "ssl-ca", "ssl-protocol", "ssl-ciphers", "ssl-dhparam",
    "api-ssl-key", "api-ssl-cert", "api-ssl-ca",
    "client-ssl-key", "client-ssl-cert", "client-ssl-ca",
    "error-path", "redirect-port", "redirect-to", "protocol-rewrite", "custom-header",
    "metrics-ip", "metrics-port", "proxy-timeout", "storage-backend",
)
IGNORED_SWITCHES = (
    "ssl-request-cert", "ssl-reject-unauthorized", "ssl-allow-rc4",
    "api-ssl-request-cert", "api-ssl-reject-unauthorized",
    "client-ssl-request-cert", "client-ssl-reject-unauthorized",
    "auto-rewrite", "change-origin", "insecure",
)
REFUSED = ("socket", "api-socket", "metrics-socket")

LOG_LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warn": logging.WARNING,
              "warning": logging.WARNING, "error": logging.ERROR}


@dataclass
class ProxyOptions:
    """Everything the proxy process needs to know, from its flags and environment."""

    ip: str = ""
    port: int = 8000
    api_ip: str = "127.0.0.1"
    api_port: int = 8001
    default_target: str | None = None
    error_target: str | None = None
    ssl_key: str | None = None
    ssl_cert: str | None = None
    pid_file: str | None = None
    x_forward: bool = True
    include_prefix: bool = True
    prepend_path: bool = True
    host_routing: bool = False
    #: Seconds a client connection may sit without traffic while a request is proxied (0: no limit).
    timeout: float = 0.0
    #: Seconds an idle keep-alive client connection stays open.
    keep_alive_timeout: float = 5.0
    log_level: int = logging.INFO
    auth_token: str = ""
    #: CHP flags that were given but are not implemented, as "--name value".
    ignored: list[str] = field(default_factory=list)


def _milliseconds(text: str) -> float:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a whole number of milliseconds, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a number of milliseconds >= 0, got {value}")
    return value / 1000


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a port number, got {text!r}") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"expected a port number (0-65535), got {value}")
    return value


def _log_level(text: str) -> int:
    try:
        return LOG_LEVELS[text.lower()]
    except KeyError:
        raise argparse.ArgumentTypeError(
            f"expected one of debug, info, warn, error; got {text!r}") from None


def _dest(kind: str, flag: str) -> str:
    return f"{kind}_{flag.replace('-', '_')}"


def build_parser() -> argparse.ArgumentParser:
    """The argument parser: configurable-http-proxy's flags and defaults."""
    parser = argparse.ArgumentParser(
        prog="python -m plugins.kernel_proxy",
        description="kernelhub's HTTP proxy: a drop-in for configurable-http-proxy. "
                    "The API token is read from $CONFIGPROXY_AUTH_TOKEN.",
        allow_abbrev=False,
    )
    add = parser.add_argument
    add("--ip", default="", help="public-facing IP ('' or '*': all interfaces)")
    add("--port", type=_port, default=8000, help="public-facing port (default 8000)")
    add("--api-ip", default="127.0.0.1", help="IP of the REST API (default 127.0.0.1)")
    add("--api-port", type=_port, help="port of the REST API (default: --port + 1)")
    add("--default-target", help="target of the '/' route (proto://host[:port])")
    add("--error-target", help="server that renders 404 and 503 pages (proto://host[:port])")
    add("--ssl-key", help="TLS key of the public side")
    add("--ssl-cert", help="TLS certificate of the public side")
    add("--pid-file", help="write the process id to this file")
    add("--no-x-forward", dest="x_forward", action="store_false",
        help="do not add X-Forwarded-* headers")
    add("--no-include-prefix", dest="include_prefix", action="store_false",
        help="strip the route prefix from proxied requests")
    add("--no-prepend-path", dest="prepend_path", action="store_false",
        help="do not prepend a target's path to proxied requests")
    add("--host-routing", action="store_true", help="route on the Host header, then the path")
    add("--timeout", type=_milliseconds, default=0.0,
        help="milliseconds a proxied request's client connection may be silent")
    add("--keep-alive-timeout", type=_milliseconds, default=5.0,
        help="milliseconds an idle keep-alive client connection stays open (default 5000)")
    add("--log-level", type=_log_level, default=logging.INFO,
        help="debug, info, warn or error (default info)")
    for name in IGNORED_WITH_VALUE:
        add(f"--{name}", dest=_dest("ignored", name), action="append", help=argparse.SUPPRESS)
    for name in IGNORED_SWITCHES:
        add(f"--{name}", dest=_dest("ignored", name), action="append_const", const=None,
            help=argparse.SUPPRESS)
    for name in REFUSED:
        add(f"--{name}", dest=_dest("refused", name), help=argparse.SUPPRESS)
    return parser


def parse_options(argv: list[str] | None = None) -> ProxyOptions:
    """Parse CHP-style flags (``sys.argv[1:]`` when ``argv`` is None); exits 2 on a bad flag."""
    parser = build_parser()
    args = parser.parse_args(argv)
    for name in REFUSED:
        if getattr(args, _dest("refused", name)) is not None:
            parser.error(f"--{name} is not supported by kernel-proxy (UNIX domain sockets); "
                         "listen with --ip/--port and --api-ip/--api-port instead")
    ignored = []
    for name in (*IGNORED_WITH_VALUE, *IGNORED_SWITCHES):
        values = getattr(args, _dest("ignored", name))
        for value in values or ():
            ignored.append(f"--{name}" if value is None else f"--{name} {value}")
    if bool(args.ssl_key) != bool(args.ssl_cert):
        parser.error("--ssl-key and --ssl-cert go together: give both for TLS, or neither")
    return ProxyOptions(
        ip="" if args.ip == "*" else args.ip,
        port=args.port,
        api_ip=args.api_ip,
        api_port=args.api_port if args.api_port is not None else args.port + 1,
        default_target=args.default_target,
        error_target=args.error_target,
        ssl_key=args.ssl_key,
        ssl_cert=args.ssl_cert,
        pid_file=args.pid_file,
        x_forward=args.x_forward,
        include_prefix=args.include_prefix,
        prepend_path=args.prepend_path,
        host_routing=args.host_routing,
        timeout=args.timeout,
        keep_alive_timeout=args.keep_alive_timeout,
        log_level=args.log_level,
        auth_token=os.environ.get("CONFIGPROXY_AUTH_TOKEN", ""),
        ignored=ignored,
    )
