"""The spawn page's options form, posted without a browser: text fields become the
spawner's form (each field a list of its values); a file in the form is refused with a 400
that says so, rather than reaching the spawner as something that is not text."""

from __future__ import annotations

import pytest

from kernel.testing.hub import HubClient
from tests.pages.conftest import admin_api, module_hub, sections

OPTIONS_FORM = """
<label for="flavour">Flavour</label>
<input id="flavour" name="flavour">
<label for="notes">Notes</label>
<input id="notes" name="notes" type="file">
"""


@pytest.fixture(scope="module")
def hub(tmp_path_factory):
    yield from module_hub(tmp_path_factory, sections(
        hub={"redirect_to_server": "false"},
        spawner={"options_form": OPTIONS_FORM.strip().replace("\n", "\n  ")}))


def logged_in(hub, name: str) -> tuple[HubClient, str]:
    """A client logged in as ``name``, and the XSRF token of its spawn page's form."""
    client = hub.client()
    assert client.login(name).status_code in (200, 302)
    return client, client.xsrf("hub/spawn")


def test_a_file_in_the_spawn_form_is_refused_with_a_400_saying_so(hub):
    client, xsrf = logged_in(hub, "fiona")
    answer = client.post("hub/spawn", data={"flavour": "large", "_xsrf": xsrf},
                         files={"notes": ("notes.txt", b"some notes", "text/plain")})
    assert answer.status_code == 400, answer.text
    assert "notes" in answer.text and "file" in answer.text
    with admin_api(hub) as api:
        assert api.get("/users/fiona").json()["servers"] == {}


def test_the_text_fields_of_the_spawn_form_reach_the_spawner_as_lists(hub):
    client, xsrf = logged_in(hub, "tom")
    answer = client.post("hub/spawn", data={"flavour": "large", "_xsrf": xsrf})
    assert answer.status_code in (200, 302), answer.text
    with admin_api(hub) as api:
        server = api.get("/users/tom/server").json()
    assert server["user_options"] == {"flavour": ["large"]}
