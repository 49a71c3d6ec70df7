"""The ``[docker]`` options of hub.ini: the engine, the image, the container's shape."""

from __future__ import annotations

import json
from typing import Any

from kernel.api import Boolean, Choice, Number, Option, OptionType, Table, Text, TextList

SECTION = "docker"


class JSONValue(OptionType[Any]):
    """Any JSON value: ``true``, ``"1g"``, ``["/dev/fuse"]``; a bare word is text."""

    name = 'a JSON value such as true, 2 or ["/dev/fuse"]'

    def parse(self, raw: str) -> Any:
        try:
            return json.loads(raw)
        except json.JSONDecodeError:
            return raw


DOCKER_HOST = Option(SECTION, "host", Text(), "",
                     "The engine's address, e.g. unix:///run/docker.sock or tcp://host:2376; "
                     "empty uses DOCKER_HOST and the engine's default socket.")
IMAGE = Option(SECTION, "image", Text(), "quay.io/jupyterhub/singleuser:5",
               "The image a server runs when the user chooses none.")
ALLOWED_IMAGES = Option(SECTION, "allowed_images", TextList(), [],
                        "Images users may choose in the options form (the first is the "
                        "default); empty offers no form and always runs `image`.")
PULL = Option(SECTION, "pull_policy", Choice(("ifnotpresent", "always", "never")), "ifnotpresent",
              "When to pull the image from its registry before a start: ifnotpresent, "
              "always or never.")
NAME_TEMPLATE = Option(SECTION, "name_template", Text(), "jupyter-{username}--{servername}",
                       "The container's name; {username} and {servername} are filled in, and "
                       "trailing dashes (the default server's empty name) are dropped.")
NETWORK = Option(SECTION, "network", Text(), "host",
                 "The network the containers join: `host` (the server listens on the hub "
                 "machine's [spawner] ip and a free port) or a user-defined network that the "
                 "hub is also on (the hub reaches the container at its address there).")
VOLUMES = Option(SECTION, "volumes", Table(), {"jupyterhub-user-{username}": "/home/jovyan"},
                 "Mounts, one per line: a volume name (created if missing, kept when the "
                 "container goes) or an absolute host path = the path inside the container, "
                 "`:ro` at its end for read-only. {username} and {servername} are filled in.")
WORK_DIR = Option(SECTION, "work_dir", Text(), "/home/jovyan",
                  "The server's working folder inside the container (also its HOME).")
USER = Option(SECTION, "user", Text(), "1000:100",
              "The user (name or uid, optionally :gid) the server runs as in the container; "
              "empty runs the image's user.")
REMOVE = Option(SECTION, "remove", Boolean(), True,
                "Remove a container when its server stops; false keeps it (its logs, its "
                "files outside the volumes) until the server's next start replaces it.")
STOP_GRACE = Option(SECTION, "stop_timeout", Number(minimum=0), 10.0,
                    "Seconds a stopping server has between SIGTERM and SIGKILL.")
HUB_LABEL = Option(SECTION, "hub_label", Text(), "kernelhub",
                   "The value of the `kernelhub.hub` label on this hub's containers: "
                   "give each hub sharing an engine its own.")
EXTRA_HOST_CONFIG = Option(SECTION, "extra_host_config", Table(JSONValue()), {},
                           "More of Docker's host settings, one per line with JSON values, "
                           "as the Docker SDK names them: `shm_size = \"1g\"`, "
                           "`read_only = true`, `devices = [\"/dev/fuse:/dev/fuse:rwm\"]`.")

ALL = (DOCKER_HOST, IMAGE, ALLOWED_IMAGES, PULL, NAME_TEMPLATE, NETWORK, VOLUMES, WORK_DIR,
       USER, REMOVE, STOP_GRACE, HUB_LABEL, EXTRA_HOST_CONFIG)
