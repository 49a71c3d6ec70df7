"""Servers: starting and stopping them, named servers (create, rename, remove), the server
model, and the spawn-progress event stream."""

from __future__ import annotations

import json

from tests.api.helpers import assert_error, new_user, start_server, unique, wait_until

SERVER_KEYS = {"name", "display_name", "full_name", "last_activity", "started", "pending",
               "ready", "stopped", "url", "user_options", "progress_url", "full_url",
               "full_progress_url", "state"}


def events(response) -> list[dict]:
    return [json.loads(line[len("data: "):]) for line in response.text.splitlines()
            if line.startswith("data: ")]


def test_starting_the_default_server_answers_201_with_an_empty_body(api):
    name = new_user(api)
    response = api.post(f"users/{name}/server")
    assert response.status_code == 201  # the mock server is up well within 10 s
    assert response.content == b""
    model = api.get(f"users/{name}/server").json()
    assert set(model) == SERVER_KEYS  # the admin holds admin:server_state
    assert model["ready"] is True and model["stopped"] is False and model["pending"] is None
    assert model["url"] == f"/user/{name}/"
    assert model["full_name"] == f"{name}/"
    assert model["progress_url"] == f"/hub/api/users/{name}/server/progress"
    assert model["full_url"] is None and model["full_progress_url"] is None
    assert "pid" in model["state"]
    api.delete(f"users/{name}/server")


def test_starting_a_running_server_is_400(api):
    name = new_user(api)
    start_server(api, name)
    assert_error(api.post(f"users/{name}/server"), 400, "is already running")
    api.delete(f"users/{name}/server")


def test_stopping_answers_204_and_the_server_is_stopped(api):
    name = new_user(api)
    start_server(api, name)
    assert api.delete(f"users/{name}/server").status_code == 204
    model = api.get(f"users/{name}/server").json()
    assert model["stopped"] is True and model["ready"] is False and model["started"] is None
    assert api.get(f"users/{name}").json()["server"] is None


def test_stopping_a_stopped_default_server_is_204(api):
    name = new_user(api)
    assert api.delete(f"users/{name}/server").status_code == 204


def test_the_default_server_exists_before_it_ever_started(api):
    name = new_user(api)
    model = api.get(f"users/{name}/server").json()
    assert model["name"] == "" and model["stopped"] is True and model["started"] is None


def test_the_progress_of_a_server_that_is_not_starting_is_400(api):
    name = new_user(api)
    assert_error(api.get(f"users/{name}/server/progress"), 400, "is not starting")


def test_the_progress_of_a_ready_server_is_one_ready_event(api):
    name = new_user(api)
    start_server(api, name)
    response = api.get(f"users/{name}/server/progress")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    assert response.headers["cache-control"] == "no-cache"
    assert events(response) == [{
        "progress": 100, "ready": True, "message": f"Server ready at /user/{name}/",
        "html_message": f'Server ready at <a href="/user/{name}/">/user/{name}/</a>',
        "url": f"/user/{name}/"}]
    api.delete(f"users/{name}/server")


def test_the_progress_of_a_spawn_ends_with_ready(api):
    name = new_user(api)
    assert api.post(f"users/{name}/servers/watched").status_code in (201, 202)
    stream = events(api.get(f"users/{name}/servers/watched/progress"))
    assert stream[-1]["ready"] is True
    assert stream[-1]["url"] == f"/user/{name}/watched/"
    api.delete(f"users/{name}/servers/watched")


def test_user_options_in_the_body_reach_the_server_model(api):
    name = new_user(api)
    response = api.post(f"users/{name}/server", json={"user_options": {"size": "small"},
                                                       "display_name": "Small one"})
    assert response.status_code == 201
    model = api.get(f"users/{name}/server").json()
    assert model["user_options"] == {"size": "small"}
    assert model["display_name"] == "Small one"
    api.delete(f"users/{name}/server")


def test_a_body_without_the_new_keys_is_the_user_options(api):
    name = new_user(api)
    assert api.post(f"users/{name}/server", json={"size": "large"}).status_code == 201
    assert api.get(f"users/{name}/server").json()["user_options"] == {"size": "large"}
    api.delete(f"users/{name}/server")


def test_options_never_given_are_null_while_stopped_and_empty_while_running(api):
    # JupyterHub stores options only when a start was given some, and a start without
    # them runs with {}; a renamed or stopped server shows what is stored.
    name = new_user(api)
    start_server(api, name)
    assert api.get(f"users/{name}/server").json()["user_options"] == {}
    api.delete(f"users/{name}/server")
    wait_until(lambda: api.get(f"users/{name}/server").json()["stopped"])
    assert api.get(f"users/{name}/server").json()["user_options"] is None
    start_server(api, name, "plain")
    api.delete(f"users/{name}/servers/plain")
    wait_until(lambda: api.get(f"users/{name}/servers/plain").json()["stopped"])
    renamed = api.patch(f"users/{name}/servers/plain", json={"name": "plain2"}).json()
    assert renamed["user_options"] is None
    assert api.put(f"users/{name}/servers/new").json()["user_options"] == {}


def test_a_server_of_an_unknown_user_is_404(api):
    assert_error(api.get("users/nobody-at-all/server"), 404)
    assert_error(api.post("users/nobody-at-all/server"), 404)
    assert_error(api.delete("users/nobody-at-all/server"), 404)


# -- named servers ----------------------------------------------------------------------------


