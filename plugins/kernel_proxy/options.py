"""kernel-proxy's command line: configurable-http-proxy's flags, parsed into ``ProxyOptions``.

Implemented as in configurable-http-proxy (CHP) 5.x: ``--ip``, ``--port``,
``--api-ip``, ``--api-port``, ``--default-target``, ``--error-target``,
``--ssl-key``, ``--ssl-cert`` (passphrase from ``CONFIGPROXY_SSL_KEY_PASSPHRASE``),
``--pid-file``, ``--no-x-forward``, ``--no-include-prefix``,
``--no-prepend-path``, ``--host-routing``, ``--timeout``,
``--keep-alive-timeout``, ``--log-level``, and the four below. The API token
comes only from the environment variable ``CONFIGPROXY_AUTH_TOKEN`` (empty or
unset: no auth). A flag combination CHP refuses exits with CHP's status 1 and
its message (CHP logs two of them to stdout; kernel-proxy writes all to
stderr); any other bad flag exits 2.

Request headers, timeouts, error pages and redirection, with CHP 5.3's
observed semantics:

- ``--custom-header "Name: value"`` (repeatable): set on every proxied
  request, websocket handshakes included. Trimmed, it needs a colon after a
  name (else exit 1, "A colon was expected in custom header: ..."); name and
  value are trimmed; a name given twice keeps its last value. It replaces
  whatever the client sent under that name in any letter case, so a header
  meant for the backend cannot be spoofed: so does CHP (node keeps one value
  per case-insensitive name, and CHP's own comes last). Differences: a name
  that is not an HTTP token, or a value with control characters or beyond
  Latin-1, exits 2 (CHP starts, then answers every request 500); so do
  ``Content-Length`` and ``Transfer-Encoding`` (CHP sends them and the
  backend reads the body with the wrong framing; kernel-proxy relays bodies
  as the client framed them, so a backend reading other framing could be
  handed a request smuggled inside a body).
- ``--proxy-timeout MS``: how long a target may stay silent once it has the
  request (connecting is not covered, nor are websockets, handshake
  included: not in CHP either). Silent before its response starts: 503,
  through ``--error-target`` or ``--error-path``. Silent mid-response:
  kernel-proxy closes the client connection; CHP drops only its connection
  to the target and leaves the client waiting for the rest of the body.
- ``--head-timeout MS`` (default 30000; kernel-proxy's own, CHP has none):
  how long a client has to send a whole request head, counted from the
  head's first byte (from the accept, for a connection's first request),
  however slowly it trickles in: the keep-alive timer restarts on every
  byte, so alone it lets a client hold a connection forever (slowloris).
  Past it, a started head is answered 408 and the connection closed; a
  connection that sent nothing is closed silently, as nginx and HAProxy do.
  Over TLS it also bounds the handshake. Heads are further capped at 64 KiB
  and 100 header lines (431 beyond).
- ``--body-timeout MS`` (default 60000, nginx's ``client_body_timeout``;
  kernel-proxy's own): how long a request body being read may stall; then
  408 (or, once a response has begun, just the close). Time spent with
  reading paused by the proxy (a slow backend, a connect) does not count,
  nor does it while the backend is sending. Neither timeout applies to
  websockets or to a response being streamed.
- ``--error-path DIR``: without ``--error-target`` (with it: exit 1, as in
  CHP), a 404, 500 or 503 is answered with ``DIR/<code>.html``, else
  ``DIR/error.html``, as ``text/html``; when neither can be read, and for
  websocket requests, with the plain answer. Pages are read when the error
  happens, as CHP does. Without ``--error-path``, CHP answers with HTML
  pages it ships; kernel-proxy with the status's reason as plain text.
- ``--redirect-port PORT`` (needs ``--ssl-key`` and ``--ssl-cert``, else exit
  1 as in CHP) and ``--redirect-to P``: a plain-HTTP listener that answers
  every request with ``301`` to ``https://HOST:P/the/path?query``, P being
  ``--redirect-to`` or else ``--port``, and ``:P`` left out when P is 443; a
  request without Host is a 400. As in CHP, there is no listener when
  ``--port`` is 80 (kernel-proxy logs a warning). Differences: the listener
  binds ``--ip``, like the proxy, where CHP binds every interface; ``:443``
  is left out whatever names it, where CHP keeps it from ``--redirect-to``
  (it compares that flag's text with the number 443); an IPv6 Host keeps its
  brackets (CHP cuts it at its first colon), an empty Host is a 400 (CHP
  redirects to ``https://:P``), an absolute-form request target keeps only
  its path and query (CHP appends it whole); every answer closes its
  connection (a browser follows it to another port anyway).

TLS for the REST API (``--api-ssl-*``) and for the proxy's own connections
to https targets (``--client-ssl-*``): see ``tls_flags``.

Accepted and ignored, with a debug log line, so that command lines written
for CHP keep working:

- taking a value: ``--ssl-ca``, ``--ssl-protocol``, ``--ssl-ciphers``,
  ``--ssl-dhparam``, ``--protocol-rewrite``, ``--metrics-ip``,
  ``--metrics-port``, ``--storage-backend``;
- switches: ``--ssl-request-cert``, ``--ssl-reject-unauthorized``,
  ``--ssl-allow-rc4``, ``--auto-rewrite``, ``--change-origin``, ``--insecure``.

Refused with an error, because ignoring them would leave the proxy listening
somewhere other than where its caller looks: ``--socket``, ``--api-socket``,
``--metrics-socket`` (UNIX domain sockets are not supported).
"""

