"""Real infrastructure for tests of kernelhub and its plugins: the rule for what is missing,
the single-user venv, and real Unix accounts.

A test that needs something real (a program, a service, root) calls
``skip_or_fail`` when it is missing: on a laptop the test is skipped with the
reason, in CI (``CI=true``) it fails, because CI must have everything.
"""

from __future__ import annotations

import os
import pwd
import secrets
import subprocess
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

#: In CI every real dependency must be there: a missing one fails instead of skipping.
IN_CI = os.environ.get("CI", "").lower() == "true"
#: The password of the Unix accounts ``unix_accounts`` makes.
PASSWORD = "S3cret-pw-for-tests"
#: A venv any user can read, with JupyterHub 6.1.1 (jupyterhub-singleuser), jupyterlab
#: and ipykernel, made from /usr/bin/python3 (kernelhub's .ci/run makes it).
SINGLEUSER_VENV = Path(os.environ.get("KERNELHUB_SINGLEUSER_VENV", "/opt/kernelhub-singleuser"))


def skip_or_fail(reason: str) -> None:
    """Skip on a laptop without the dependency; fail in CI, where it must be installed."""
    if IN_CI:
        pytest.fail(f"{reason} (CI=true: this dependency must be installed)")
    pytest.skip(reason)


def singleuser_venv_file(name: str) -> Path:
    """A program of the single-user venv (``bin/NAME``); skips or fails without it."""
    path = SINGLEUSER_VENV / "bin" / name
    if not os.access(path, os.X_OK):
        skip_or_fail(f"no {name} at {path}: make the venv with `/usr/bin/python3 -m venv "
                     f"{SINGLEUSER_VENV}` and install jupyterhub==6.1.1, jupyterlab and "
                     "ipykernel into it (or set KERNELHUB_SINGLEUSER_VENV)")
    return path


@contextmanager
def unix_accounts() -> Iterator[Callable[[], pwd.struct_passwd]]:
    """A function that makes real Unix accounts (``kh`` and 8 hex digits, with a home and
    the password ``PASSWORD``); every one is removed afterwards, its processes killed
    first. Needs root: skips or fails without."""
    if os.geteuid() != 0:
        skip_or_fail("creating Unix accounts needs root")
    made: list[str] = []

    def make() -> pwd.struct_passwd:
        name = f"kh{secrets.token_hex(4)}"
        subprocess.run(["useradd", "-m", "-s", "/bin/bash", name], check=True)
        made.append(name)
        subprocess.run(["chpasswd"], input=f"{name}:{PASSWORD}", text=True, check=True)
        return pwd.getpwnam(name)

    try:
        yield make
    finally:
        for name in made:
            subprocess.run(["pkill", "-KILL", "-u", name], check=False)
            subprocess.run(["userdel", "-r", "-f", name], check=False, capture_output=True)
