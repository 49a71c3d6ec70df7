"""kernel-proxy's command line: configurable-http-proxy's flags, parsed into ``ProxyOptions``.

Implemented as in configurable-http-proxy (CHP) 5.x: ``--ip``, ``--port``,
``--api-ip``, ``--api-port``, ``--default-target``, ``--error-target``,
``--ssl-key``, ``--ssl-cert`` (passphrase from ``CONFIGPROXY_SSL_KEY_PASSPHRASE``),
``--pid-file``, ``--no-x-forward``, ``--no-include-prefix``,
``--no-prepend-path``, ``--host-routing``, ``--timeout``,
``--keep-alive-timeout`` and ``--log-level``. The API token comes only from
the environment variable ``CONFIGPROXY_AUTH_TOKEN`` (empty or unset: no auth).

TLS for the REST API and for the proxy's own connections to https targets
(what JupyterHub's ``internal_ssl`` passes), with CHP 5.3's observed semantics:

- ``--api-ssl-key`` + ``--api-ssl-cert``: the API serves TLS (key passphrase
  from ``CONFIGPROXY_API_SSL_KEY_PASSPHRASE``). ``--api-ssl-ca``: the CA bundle
  client certificates are checked against (default: the system store).
  ``--api-ssl-request-cert``: a client must present a certificate that
  verifies, or the handshake fails; alone, it already rejects, because
  node's ``rejectUnauthorized`` defaults to true and CHP's command line can
  only set it to true. ``--api-ssl-reject-unauthorized`` therefore adds
  nothing, and without ``--api-ssl-request-cert`` it has no effect at all.
- ``--client-ssl-key`` + ``--client-ssl-cert``: the client certificate shown
  to https targets (routes and ``--error-target``). ``--client-ssl-ca``: the
  only CAs a target's certificate may chain to (default: the system store).
  A target's certificate is always verified, whatever the flags say: CHP sets
  ``secure: true`` for every https target, so ``--client-ssl-reject-unauthorized``
  changes nothing there, and ``--client-ssl-request-cert`` (a server-side
  option node ignores on a client connection) is a no-op; both are accepted.
  The certificate must name the target URL's host (IP or DNS SAN). One
  difference: CHP, through node's https agent, checks the request's Host
  header name instead when that is a DNS name (so a hub reached as
  ``hub.example.org`` needs that name in every internal certificate).

Accepted and ignored, with a debug log line, so that command lines written
for CHP keep working:

- taking a value: ``--ssl-ca``, ``--ssl-protocol``, ``--ssl-ciphers``,
  ``--ssl-dhparam``, ``--error-path``, ``--redirect-port``, ``--redirect-to``,
  ``--protocol-rewrite``, ``--custom-header`` (repeatable), ``--metrics-ip``,
  ``--metrics-port``, ``--proxy-timeout``, ``--storage-backend``;
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
import ssl
from dataclasses import dataclass, field

IGNORED_WITH_VALUE = (
    "ssl-ca", "ssl-protocol", "ssl-ciphers", "ssl-dhparam", "error-path",
    "redirect-port", "redirect-to", "protocol-rewrite", "custom-header",
    "metrics-ip", "metrics-port", "proxy-timeout", "storage-backend",
)
IGNORED_SWITCHES = (
    "ssl-request-cert", "ssl-reject-unauthorized", "ssl-allow-rc4",
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
    notices: list[tuple[int, str]] = []
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
        log_level=args.log_level,
        auth_token=os.environ.get("CONFIGPROXY_AUTH_TOKEN", ""),
        api_tls=api_tls,
        client_tls=client_tls,
        ignored=ignored,
        notices=notices,
    )


class TlsFlagError(ValueError):
    """A TLS flag that cannot be used; the message names the flag and its file."""


def api_tls_context(args: argparse.Namespace,
                    notices: list[tuple[int, str]]) -> ssl.SSLContext | None:
    """The REST API's server context from ``--api-ssl-*``, or None for plain HTTP.

    :raises TlsFlagError: on a key without a certificate (or the reverse) or a bad file.
    """
    if bool(args.api_ssl_key) != bool(args.api_ssl_cert):
        raise TlsFlagError("--api-ssl-key and --api-ssl-cert go together: give both for a "
                           "TLS API, or neither")
    if not args.api_ssl_cert:
        given = [f"--{flag}" for flag in ("api-ssl-ca", "api-ssl-request-cert",
                                          "api-ssl-reject-unauthorized")
                 if getattr(args, flag.replace("-", "_"))]
        if given:
            notices.append((logging.WARNING, f"{', '.join(given)} ignored: the API serves plain "
                            "HTTP without --api-ssl-key and --api-ssl-cert"))
        return None
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    if args.api_ssl_ca:
        _load_ca(context, "api-ssl-ca", args.api_ssl_ca)
    elif args.api_ssl_request_cert:
        context.load_default_certs(ssl.Purpose.CLIENT_AUTH)
    _load_key_pair(context, "api", args.api_ssl_cert, args.api_ssl_key,
                   passphrase_env="CONFIGPROXY_API_SSL_KEY_PASSPHRASE")
    if args.api_ssl_request_cert:
        context.verify_mode = ssl.CERT_REQUIRED
    elif args.api_ssl_reject_unauthorized:
        notices.append((logging.WARNING, "--api-ssl-reject-unauthorized has no effect without "
                        "--api-ssl-request-cert: API clients are not asked for a certificate"))
    return context


def client_tls_context(args: argparse.Namespace,
                       notices: list[tuple[int, str]]) -> ssl.SSLContext | None:
    """The context for connections to https targets from ``--client-ssl-*``, or None.

    The context always verifies the target's certificate and host name; only
    the CAs it trusts and the client certificate it shows come from the flags.

    :raises TlsFlagError: on a key without a certificate (or the reverse) or a bad file.
    """
    if args.client_ssl_request_cert:
        notices.append((logging.DEBUG, "Ignoring --client-ssl-request-cert: configurable-http-"
                        "proxy ignores it too (it asks a TLS client for a certificate, and "
                        "here the proxy is the client)"))
    if args.client_ssl_reject_unauthorized:
        notices.append((logging.DEBUG, "Ignoring --client-ssl-reject-unauthorized: as in "
                        "configurable-http-proxy, https targets are always verified"))
    if bool(args.client_ssl_key) != bool(args.client_ssl_cert):
        raise TlsFlagError("--client-ssl-key and --client-ssl-cert go together: give both to "
                           "show https targets a client certificate, or neither")
    if not (args.client_ssl_cert or args.client_ssl_ca):
        return None
    # A bare client context: CERT_REQUIRED and host name checks, OpenSSL's default
    # verification flags (as node's), nothing more.
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    if args.client_ssl_ca:
        _load_ca(context, "client-ssl-ca", args.client_ssl_ca)
    else:
        context.load_default_certs(ssl.Purpose.SERVER_AUTH)
    if args.client_ssl_cert:
        _load_key_pair(context, "client", args.client_ssl_cert, args.client_ssl_key)
    return context


def _readable(flag: str, path: str) -> None:
    try:
        with open(path, "rb"):
            pass
    except OSError as e:
        raise TlsFlagError(f"--{flag} {path}: cannot read it ({e.strerror or e})") from None


def _load_ca(context: ssl.SSLContext, flag: str, path: str) -> None:
    _readable(flag, path)
    try:
        context.load_verify_locations(cafile=path)
    except ssl.SSLError:
        raise TlsFlagError(f"--{flag} {path}: expected PEM CA certificates, "
                           "found none") from None


def _load_key_pair(context: ssl.SSLContext, side: str, cert: str, key: str,
                   passphrase_env: str | None = None) -> None:
    cert_flag, key_flag = f"{side}-ssl-cert", f"{side}-ssl-key"
    _readable(cert_flag, cert)
    _readable(key_flag, key)
    try:
        ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT).load_verify_locations(cafile=cert)
    except ssl.SSLError:
        raise TlsFlagError(f"--{cert_flag} {cert}: expected a PEM certificate, "
                           "found none") from None
    # Never None: OpenSSL would prompt on the terminal for an encrypted key's passphrase.
    passphrase = os.environ.get(passphrase_env, "") if passphrase_env else ""
    try:
        context.load_cert_chain(cert, key, password=lambda: passphrase)
    except ssl.SSLError as e:
        if e.reason == "KEY_VALUES_MISMATCH":
            raise TlsFlagError(f"--{key_flag} {key} is not the key of --{cert_flag} "
                               f"{cert}") from None
        encrypted = (f"or is encrypted and ${passphrase_env} does not hold its passphrase"
                     if passphrase_env else
                     "or is encrypted (like configurable-http-proxy, kernel-proxy takes no "
                     "passphrase for it)")
        raise TlsFlagError(f"--{key_flag} {key}: not a PEM private key, {encrypted}") from None
