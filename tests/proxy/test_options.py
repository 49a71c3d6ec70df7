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
    options = parse_options(["--timeout", "1500", "--keep-alive-timeout", "250",
                             "--proxy-timeout", "300"])
    assert (options.timeout, options.keep_alive_timeout, options.proxy_timeout) == (
        1.5, 0.25, 0.3)


def test_client_deadlines_default_to_30_s_for_a_head_and_60_s_for_a_stalled_body():
    options = parse_options([])
    assert (options.head_timeout, options.body_timeout) == (30.0, 60.0)


def test_client_deadline_flags_take_milliseconds():
    options = parse_options(["--head-timeout", "1500", "--body-timeout", "0"])
    assert (options.head_timeout, options.body_timeout) == (1.5, 0.0)


def test_log_level_accepts_chps_names():
    assert parse_options(["--log-level", "warn"]).log_level == logging.WARNING


def test_the_token_comes_only_from_the_environment(monkeypatch):
    monkeypatch.setenv("CONFIGPROXY_AUTH_TOKEN", "from-env")
    assert parse_options([]).auth_token == "from-env"
    monkeypatch.delenv("CONFIGPROXY_AUTH_TOKEN")
    assert parse_options([]).auth_token == ""


def test_ignored_flags_are_listed_with_their_values():
    options = parse_options(["--insecure", "--ssl-ciphers", "HIGH", "--storage-backend", "x"])
    assert options.ignored == ["--ssl-ciphers HIGH", "--storage-backend x", "--insecure"]


def test_custom_headers_are_trimmed_and_the_last_of_a_name_wins():
    options = parse_options(["--custom-header", " X-A : 1 ", "--custom-header", "x-b:2:3",
                             "--custom-header", "x-a: 4"])
    assert options.custom_headers == (("x-a", "4"), ("x-b", "2:3"))


def test_redirects_name_the_proxy_port_unless_told_otherwise():
    tls = ["--ssl-key", "k.pem", "--ssl-cert", "c.pem", "--port", "8443"]
    assert parse_options([*tls, "--redirect-port", "8080"]).redirect_to == 8443
    options = parse_options([*tls, "--redirect-port", "8080", "--redirect-to", "443"])
    assert (options.redirect_port, options.redirect_to) == (8080, 443)


def test_no_redirect_listener_when_the_proxy_port_is_80_as_in_chp():
    options = parse_options(["--ssl-key", "k.pem", "--ssl-cert", "c.pem", "--port", "80",
                             "--redirect-port", "8080"])
    assert options.redirect_port is None
    assert any("--redirect-port 8080 ignored" in message for _, message in options.notices)


def test_redirect_to_without_redirect_port_is_a_warning():
    notices = parse_options(["--redirect-to", "443"]).notices
    assert notices == [(logging.WARNING, "--redirect-to has no effect without --redirect-port")]


@pytest.mark.parametrize("argv", [
    ["--socket", "/tmp/s"], ["--port", "eighty"], ["--log-level", "loud"],
    ["--ssl-key", "k.pem"], ["--no-such-flag"], ["--proxy-timeout", "-1"],
    ["--custom-header", "X Y: 1"], ["--custom-header", "X-A: a\x01b"],
    ["--custom-header", "X-A: \u20ac"], ["--custom-header", "Content-Length: 0"],
    ["--custom-header", "transfer-encoding: chunked"], ["--redirect-port", "70000"],
])
def test_bad_command_lines_exit_2(argv):
    with pytest.raises(SystemExit) as exited:
        parse_options(argv)
    assert exited.value.code == 2


@pytest.mark.parametrize("argv", [
    ["--custom-header", "no colon"], ["--redirect-port", "8080"],
    ["--error-target", "http://127.0.0.1:1", "--error-path", "/srv/errors"],
])
def test_what_chp_refuses_exits_1(argv):
    with pytest.raises(SystemExit) as exited:
        parse_options(argv)
    assert exited.value.code == 1
