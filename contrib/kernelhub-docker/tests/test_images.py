"""An image the engine lacks: pulled when the policy allows (no registry is reachable here,
so the pull fails), refused at once with `pull_policy = never`; either way the spawn fails
with a message that says what to do, and no container is left."""

from __future__ import annotations

import pytest

from kernel.testing.hub import wait_until

pytestmark = pytest.mark.slow

ABSENT = "kernelhub-test/absent:1"


@pytest.mark.parametrize(("policy", "message"), [
    ("never", f"image {ABSENT} is not on the Docker host, and [docker] pull_policy = never"),
    ("ifnotpresent", f"cannot pull image {ABSENT}"),
])
def test_a_missing_image_fails_the_spawn_with_what_to_do(
        make_hub, docker_sections, engine, new_username, policy, message):
    hub = make_hub({**docker_sections, "docker": {**docker_sections["docker"],
                                                  "image": ABSENT, "pull_policy": policy}})
    user = hub.new_user(new_username("ida"))
    answer = hub.api_as(hub.new_token(user)).post(f"users/{user}/server", timeout=120)

    assert answer.status_code == 500
    assert message in answer.json()["message"]
    wait_until(lambda: message in hub.log, timeout=30, what="the spawn's failure logged")
    assert "" not in hub.api.get(f"users/{user}").json()["servers"]
    assert engine.containers.list(all=True, filters={"label": f"kernelhub.user={user}"}) == []
