"""What hub.ini and user names become: container names, and the [docker] options as typed.

No engine needed: these check the plugin's own rules, read through kernelhub's
real config loader (which finds the installed `docker` entry point).
"""

from __future__ import annotations

import pytest
from kernelhub_docker.options import EXTRA_HOST_CONFIG, PULL, VOLUMES
from kernelhub_docker.spawner import container_name

from kernel.api import ConfigError

TEMPLATE = "jupyter-{username}--{servername}"


def test_the_default_server_drops_the_empty_server_names_dashes():
    assert container_name(TEMPLATE, "alice", "") == "jupyter-alice"


def test_a_named_server_keeps_its_name():
    assert container_name(TEMPLATE, "alice", "gpu-1") == "jupyter-alice--gpu-1"


def test_characters_docker_refuses_in_names_are_escaped_as_hex():
    assert container_name(TEMPLATE, "ann@example.org", "") == "jupyter-ann_40example.org"
    assert container_name(TEMPLATE, "zoë", "") == "jupyter-zo_c3_ab"


def test_extra_host_config_values_are_json_and_volumes_a_table(load_hub_ini):
    loaded = load_hub_ini({"hub": {"spawner_class": "docker"},
                           "docker.extra_host_config": {"shm_size": '"1g"', "read_only": "true",
                                                        "devices": '["/dev/fuse:/dev/fuse:rwm"]'},
                           "docker.volumes": {"data-{username}": "/data:ro"}})
    assert loaded.config[EXTRA_HOST_CONFIG] == {"shm_size": "1g", "read_only": True,
                                                "devices": ["/dev/fuse:/dev/fuse:rwm"]}
    assert loaded.config[VOLUMES] == {"data-{username}": "/data:ro"}


def test_an_unknown_pull_policy_is_an_error_before_anything_starts(load_hub_ini):
    with pytest.raises(ConfigError, match="pull_policy"):
        load_hub_ini({"hub": {"spawner_class": "docker"}, "docker": {"pull_policy": "sometimes"}})
    assert load_hub_ini({"hub": {"spawner_class": "docker"}}).config[PULL] == "ifnotpresent"
