"""Internal TLS for jobs: the server's certificate, copied where only its user can read it."""

from __future__ import annotations

import dataclasses
import os
import pwd
import shutil
from pathlib import Path
from typing import Any

#: Under the user's home, which a cluster shares between the login and compute nodes.
CERTS_FOLDER = Path(".jupyterhub") / "jupyterhub-certs"


def copy_to_home(files: Any, username: str) -> Any:
    """``files`` (key, cert, ca) copied into ``~username/.jupyterhub/jupyterhub-certs``:
    the folder 0700 and the files 0600, all owned by the user, so the job (running as
    the user on any node) reads them and nobody else does; the copies' paths."""
    try:
        account = pwd.getpwnam(username)
    except KeyError:
        raise RuntimeError(f"internal_ssl with the slurm spawner needs a Unix account named "
                           f"{username!r}, to own the copy of its server's key") from None
    folder = Path(account.pw_dir) / CERTS_FOLDER
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(mode=0o700, parents=True)
    for made in (folder.parent, folder):
        os.chown(made, account.pw_uid, account.pw_gid)
    copies = {}
    for field in ("key", "cert", "ca"):
        source = Path(getattr(files, field))
        target = folder / source.name
        shutil.copyfile(source, target)
        os.chmod(target, 0o600)
        os.chown(target, account.pw_uid, account.pw_gid)
        copies[field] = target
    return dataclasses.replace(files, **copies)
