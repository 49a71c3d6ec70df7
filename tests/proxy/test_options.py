"""kernel-proxy's command line: configurable-http-proxy's flags and defaults."""

from __future__ import annotations

import logging

import pytest

from plugins.kernel_proxy.options import parse_options


def test_defaults_are_chps():
    options = parse_options([])
    assert (options.ip, options.port, options.api_ip, options.api_port) == (
        "", 8000, "127.0.0.1", 8001)
    assert options.x_forward and options.include_prefix and not options.host_routing


def test_the_api_port_defaults_to_the_public_port_plus_one():
    assert parse_options(["--port", "9000"]).api_port == 9001


def test_ip_star_means_all_interfaces():
    assert parse_options(["--ip", "*"]).ip == ""


def test_millisecond_flags_become_seconds():
    options = parse_options(["--timeout", "1500", "--keep-alive-timeout", "250"])
    assert (options.timeout, options.keep_alive_timeout) == (1.5, 0.25)


def test_log_level_accepts_chps_names():
    assert parse_options(["--log-level", "warn"]).log_level == logging.WARNING


def test_the_token_comes_only_from_the_environment(monkeypatch):
    monkeypatch.setenv("CONFIGPROXY_AUTH_TOKEN", "from-env")
    assert parse_options([]).auth_token == "from-env"
    monkeypatch.delenv("CONFIGPROXY_AUTH_TOKEN")
    assert parse_options([]).auth_token == ""


def test_ignored_flags_are_listed_with_their_values():
    options = parse_options(["--insecure", "--custom-header", "a:b", "--storage-backend", "x"])
    assert options.ignored == ["--custom-header a:b", "--storage-backend x", "--insecure"]


@pytest.mark.parametrize("argv", [
    ["--socket", "/tmp/s"], ["--port", "eighty"], ["--log-level", "loud"],
    ["--ssl-key", "k.pem"], ["--no-such-flag"],
])
def test_bad_command_lines_exit_2(argv):
    with pytest.raises(SystemExit) as exited:
        parse_options(argv)
    assert exited.value.code == 2
