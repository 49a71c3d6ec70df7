"""Where things listen and how they are reached: bind_url, hub_bind_url, hub_connect_*."""

from __future__ import annotations

import socket

import pytest

from kernel.config.errors import ConfigError
from kernel.urls import escape_path_segment, hub_urls

BASE = "[hub]\nauthenticator_class = dummy\nspawner_class = simple\n"


def urls(load_ini, extra: str = ""):
    return hub_urls(load_ini(BASE + extra).config)


def test_the_defaults_match_jupyterhub(load_ini):
    u = urls(load_ini)
    assert (u.public_scheme, u.public_ip, u.public_port, u.base_url) == ("http", "", 8000, "/")
    assert (u.hub_bind_ip, u.hub_bind_port) == ("127.0.0.1", 8081)
    assert u.hub_api_url == "http://127.0.0.1:8081/hub/api"
    assert u.public_url == "http://localhost:8000/"


def test_bind_url_sets_scheme_ip_port_and_base_url(load_ini):
    u = urls(load_ini, "bind_url = http://10.0.0.5:9000/jupyter\n")
    assert (u.public_ip, u.public_port, u.base_url) == ("10.0.0.5", 9000, "/jupyter/")
    assert u.hub_prefix == "/jupyter/hub/"
    assert u.hub_api_url == "http://127.0.0.1:8081/jupyter/hub/api"


def test_ip_port_and_base_url_override_bind_url(load_ini):
    u = urls(load_ini, "bind_url = http://10.0.0.5:9000/jupyter\nip = 127.0.0.1\nport = 9100\n"
                       "base_url = /lab\n")
    assert (u.public_ip, u.public_port, u.base_url) == ("127.0.0.1", 9100, "/lab/")


def test_hub_bind_url_wins_over_hub_ip_and_hub_port(load_ini):
    u = urls(load_ini, "hub_ip = 10.1.1.1\nhub_port = 1\nhub_bind_url = http://127.0.0.2:9999\n")
    assert (u.hub_bind_ip, u.hub_bind_port) == ("127.0.0.2", 9999)
    assert u.hub_connect == "http://127.0.0.2:9999"


def test_a_hub_on_every_interface_is_reached_by_host_name(load_ini):
    u = urls(load_ini, "hub_ip = 0.0.0.0\n")
    assert u.hub_connect == f"http://{socket.gethostname()}:8081"


def test_hub_connect_ip_and_url_choose_how_servers_reach_the_hub(load_ini):
    assert urls(load_ini, "hub_ip = 0.0.0.0\nhub_connect_ip = hub.internal\n"
                ).hub_connect == "http://hub.internal:8081"
    u = urls(load_ini, "hub_connect_url = https://hub.internal:443/ignored/path\n")
    assert u.hub_api_url == "https://hub.internal:443/hub/api"


def test_tls_on_the_public_side_makes_the_public_url_https(load_ini):
    u = urls(load_ini, "ssl_cert = /x.crt\nssl_key = /x.key\nport = 443\n")
    assert u.public_url == "https://localhost/"


def test_names_are_escaped_as_jupyterhub_escapes_them_in_urls():
    # JupyterHub's url_escape_path: quote(name, safe="@~").
    assert escape_path_segment("ann@example.org") == "ann@example.org"
    assert escape_path_segment("~ann") == "~ann"
    assert escape_path_segment("a b/c?d#e%") == "a%20b%2Fc%3Fd%23e%25"
    assert escape_path_segment("zoë") == "zo%C3%AB"


def test_with_subdomain_host_users_and_services_get_hosts_of_their_own(load_ini):
    u = urls(load_ini, "subdomain_host = https://hub.example.org:8443/\n")
    assert (u.subdomain_host, u.domain) == ("https://hub.example.org:8443", "hub.example.org")
    assert u.origin_of("alice", "user") == "https://alice.hub.example.org:8443"
    assert u.domain_of("alice", "user") == "alice.hub.example.org"  # routespecs: no port
    assert u.origin_of("grader", "service") == "https://grader--service.hub.example.org:8443"
    assert u.origin_of("zoë", "user") == "https://xn--zo-ija.hub.example.org:8443"


def test_without_subdomain_host_urls_stay_paths_on_the_hubs_origin(load_ini):
    u = urls(load_ini)
    assert (u.origin_of("alice", "user"), u.domain_of("alice", "user")) == ("", "")


def test_a_subdomain_host_with_a_path_is_refused(load_ini):
    with pytest.raises(ConfigError, match=r"\[hub\] subdomain_host: a host such as "
                                          r"https://hub.example.org, with no path"):
        urls(load_ini, "subdomain_host = https://hub.example.org/jupyter/\n")
