"""kernel-proxy's TLS flags for its REST API and its https targets, made into SSL contexts.

TLS for the REST API and for the proxy's own connections to https targets
(what JupyterHub's ``internal_ssl`` passes), with configurable-http-proxy
(CHP) 5.3's observed semantics:

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
"""

from __future__ import annotations

import argparse
import logging
import os
import ssl


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
