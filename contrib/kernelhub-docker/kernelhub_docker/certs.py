"""Internal TLS for containers: the server's certificate copied for the container's user.

The certificate files the internal-ssl plugin issues belong to the hub's own
user (the key is 0600). A container's server runs as another uid, so it gets
copies owned by that uid in a folder of their own, which the container mounts
read-only at ``CERTS_IN_CONTAINER``.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
from pathlib import Path

from kernel.api import CertFiles

CERTS_IN_CONTAINER = Path("/etc/kernelhub/certs")
#: The copies' names, inside the folder and the container alike.
KEY, CERT, CA = "server.key", "server.crt", "ca.crt"


def copy_for_container(files: CertFiles, user: str) -> Path:
    """Copy ``files`` (key, cert, ca) next to them, owned by ``user`` (``uid[:gid]``, as
    ``[docker] user``); the folder of the copies."""
    uid, _, gid = user.partition(":")
    if not uid.isdigit() or not (gid or "0").isdigit():
        raise RuntimeError(f"internal_ssl with the Docker spawner needs [docker] user as a "
                           f"number (uid or uid:gid), not {user!r}: the server's key is given "
                           "to that uid")
    owner = (int(uid), int(gid or 0))
    folder = files.key.parent / "container"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(mode=0o700)
    os.chown(folder, *owner)
    for source, name in ((files.key, KEY), (files.cert, CERT), (files.ca, CA)):
        shutil.copyfile(source, folder / name)
        os.chmod(folder / name, 0o600)
        os.chown(folder / name, *owner)
    return folder


def in_container(files: CertFiles) -> CertFiles:
    """``files`` as the server sees them: the copies' paths inside the container."""
    return dataclasses.replace(files, key=CERTS_IN_CONTAINER / KEY,
                               cert=CERTS_IN_CONTAINER / CERT, ca=CERTS_IN_CONTAINER / CA)