def test_put_creates_a_named_server_without_starting_it(api):
    name = new_user(api)
    response = api.put(f"users/{name}/servers/gpu", json={"display_name": "The GPU",
                                                          "user_options": {"gpus": 1}})
    assert response.status_code == 201
    model = response.json()
    assert model["name"] == "gpu" and model["stopped"] is True
    assert model["display_name"] == "The GPU"
    assert model["user_options"] == {"gpus": 1}
    assert model["url"] == f"/user/{name}/gpu/"
    assert model["progress_url"] == f"/hub/api/users/{name}/servers/gpu/progress"
    assert_error(api.put(f"users/{name}/servers/gpu"), 409)


def test_the_display_name_defaults_to_the_name(api):
    name = new_user(api)
    assert api.put(f"users/{name}/servers/plain").json()["display_name"] == "plain"


def test_put_on_the_default_server_is_409(api):
    name = new_user(api)
    assert_error(api.put(f"users/{name}/servers/"), 409)


def test_server_names_must_be_short_lower_case_slugs(api):
    name = new_user(api)
    for bad in ("Bad_Name", "1abc", "ab--c", "abc-", "a" * 31, "x%20y", "%C3%A9t%C3%A9"):
        assert_error(api.put(f"users/{name}/servers/{bad}"), 400, "Invalid server_name")
        assert_error(api.post(f"users/{name}/servers/{bad}"), 400, "Invalid server_name")
    assert api.get(f"users/{name}", params={"include_stopped_servers": 1}).json()[
        "servers"] == {}


def test_display_names_must_be_printable_strings(api):
    name = new_user(api)
    for bad in (5, "", "tab\there", "x" * 256):
        assert_error(api.put(f"users/{name}/servers/shown",
                             json={"display_name": bad}), 400, "display_name")
    assert_error(api.get(f"users/{name}/servers/shown"), 404)


def test_starting_and_stopping_a_named_server(api):
    name = new_user(api)
    start_server(api, name, "lab")
    assert api.get(f"users/{name}").json()["servers"]["lab"]["ready"] is True
    assert api.get(f"users/{name}").json()["server"] is None  # only the default counts
    assert api.delete(f"users/{name}/servers/lab").status_code == 204
    assert api.get(f"users/{name}/servers/lab").json()["stopped"] is True


def test_renaming_a_stopped_server(api):
    name = new_user(api)
    api.put(f"users/{name}/servers/old")
    response = api.patch(f"users/{name}/servers/old", json={"name": "new"})
    assert response.status_code == 200
    assert response.json()["name"] == "new"
    assert response.json()["full_name"] == f"{name}/new"
    assert_error(api.get(f"users/{name}/servers/old"), 404)


def test_renaming_onto_a_taken_name_is_409(api):
    name = new_user(api)
    api.put(f"users/{name}/servers/one")
    api.put(f"users/{name}/servers/two")
    assert_error(api.patch(f"users/{name}/servers/one", json={"name": "two"}), 409)


def test_changing_a_running_server_is_400(api):
    name = new_user(api)
    start_server(api, name, "busy")
    assert_error(api.patch(f"users/{name}/servers/busy", json={"display_name": "x"}), 400,
                 "active")
    api.delete(f"users/{name}/servers/busy")


def test_a_change_must_name_something_known_to_change(api):
    name = new_user(api)
    api.put(f"users/{name}/servers/fixed")
    assert_error(api.patch(f"users/{name}/servers/fixed", json={}), 400)
    assert_error(api.patch(f"users/{name}/servers/fixed", json={"colour": "red"}), 400)
    assert_error(api.patch(f"users/{name}/servers/fixed", json={"user_options": []}), 400)
    assert_error(api.patch(f"users/{name}/servers/absent", json={"display_name": "x"}), 404)


def test_remove_deletes_a_named_server_record(api):
    name = new_user(api)
    start_server(api, name, "gone")
    response = api.request("DELETE", f"users/{name}/servers/gone", json={"remove": True})
    assert response.status_code == 204
    wait_until(lambda: api.get(f"users/{name}/servers/gone").status_code == 404)


def test_the_default_server_cannot_be_removed(api):
    name = new_user(api)
    assert_error(api.request("DELETE", f"users/{name}/server", json={"remove": True}), 400)


def test_remove_must_be_a_boolean(api):
    name = new_user(api)
    api.put(f"users/{name}/servers/kept")
    assert_error(api.request("DELETE", f"users/{name}/servers/kept",
                             json={"remove": "yes"}), 400)
    assert api.get(f"users/{name}/servers/kept").status_code == 200


def test_stopping_an_unknown_named_server_is_404(api):
    name = new_user(api)
    assert_error(api.delete(f"users/{name}/servers/{unique('x')}"), 404)


def test_the_empty_server_name_is_the_default_server(api):
    name = new_user(api)
    assert api.post(f"users/{name}/servers/").status_code == 201
    assert api.get(f"users/{name}/servers/").json()["name"] == ""
    assert api.get(f"users/{name}").json()["server"] == f"/user/{name}/"
    assert api.delete(f"users/{name}/servers/").status_code == 204


def test_starting_and_stopping_a_server_are_activity_of_its_user(api):
    name = new_user(api)
    assert api.get(f"users/{name}").json()["last_activity"] is None
    start_server(api, name)
    started = api.get(f"users/{name}/server").json()["started"]
    assert api.get(f"users/{name}").json()["last_activity"] >= started
    assert api.delete(f"users/{name}/server").status_code == 204
    stopped = api.get(f"users/{name}").json()["last_activity"]
    assert stopped > started
