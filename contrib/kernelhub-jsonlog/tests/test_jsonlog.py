"""The jsonlog plugin: found through its entry point, configured from hub.ini, one line per event.

The tests use kernelhub's pytest fixtures (``kernel.testing.pytest_plugin``):
``load_hub_ini`` loads a hub.ini through kernelhub's real config loader (which
finds the installed ``jsonlog`` entry point); ``build_hub`` builds a real
``Hub`` from it (its database is a file in a temp folder that these tests never
open), whose hooks ``start_plugins``/``stop_plugins`` run as the hub does, and
``hub.emit`` is how kernelhub itself reports every event; ``jsonlog_hub`` runs a
real hub process for what only a running hub shows.
"""

from __future__ import annotations

import json
import logging
import os
import re
from pathlib import Path, PurePosixPath

import pytest
from kernelhub_jsonlog import EVENTS, INCLUDE_REQUESTS, PATH

from kernel.api import ConfigError, Hub, PluginError
from kernel.testing.hub import wait_until
from kernel.testing.plugin_hooks import start_plugins, stop_plugins

ISO_UTC_MILLISECONDS = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")


def ini(jsonlog: str = "", plugins: str = "jsonlog") -> str:
    """hub.ini enabling ``plugins``, with ``jsonlog`` as its [jsonlog] section."""
    return f"[hub]\nplugins = {plugins}\n" + (f"[jsonlog]\n{jsonlog}" if jsonlog else "")


@pytest.fixture
def load_ini(load_hub_ini):
    """Load a hub.ini enabling ``plugins``, with ``jsonlog`` as its [jsonlog] section."""
    return lambda jsonlog="", plugins="jsonlog": load_hub_ini(ini(jsonlog, plugins))


@pytest.fixture
def jsonlog_hub(build_hub):
    """A real Hub from hub.ini with jsonlog enabled; shut down after the test."""
    return lambda jsonlog="": build_hub(ini(jsonlog))


def read_lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


# -- discovery and configuration ----------------------------------------------------


def test_the_plugin_is_found_through_its_entry_point_and_enabled_by_hub_ini(load_ini):
    info = load_ini().plugins.infos["jsonlog"]
    assert info.active
    assert info.reason == "[hub] plugins"
    assert info.distribution == "kernelhub-jsonlog"
    assert info.entry_point == "kernelhub_jsonlog"
    assert info.hooks == ["declare_options", "hub_shutdown", "hub_startup", "log"]


def test_the_plugin_is_blocked_unless_hub_ini_enables_it(load_ini):
    loaded = load_ini(plugins="")
    assert loaded.plugins.manager.is_blocked("jsonlog")
    assert not loaded.plugins.infos["jsonlog"].active


def test_a_jsonlog_section_without_the_plugin_enabled_says_to_enable_it(load_ini):
    with pytest.raises(ConfigError, match=r"\[jsonlog\]: this section configures plugin "
                                          r"'jsonlog', which is not enabled"):
        load_ini("path = events.jsonl\n", plugins="")


def test_the_options_default_to_every_event_on_standard_error(load_ini):
    config = load_ini().config
    assert config[PATH] == ""
    assert config[EVENTS] == []
    assert config[INCLUDE_REQUESTS] is True


def test_the_options_are_read_from_the_jsonlog_section(load_ini):
    config = load_ini("path = /var/log/hub.jsonl\n"
                      "events = login, spawn.*\n"
                      "include_requests = false\n").config
    assert config[PATH] == "/var/log/hub.jsonl"
    assert config[EVENTS] == ["login", "spawn.*"]
    assert config[INCLUDE_REQUESTS] is False


def test_the_options_are_owned_by_the_plugin(load_ini):
    registry = load_ini().config.registry
    assert [o.name for o in registry.owned_by("jsonlog")] == ["path", "events",
                                                              "include_requests"]


@pytest.mark.parametrize("events", ["request", "login, request"])
def test_request_in_events_is_an_error_pointing_at_include_requests(load_ini, events):
    with pytest.raises(ConfigError, match=r"hub.ini:\d+ \[jsonlog\] events: expected "
                                          r"lifecycle event names \(request records are "
                                          r"switched by include_requests\)"):
        load_ini(f"events = {events}\n")


@pytest.mark.parametrize("events", ["spawn*", "*", "spawn.*.ready", "log in"])
def test_a_malformed_event_name_is_an_error(load_ini, events):
    with pytest.raises(ConfigError, match=r"\[jsonlog\] events: expected a comma-separated "
                                          r"list of event names"):
        load_ini(f"events = {events}\n")


def test_a_misspelled_option_suggests_the_right_one(load_ini):
    with pytest.raises(ConfigError, match=r"\[jsonlog\] include_request: unknown option; "
                                          r"did you mean 'include_requests'\?"):
        load_ini("include_request = false\n")


# -- what a line looks like ---------------------------------------------------------


