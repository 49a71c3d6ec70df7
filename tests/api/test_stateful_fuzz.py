"""schemathesis' stateful phase against a running hub: chains of calls, never a 5xx.

The published spec (``jupyterhub-rest-api.yml``, patched as test_schema.py
patches it) has no OpenAPI links, so the chains are given here (``LINKS``):
what a call creates (a user, a token, a group, a named server, a share code)
is what the next calls read, change and delete. Hypothesis draws sequences of
such calls; every answer must be other than a 5xx. Bounded: a few scenarios of
a few steps each, well under a minute.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest

from kernel.testing.hub import HubProcess, running_hub
from tests.api.helpers import ADMIN_TOKEN, HUB_SECTIONS, api_client
from tests.conftest import IN_CI

try:
    import hypothesis
    import schemathesis
    from schemathesis.checks import not_a_server_error
except ImportError:
    if IN_CI:
        raise
    pytest.skip("schemathesis is not installed (pip install schemathesis)",
                allow_module_level=True)

from tests.api.test_schema import patched_spec, seed

#: Scenarios, and calls in each.
MAX_SCENARIOS = 30
MAX_STEPS = 8


def _link(operation: str, **parameters: str) -> dict[str, Any]:
    return {"operationId": operation, "parameters": parameters}


USER = {"name": "$request.path.name"}
GROUP = {"name": "$request.path.name"}
SERVER = {"name": "$request.path.name", "server_name": "$request.path.server_name"}
TOKEN = {"name": "$request.path.name", "token_id": "$response.body#/id"}
SHARE_CODE = {"owner": "$request.path.owner", "server_name": "$request.path.server_name",
              "id": "$response.body#/id"}

#: (path, method, status, link name, link): what each creating call leads to.
LINKS: list[tuple[str, str, str, str, dict[str, Any]]] = [
    *(("/users/{name}", "post", "201", f"then-{op}", _link(op, **USER))
      for op in ("get-user", "patch-user", "delete-user", "post-user-tokens",
                 "post-user-server", "delete-user-server", "post-user-activity",
                 "get-user-tokens", "get-user-shared")),
    *(("/users/{name}", "patch", "200", f"then-{op}", _link(op, name="$response.body#/name"))
      for op in ("get-user", "delete-user", "post-user-tokens")),
    *(("/users/{name}/tokens", "post", "201", f"then-{op}", _link(op, **TOKEN))
      for op in ("get-user-token", "delete-user-token")),
    *(("/groups/{name}", "post", "201", f"then-{op}", _link(op, **GROUP))
      for op in ("get-group", "delete-group", "post-group-users", "delete-group-users",
                 "put-group-properties", "get-group-shared")),
    *(("/users/{name}/servers/{server_name}", "put", "201", f"then-{op}", _link(op, **SERVER))
      for op in ("get-user-server-name", "post-user-server-name", "patch-user-server-name",
                 "delete-user-server-name")),
    *(("/users/{name}/servers/{server_name}", "patch", "200", f"then-{op}",
       _link(op, name="$request.path.name", server_name="$response.body#/name"))
      for op in ("get-user-server-name", "delete-user-server-name")),
    *(("/share-codes/{owner}/{server_name}", "post", "200", f"then-{op}",
       _link(op, **SHARE_CODE)) for op in ("delete-share-code",)),
    *(("/share-codes/{owner}/{server_name}", "post", "200", f"then-{op}",
       _link(op, owner="$request.path.owner", server_name="$request.path.server_name"))
      for op in ("get-share-codes-server",)),
    *(("/shares/{owner}/{server_name}", "post", "200", f"then-{op}",
       _link(op, owner="$request.path.owner", server_name="$request.path.server_name"))
      for op in ("get-shares-server", "patch-shares-server", "delete-shares-server")),
]


def linked_spec() -> dict[str, Any]:
    """The patched spec, with LINKS added to the responses they start from."""
    spec = patched_spec()
    for path, method, status, name, link in LINKS:
        responses = spec["paths"][path][method]["responses"]
        response = responses.get(status, responses.get(int(status)))
        if response is None:
            raise AssertionError(f"{method.upper()} {path} has no {status} response to link")
        response.setdefault("links", {})[name] = link
    return spec


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HubProcess]:
    with running_hub(tmp_path_factory.mktemp("stateful-hub"), HUB_SECTIONS) as hub:
        with api_client(hub) as api:
            seed(api)
        yield hub


@pytest.mark.xfail(raises=hypothesis.errors.FlakyStrategyDefinition, strict=False,
                   reason="Hypothesis replays a sequence while the hub's state (and so the "
                          "bundles schemathesis fills from its answers) has moved on; a 5xx "
                          "is a different error and still fails")
def test_chains_of_calls_never_get_a_server_error(hub: HubProcess) -> None:
    schema = schemathesis.openapi.from_dict(linked_spec())
    base_url = f"{hub.hub_url}hub/api"
    answers: Counter[str] = Counter()

    class HubStateMachine(schema.as_state_machine()):  # type: ignore[misc]
        def before_call(self, case: Any) -> None:
            # The spec's security schemes make schemathesis draw an Authorization header
            # of its own; the chains are the admin's.
            case.headers = {**(case.headers or {}), "Authorization": f"token {ADMIN_TOKEN}"}

        def get_call_kwargs(self, case: Any) -> dict[str, Any]:
            return {"base_url": base_url, "timeout": 15,
                    "headers": {"Authorization": f"token {ADMIN_TOKEN}"}}

        def after_call(self, response: Any, case: Any) -> None:
            answers[f"{case.method} {case.path} {response.status_code}"] += 1

        def validate_response(self, response: Any, case: Any, **kwargs: Any) -> None:
            case.validate_response(response, checks=[not_a_server_error],
                                   transport_kwargs=kwargs)

    HubStateMachine.run(settings=hypothesis.settings(
        max_examples=MAX_SCENARIOS, stateful_step_count=MAX_STEPS, deadline=None,
        database=None, phases=[hypothesis.Phase.generate],
        suppress_health_check=list(hypothesis.HealthCheck)))
    print(f"{sum(answers.values())} calls:", *sorted(answers.items()), sep="\n  ")
    # The chains ran: things were made, then read or deleted through the links.
    made = sum(n for key, n in answers.items() if key.split()[0] in ("POST", "PUT")
               and key.endswith((" 200", " 201")))
    followed = sum(n for key, n in answers.items() if key.split()[0] in ("GET", "DELETE",
                                                                          "PATCH"))
    assert made and followed, answers