from __future__ import annotations

import argparse
import logging
import os
import re
import ssl
from dataclasses import dataclass, field
from typing import NoReturn

from plugins.kernel_proxy.tls_flags import TlsFlagError, api_tls_context, client_tls_context

IGNORED_WITH_VALUE = (
    "ssl-ca", "ssl-protocol", "ssl-ciphers", "ssl-dhparam", "protocol-rewrite",
    "metrics-ip", "metrics-port", "storage-backend",
)
IGNORED_SWITCHES = (
    "ssl-request-cert", "ssl-reject-unauthorized", "ssl-allow-rc4",
    "auto-rewrite", "change-origin", "insecure",
)
REFUSED = ("socket", "api-socket", "metrics-socket")

#: Headers kernel-proxy frames request bodies by, so --custom-header may not set them.
FRAMING_HEADERS = ("content-length", "transfer-encoding")
_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")

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
    #: Seconds a target may stay silent while it has a request (0: no limit).
    proxy_timeout: float = 0.0
    #: Seconds a client has to send a whole request head, from its first byte (0: no limit).
    head_timeout: float = 30.0
    #: Seconds a request body may stall while it is read (0: no limit).
    body_timeout: float = 60.0
    #: (name, value) pairs set on every proxied request, one per lower-cased name.
    custom_headers: tuple[tuple[str, str], ...] = ()
    #: Folder of <code>.html and error.html pages for the proxy's own errors.
    error_path: str | None = None
    #: Port of the plain-HTTP listener that redirects to https, or None.
    redirect_port: int | None = None
    #: Port that redirects point to (--redirect-to, else --port).
    redirect_to: int = 8000
    log_level: int = logging.INFO
    auth_token: str = ""
    #: The REST API's TLS (--api-ssl-*), or None for plain HTTP.
    api_tls: ssl.SSLContext | None = None
    #: TLS for connections to https targets (--client-ssl-*); None: the system store, no
    #: client certificate (made when first needed).
    client_tls: ssl.SSLContext | None = None
    #: CHP flags that were given but are not implemented, as "--name value".
    ignored: list[str] = field(default_factory=list)
    #: What to log about flags that were given but change nothing: (level, message).
    notices: list[tuple[int, str]] = field(default_factory=list)


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
    add("--proxy-timeout", type=_milliseconds, default=0.0,
        help="milliseconds a target may stay silent once it has a request (then 503)")
    add("--head-timeout", type=_milliseconds, default=30.0,
        help="milliseconds a client has to send a whole request head, from its first byte "
             "(then 408; default 30000; 0: no limit)")
    add("--body-timeout", type=_milliseconds, default=60.0,
        help="milliseconds a request body may stall while it is read (then 408; "
             "default 60000; 0: no limit)")
    add("--custom-header", action="append", default=[], metavar='"NAME: VALUE"',
        help="header set on every proxied request, replacing the client's (repeatable)")
    add("--error-path", metavar="DIR",
        help="folder of <code>.html and error.html pages for 404 and 503 errors")
    add("--redirect-port", type=_port,
        help="plain-HTTP port that redirects every request to https (needs --ssl-cert)")
    add("--redirect-to", type=_port, help="the https port redirects name (default: --port)")
    add("--log-level", type=_log_level, default=logging.INFO,
        help="debug, info, warn or error (default info)")
    add("--api-ssl-key", help="TLS key of the REST API (with --api-ssl-cert)")
    add("--api-ssl-cert", help="TLS certificate of the REST API (with --api-ssl-key)")
    add("--api-ssl-ca", help="CA bundle that API clients' certificates must chain to")
    add("--api-ssl-request-cert", action="store_true",
        help="require API clients to present a certificate that verifies")
    add("--api-ssl-reject-unauthorized", action="store_true",
        help="refuse API clients without a valid certificate (implied by --api-ssl-request-cert)")
    add("--client-ssl-key", help="key of the client certificate shown to https targets")
    add("--client-ssl-cert", help="client certificate shown to https targets")
    add("--client-ssl-ca", help="CA bundle that https targets' certificates must chain to")
    add("--client-ssl-request-cert", action="store_true",
        help="accepted for CHP compatibility; no effect (as in CHP)")
    add("--client-ssl-reject-unauthorized", action="store_true",
        help="accepted for CHP compatibility; https targets are always verified (as in CHP)")
    for name in IGNORED_WITH_VALUE:
        add(f"--{name}", dest=_dest("ignored", name), action="append", help=argparse.SUPPRESS)
    for name in IGNORED_SWITCHES:
        add(f"--{name}", dest=_dest("ignored", name), action="append_const", const=None,
            help=argparse.SUPPRESS)
    for name in REFUSED:
        add(f"--{name}", dest=_dest("refused", name), help=argparse.SUPPRESS)
    return parser


