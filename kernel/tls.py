"""Internal TLS: the certificates the hub's own connections use, and SSL contexts from them.

Off by default. A plugin turns it on by answering the ``internal_tls`` hook
with an ``InternalTLS`` (the ``internal-ssl`` plugin does, from
``[hub] internal_ssl``); the kernel then

- serves the hub's own port over HTTPS and requires a client certificate
  signed by an authority the hub trusts (``hub.server_context()``);
- presents the hub's certificate on every connection it makes (to the
  proxy's API, to servers and services) and checks theirs
  (``hub.client_context()``);
- gives the proxy its API and client certificates (``ProcessProxy``);
- writes ``https://`` in the URLs it hands out (``hub_api_url``, the route
  to the hub, the servers' addresses).

Servers and managed services get certificates of their own from
``InternalTLS.issue``; handing them over is the plugin's job
(``pre_spawn_start``).
"""

from __future__ import annotations

import os
import pwd
import shutil
import ssl
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol


@dataclass(frozen=True)
class CertFiles:
    """A certificate, its private key, and the bundle of authorities its owner trusts."""

    key: Path
    cert: Path
    #: The authorities whose certificates this component accepts from its peers.
    ca: Path

    def server_context(self) -> ssl.SSLContext:
        """For a TLS server that requires its clients' certificates."""
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH, cafile=str(self.ca))
        context.load_cert_chain(str(self.cert), str(self.key))
        context.verify_mode = ssl.CERT_REQUIRED
        return context

    def client_context(self) -> ssl.SSLContext:
        """For a TLS client that presents this certificate and checks the server's."""
        context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=str(self.ca))
        context.load_cert_chain(str(self.cert), str(self.key))
        return context


class InternalTLS(Protocol):
    """What a plugin provides to turn internal TLS on (see the ``internal_tls`` hook)."""

    @property
    def hub(self) -> CertFiles:
        """The hub's own certificate: its HTTPS server and its client."""

    @property
    def proxy_api(self) -> CertFiles:
        """The proxy's API server (the hub calls it)."""

    @property
    def proxy_client(self) -> CertFiles:
        """The proxy as a client, toward servers, services and the hub."""

    def issue(self, name: str, *, kind: str, alt_names: Iterable[str] = (),
              include_local: bool = True) -> CertFiles:
        """A new certificate for one server (``kind`` "server") or managed service
        ("service"), valid for ``alt_names`` (``DNS:host``, ``IP:addr``) and, with
        ``include_local``, for localhost and 127.0.0.1 too."""
        ...


def copy_for_account(files: CertFiles, account: pwd.struct_passwd) -> CertFiles:
    """The files copied into ``~/.jupyterhub/jupyterhub-certs`` of ``account`` (0700,
    files 0600, owned by it), where a process running as it can read them; the same
    files when the account is the hub's own."""
    if account.pw_uid == os.geteuid():
        return files
    folder = Path(account.pw_dir) / ".jupyterhub" / "jupyterhub-certs"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(mode=0o700, parents=True)
    for made in (folder.parent, folder):
        os.chown(made, account.pw_uid, account.pw_gid)
    copies = []
    for source in (files.key, files.cert, files.ca):
        target = folder / source.name
        shutil.copyfile(source, target)
        os.chmod(target, 0o600)
        os.chown(target, account.pw_uid, account.pw_gid)
        copies.append(target)
    return CertFiles(*copies)
