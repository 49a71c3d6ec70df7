"""Users choose their image from ``[docker] allowed_images`` in the options form; an image
outside the list is refused with a 400 that says which ones are allowed."""

from __future__ import annotations

import re

import pytest
from docker_steps import container_of, run_in, spawn

from kernel.testing.hub import wait_until

pytestmark = pytest.mark.slow


@pytest.fixture
def two_image_sections(docker_sections, local_image, flavoured_image):
    return {**docker_sections, "docker": {**docker_sections["docker"],
                                          "allowed_images": f"{local_image}, {flavoured_image}"}}


def test_two_users_choose_different_images_in_the_options_form(
        make_hub, two_image_sections, engine, local_image, flavoured_image, new_username):
    hub = make_hub(two_image_sections)
    choices = {hub.new_user(new_username("plain")): local_image,
               hub.new_user(new_username("flavour")): flavoured_image}
    for user, image in choices.items():
        client = hub.process.client()
        client.login(user)
        page = client.get(f"hub/spawn/{user}").text
        assert '<select name="image"' in page
        assert re.findall(r'<option value="([^"]+)"', page) == [local_image, flavoured_image]
        xsrf = re.search(r'name="_xsrf" value="([^"]+)"', page).group(1)
        client.post(f"hub/spawn/{user}", data={"image": image, "_xsrf": xsrf})
        wait_until(lambda u=user: hub.api.get(f"users/{u}").json()["servers"].get(
            "", {}).get("ready"), timeout=180, what=f"{user}'s server ready")

    for user, image in choices.items():
        container = container_of(engine, user)
        assert container.attrs["Config"]["Image"] == image
        assert hub.api.get(f"users/{user}").json()["servers"][""]["user_options"] == \
            {"image": image}
    flavoured = next(u for u, image in choices.items() if image == flavoured_image)
    assert run_in(container_of(engine, flavoured), "cat /etc/kernelhub-flavour") == "flavoured"


def test_an_image_outside_the_allowed_list_is_refused_with_a_400(
        make_hub, two_image_sections, engine, local_image, new_username):
    hub = make_hub(two_image_sections)
    user = hub.new_user(new_username("mallory"))
    api = hub.api_as(hub.new_token(user))

    refused = api.post(f"users/{user}/server", json={"image": "evil/miner:latest"})
    assert refused.status_code == 400
    assert "Image 'evil/miner:latest' is not allowed here" in refused.json()["message"]
    assert local_image in refused.json()["message"]
    assert engine.containers.list(all=True, filters={"label": f"kernelhub.user={user}"}) == []

    spawn(api, user, {"image": local_image})  # an allowed one still starts