def parse_options(argv: list[str] | None = None) -> ProxyOptions:
    """Parse CHP-style flags (``sys.argv[1:]`` when ``argv`` is None).

    Exits 1 on what configurable-http-proxy refuses too, 2 on any other bad flag.
    """
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
    custom_headers = _custom_headers(parser, args.custom_header)
    if bool(args.ssl_key) != bool(args.ssl_cert):
        parser.error("--ssl-key and --ssl-cert go together: give both for TLS, or neither")
    if args.redirect_port is not None and not args.ssl_cert:
        _refuse(parser, "HTTPS redirection specified but certificates not provided. Give "
                "--ssl-key and --ssl-cert, or drop --redirect-port")
    if args.error_target and args.error_path:
        _refuse(parser, "Cannot specify both error-target and error-path. Pick one.")
    notices: list[tuple[int, str]] = []
    redirect_port = args.redirect_port
    if redirect_port is not None and args.port == 80:
        # CHP's condition, kept so that a command line behaves as it did under CHP.
        notices.append((logging.WARNING, f"--redirect-port {redirect_port} ignored: like "
                        "configurable-http-proxy, kernel-proxy redirects nothing when --port "
                        "is 80"))
        redirect_port = None
    elif redirect_port is None and args.redirect_to is not None:
        notices.append((logging.WARNING, "--redirect-to has no effect without --redirect-port"))
    try:
        api_tls = api_tls_context(args, notices)
        client_tls = client_tls_context(args, notices)
    except TlsFlagError as e:
        parser.error(str(e))
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
        proxy_timeout=args.proxy_timeout,
        head_timeout=args.head_timeout,
        body_timeout=args.body_timeout,
        custom_headers=custom_headers,
        error_path=args.error_path,
        redirect_port=redirect_port,
        redirect_to=args.port if args.redirect_to is None else args.redirect_to,
        log_level=args.log_level,
        auth_token=os.environ.get("CONFIGPROXY_AUTH_TOKEN", ""),
        api_tls=api_tls,
        client_tls=client_tls,
        ignored=ignored,
        notices=notices,
    )


def _refuse(parser: argparse.ArgumentParser, message: str) -> NoReturn:
    """Exit with status 1, as configurable-http-proxy does on the flags it refuses."""
    parser.exit(1, f"{parser.prog}: error: {message}\n")


def _custom_headers(parser: argparse.ArgumentParser,
                    given: list[str]) -> tuple[tuple[str, str], ...]:
    """The ``--custom-header`` values as (name, value); of a name given twice, the last."""
    headers: dict[str, tuple[str, str]] = {}
    for text in given:
        text = text.strip()
        name, colon, value = text.partition(":")
        name, value = name.strip(), value.strip()
        if not (colon and name):
            _refuse(parser, f"A colon was expected in custom header: {text} (write "
                    '--custom-header "Name: value")')
        if not _TOKEN.fullmatch(name):
            parser.error(f"--custom-header {text!r}: {name!r} is not a header name; use "
                         "letters, digits and !#$%&'*+-.^_`|~ only")
        if _CONTROL.search(value) or max(value, default="") > "\xff":
            parser.error(f"--custom-header {text!r}: a header value can hold no control "
                         "characters and no characters beyond Latin-1; percent-encode them")
        if name.lower() in FRAMING_HEADERS:
            parser.error(f"--custom-header {text!r}: kernel-proxy relays request bodies as the "
                         "client framed them, so the backend must get the client's "
                         f"{name}; drop this header")
        headers[name.lower()] = (name, value)
    return tuple(headers.values())
