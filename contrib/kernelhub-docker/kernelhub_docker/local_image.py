"""A single-user image built on this machine, for Docker hosts that reach no image registry.

The recipe: a Debian bookworm root file system made with ``debootstrap``
(variant minbase, plus python3) with a ``jovyan`` account (uid 1000, gid 100)
whose home is ``/home/jovyan``, imported with ``docker import``. It has no
Jupyter packages of its own: the containers mount a venv made on the host from
``/usr/bin/python3`` (jupyterhub-singleuser, jupyterlab) read-only at the same
path, which runs inside because the image's python3 is the host's version.

The root file system is kept as a tarball under ``/var/tmp/kernelhub-docker``,
named after a hash of the recipe, so it is built once (about 40 s) and
imported into any engine in seconds::

    kernelhub-docker-image --docker-host unix:///run/docker.sock
"""

from __future__ import annotations

import argparse
import hashlib
import logging
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import docker

log = logging.getLogger("kernelhub.docker.image")

CACHE = Path(os.environ.get("KERNELHUB_DOCKER_CACHE", "/var/tmp/kernelhub-docker"))
SUITE = "bookworm"
PACKAGES = ("python3",)
#: The account the servers run as, as in the Jupyter Docker Stacks images.
ACCOUNT = ("jovyan", 1000, 100)
REPOSITORY = "kernelhub-singleuser-local"
#: The rest of the recipe is in build_rootfs; bump this when changing it.
RECIPE_VERSION = 1
_DEFAULT_MIRROR = "http://deb.debian.org/debian"


def recipe_hash() -> str:
    """A short hash of everything that makes the root file system what it is."""
    recipe = f"{RECIPE_VERSION} {SUITE} minbase {','.join(PACKAGES)} {ACCOUNT}"
    return hashlib.sha256(recipe.encode()).hexdigest()[:12]


def image_name() -> str:
    """The image's name in the engine: the repository, tagged with the recipe's hash."""
    return f"{REPOSITORY}:{recipe_hash()}"


def debian_mirror(sources: Path = Path("/etc/apt")) -> str:
    """The Debian mirror this machine's apt uses (the one reachable from here)."""
    files = [sources / "sources.list", *sorted((sources / "sources.list.d").glob("*"))]
    for path in files:
        if not path.is_file():
            continue
        text = path.read_text(errors="replace")
        # deb822 (`URIs: ...`) and one-line (`deb URI suite ...`) sources alike.
        for uri in re.findall(r"^(?:URIs:\s*|deb\s+(?:\[[^]]*\]\s+)?)(\S+)", text, re.M):
            if uri.rstrip("/").endswith("/debian"):
                return uri
    return _DEFAULT_MIRROR


def rootfs_tarball(cache: Path = CACHE) -> Path:
    """The root file system as a tarball, built with debootstrap unless already cached."""
    tarball = cache / f"rootfs-{recipe_hash()}.tar"
    if tarball.exists():
        return tarball
    if shutil.which("debootstrap") is None:
        raise RuntimeError("building the local image needs debootstrap: "
                           "apt-get install -y --no-install-recommends debootstrap")
    cache.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=cache) as scratch:
        root = Path(scratch) / "root"
        build_rootfs(root)
        partial = tarball.with_suffix(".partial")
        subprocess.run(["tar", "-C", str(root), "-cf", str(partial), "."], check=True)
        partial.rename(tarball)  # complete or absent, even if the build is interrupted
    return tarball


def build_rootfs(root: Path) -> None:
    """Debian minbase with python3, and the ``jovyan`` account with a home it owns."""
    mirror = debian_mirror()
    log.info("Building a %s root file system from %s (about a minute)", SUITE, mirror)
    subprocess.run(["debootstrap", "--variant=minbase", f"--include={','.join(PACKAGES)}",
                    SUITE, str(root), mirror], check=True, capture_output=True)
    name, uid, gid = ACCOUNT
    with (root / "etc" / "passwd").open("a") as passwd:
        passwd.write(f"{name}:x:{uid}:{gid}::/home/{name}:/bin/bash\n")
    home = root / "home" / name
    home.mkdir(parents=True)
    # A named volume mounted here starts as a copy of this folder, ownership included.
    os.chown(home, uid, gid)
    shutil.rmtree(root / "var" / "cache" / "apt" / "archives", ignore_errors=True)


def import_image(client: docker.DockerClient, cache: Path = CACHE) -> str:
    """Make sure the engine has the local image (importing the cached tarball); its name."""
    name = image_name()
    try:
        client.images.get(name)
    except docker.errors.ImageNotFound:
        repository, tag = name.split(":")
        client.api.import_image(src=str(rootfs_tarball(cache)), repository=repository,
                                tag=tag)
    return name


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docker-host", default=os.environ.get("DOCKER_HOST"),
                        help="the engine's address, e.g. unix:///run/docker.sock")
    parser.add_argument("--cache", type=Path, default=CACHE,
                        help=f"where the root file system is kept (default {CACHE})")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    client = docker.DockerClient(base_url=args.docker_host, version="auto")
    print(import_image(client, args.cache))
