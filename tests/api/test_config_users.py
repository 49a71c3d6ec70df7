"""The users hub.ini names exist from the start, as JupyterHub 6.1.1's ``init_users`` makes
them: every name in ``[auth] allowed_users`` and ``admin_users``, before anyone logs in.

Start-up only adds: a name taken out of allowed_users stays a user (and may still log
in, as an existing user), an admin taken out of admin_users stays an admin, unless a
``[role:admin] users`` list says who the admins are (JupyterHub's
``init_role_assignment``).
"""

from __future__ import annotations

from kernel.testing.hub import HubProcess, running_hub
from tests.api.helpers import api_client, start_server

TOKEN = "teachers-token-for-the-config-users-tests"


def sections(allowed: str, admins: str, **extra: dict[str, str]) -> dict[str, dict[str, str]]:
    return {"auth": {"allow_all": "false", "allowed_users": allowed, "admin_users": admins},
            "hub.api_tokens": {TOKEN: "teacher"}, **extra}


def users(hub: HubProcess) -> dict[str, dict]:
    with api_client(hub, TOKEN) as api:
        response = api.get("users")
        assert response.status_code == 200, response.text
        return {model["name"]: model for model in response.json()}


def admins(hub: HubProcess) -> set[str]:
    return {name for name, model in users(hub).items() if model["admin"]}


def test_allowed_and_admin_users_are_users_before_they_log_in(tmp_path):
    config = sections("student1, Student2", "teacher, ta")
    with running_hub(tmp_path / "hub", config) as hub:
        listed = users(hub)
        # Normalised as logins are: Student2 is student2.
        assert set(listed) == {"teacher", "ta", "student1", "student2"}
        assert {name: (m["admin"], sorted(m["roles"])) for name, m in listed.items()} == {
            "teacher": (True, ["admin", "user"]), "ta": (True, ["admin", "user"]),
            "student1": (False, ["user"]), "student2": (False, ["user"])}
        with api_client(hub, TOKEN) as api:
            # The class-list script: tokens and servers for people who never logged in.
            made = api.post("users/student1/tokens", json={"note": "for the course"})
            assert made.status_code == 201, made.text
            with api_client(hub, made.json()["token"]) as student:
                assert student.get("user").json()["name"] == "student1"
            start_server(api, "student2")
            assert api.delete("users/student2/server").status_code in (202, 204)
        # And they log in as themselves.
        assert hub.client().login("student2").status_code == 302


def test_start_up_only_adds(tmp_path):
    with running_hub(tmp_path / "hub", sections("student1, student2", "teacher, ta")) as hub:
        with api_client(hub, TOKEN) as api:
            assert api.post("users/helper", json={"admin": True}).status_code == 201
        assert admins(hub) == {"teacher", "ta", "helper"}
        # student2 and ta leave hub.ini: still users, ta still an admin, as in JupyterHub.
        hub.stop()
        hub.sections["auth"].update(allowed_users="student1", admin_users="teacher")
        hub.start()
        assert {"student1", "student2", "ta", "helper"} <= set(users(hub))
        assert admins(hub) == {"teacher", "ta", "helper"}
        assert hub.client().login("student2").status_code == 302  # an existing user
        assert hub.client().login("stranger").status_code != 302


def test_a_role_admin_users_list_and_admin_users_are_the_whole_list_of_admins(tmp_path):
    with running_hub(tmp_path / "hub", sections("", "teacher, ta")) as hub:
        with api_client(hub, TOKEN) as api:
            assert api.post("users/helper", json={"admin": True}).status_code == 201
        hub.stop()
        hub.sections["auth"]["admin_users"] = "teacher"
        hub.sections["role:admin"] = {"users": "Head"}
        hub.start()
        assert admins(hub) == {"teacher", "head"}
        assert users(hub)["ta"]["roles"] == ["user"]
        assert "Removing admin rights from helper" in hub.log