def test_each_event_is_one_json_line_with_time_and_name_first(jsonlog_hub, tmp_path):
    path = tmp_path / "events.jsonl"
    hub = jsonlog_hub(f"path = {path}\n")
    start_plugins(hub)
    hub.emit("spawn.ready", user="alice", server="", url="http://127.0.0.1:5000",
             duration=1.25)
    [line] = path.read_text(encoding="utf-8").splitlines()
    record = json.loads(line)
    assert list(record) == ["time", "event", "user", "server", "url", "duration"]
    assert ISO_UTC_MILLISECONDS.fullmatch(record["time"])
    assert record == {"time": record["time"], "event": "spawn.ready", "user": "alice",
                      "server": "", "url": "http://127.0.0.1:5000", "duration": 1.25}


def test_lines_are_compact(jsonlog_hub, tmp_path):
    path = tmp_path / "events.jsonl"
    hub = jsonlog_hub(f"path = {path}\n")
    start_plugins(hub)
    hub.emit("login", user="alice")
    assert path.read_text().endswith('"event":"login","user":"alice"}\n')


def test_non_ascii_text_is_written_as_is(jsonlog_hub, tmp_path):
    path = tmp_path / "events.jsonl"
    hub = jsonlog_hub(f"path = {path}\n")
    start_plugins(hub)
    hub.emit("login", user="zoë")
    assert '"user":"zoë"' in path.read_text(encoding="utf-8")


def test_values_json_cannot_represent_are_written_as_text(jsonlog_hub, tmp_path):
    path = tmp_path / "events.jsonl"
    hub = jsonlog_hub(f"path = {path}\n")
    start_plugins(hub)
    hub.emit("stop", user="alice", home=PurePosixPath("/home/alice"), groups={"staff"})
    [record] = read_lines(path)
    assert record["home"] == "/home/alice"
    assert record["groups"] == "{'staff'}"


def test_a_field_cannot_hide_the_time_or_the_event_name(jsonlog_hub, tmp_path):
    path = tmp_path / "events.jsonl"
    hub = jsonlog_hub(f"path = {path}\n")
    start_plugins(hub)
    hub.emit("login", user="alice", event="forged", time="yesterday")
    [record] = read_lines(path)
    assert record["event"] == "login"
    assert ISO_UTC_MILLISECONDS.fullmatch(record["time"])


# -- which events are written -------------------------------------------------------

EVERY_KIND = ["request", "login", "login.failed", "logout", "spawn.requested", "spawn.ready",
              "spawn.failed", "stop", "server.died", "route.added", "route.removed",
              "hub.started", "hub.stopping"]


def emit_every_kind(hub: Hub) -> None:
    for name in EVERY_KIND:
        hub.emit(name)


def test_by_default_every_event_and_every_request_is_written(jsonlog_hub, tmp_path):
    path = tmp_path / "events.jsonl"
    hub = jsonlog_hub(f"path = {path}\n")
    start_plugins(hub)
    emit_every_kind(hub)
    assert [r["event"] for r in read_lines(path)] == EVERY_KIND


def test_events_keeps_the_names_listed_and_families_ending_in_a_wildcard(jsonlog_hub, tmp_path):
    path = tmp_path / "events.jsonl"
    hub = jsonlog_hub(f"path = {path}\nevents = login, spawn.*, route.removed\n")
    start_plugins(hub)
    emit_every_kind(hub)
    hub.emit("spawnish")
    assert [r["event"] for r in read_lines(path)] == [
        "request", "login", "spawn.requested", "spawn.ready", "spawn.failed",
        "route.removed"]


def test_include_requests_false_leaves_out_request_records_only(jsonlog_hub, tmp_path):
    path = tmp_path / "events.jsonl"
    hub = jsonlog_hub(f"path = {path}\ninclude_requests = false\n")
    start_plugins(hub)
    emit_every_kind(hub)
    assert [r["event"] for r in read_lines(path)] == EVERY_KIND[1:]


# -- the file -----------------------------------------------------------------------


def test_an_existing_file_is_appended_to(jsonlog_hub, tmp_path):
    path = tmp_path / "events.jsonl"
    path.write_text('{"event":"from before"}\n')
    hub = jsonlog_hub(f"path = {path}\n")
    start_plugins(hub)
    hub.emit("login", user="alice")
    assert [r["event"] for r in read_lines(path)] == ["from before", "login"]


def test_each_line_reaches_the_file_at_once(jsonlog_hub, tmp_path):
    path = tmp_path / "events.jsonl"
    hub = jsonlog_hub(f"path = {path}\n")
    start_plugins(hub)
    for n in range(3):
        hub.emit("login", user=f"user{n}")
        assert len(read_lines(path)) == n + 1  # read while the hub still has it open


@pytest.mark.parametrize("path", ["", "-"])
def test_an_empty_path_or_a_dash_writes_to_standard_error(jsonlog_hub, capsys, path):
    hub = jsonlog_hub(f"path = {path}\n" if path else "")
    start_plugins(hub)
    hub.emit("login", user="alice")
    err = capsys.readouterr().err
    assert json.loads(err.splitlines()[-1])["user"] == "alice"


def test_a_path_that_cannot_be_opened_stops_the_hub_naming_the_option(jsonlog_hub, tmp_path):
    hub = jsonlog_hub(f"path = {tmp_path}/no-such-folder/events.jsonl\n")
    with pytest.raises(PluginError) as raised:
        start_plugins(hub)
    message = str(raised.value)
    assert message.startswith("plugin 'jsonlog' failed in hook 'hub_startup': ConfigError: ")
    assert re.search(r"hub.ini:\d+ \[jsonlog\] path: cannot append to .*no-such-folder/"
                     r"events.jsonl: No such file or directory", message)


# -- start-up and shutdown ----------------------------------------------------------


def test_events_before_start_up_are_not_written_and_do_not_fail(jsonlog_hub, tmp_path, caplog):
    path = tmp_path / "events.jsonl"
    hub = jsonlog_hub(f"path = {path}\n")
    with caplog.at_level(logging.ERROR):
        hub.emit("route.added", routespec="/", target="http://127.0.0.1:8081")
    assert not path.exists()
    assert caplog.records == []


def test_shutdown_closes_the_file_and_later_events_are_not_written(jsonlog_hub, tmp_path):
    path = tmp_path / "events.jsonl"
    hub = jsonlog_hub(f"path = {path}\n")
    start_plugins(hub)
    hub.emit("hub.stopping")
    stop_plugins(hub)
    hub.emit("stop", user="alice", server="")
    assert [r["event"] for r in read_lines(path)] == ["hub.stopping"]


def test_shutdown_without_start_up_is_harmless(jsonlog_hub, caplog):
    hub = jsonlog_hub()
    with caplog.at_level(logging.ERROR):
        stop_plugins(hub)
        stop_plugins(hub)
    assert caplog.records == []


def test_two_hubs_in_one_process_keep_their_own_files(jsonlog_hub, tmp_path):
    first, second = tmp_path / "first.jsonl", tmp_path / "second.jsonl"
    hubs = [jsonlog_hub(f"path = {first}\n"), jsonlog_hub(f"path = {second}\n")]
    for hub in hubs:
        start_plugins(hub)
    hubs[0].emit("login", user="alice")
    hubs[1].emit("login", user="bob")
    for hub in hubs:
        stop_plugins(hub)
    assert [r["user"] for r in read_lines(first)] == ["alice"]
    assert [r["user"] for r in read_lines(second)] == ["bob"]


# -- in a running hub ---------------------------------------------------------------


def test_a_running_hub_writes_its_requests_and_events(make_hub, tmp_path):
    path = tmp_path / "events.jsonl"
    hub = make_hub(f"[hub]\nplugins = jsonlog\n[jsonlog]\npath = {path}\n")
    hub.new_user("alice")

    def created_request() -> list[dict]:
        return [r for r in read_lines(path) if r["event"] == "request"
                and r["method"] == "POST" and r["path"].endswith("/hub/api/users/alice")]

    # The request line is written once the answer has been sent: wait for it.
    [request] = wait_until(created_request, what="the request line")
    assert request["status"] == 201
    [created] = [r for r in read_lines(path) if r["event"] == "user.created"]
    assert {"event": "user.created", "user": "alice", "admin": False}.items() <= \
        created.items()


# -- write errors -------------------------------------------------------------------


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full (Linux)")
def test_a_failing_write_is_logged_once_and_never_reaches_the_caller(jsonlog_hub, caplog):
    hub = jsonlog_hub("path = /dev/full\n")  # every write fails with "No space left on device"
    start_plugins(hub)
    with caplog.at_level(logging.ERROR):
        for _ in range(3):
            hub.emit("login", user="alice")  # would raise if the failure escaped
        stop_plugins(hub)
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert [r.name for r in errors] == ["kernelhub.jsonlog"]
    assert "Cannot write events to /dev/full" in errors[0].getMessage()
    assert "No space left on device" in errors[0].getMessage()


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full (Linux)")
def test_a_new_outage_after_writing_worked_again_is_logged_again(jsonlog_hub, tmp_path, caplog):
    from kernelhub_jsonlog import lines_key

    hub = jsonlog_hub("path = /dev/full\n")
    start_plugins(hub)
    lines = hub.stash[lines_key]
    full = lines.file
    with caplog.at_level(logging.ERROR), open(tmp_path / "ok.jsonl", "a") as ok:
        hub.emit("login", user="alice")  # fails: reported
        lines.file = ok
        hub.emit("login", user="bob")  # works: the outage is over
        lines.file = full
        hub.emit("login", user="carol")  # fails again: reported again
        hub.emit("login", user="dave")  # the same outage: not reported
    assert len([r for r in caplog.records if r.name == "kernelhub.jsonlog"]) == 2
