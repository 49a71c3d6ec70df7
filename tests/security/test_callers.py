"""Who a request comes from decides what it may reach: a service's token is a caller of the
REST API, but to the pages a service is nobody (they are for people); and a form whose XSRF
field is a file carries no XSRF token."""

from __future__ import annotations

import httpx

from kernel.testing.hub import HubProcess
from tests.api import helpers

SERVICE_TOKEN = "grades-service-token-0123456789"

HUB_SECTIONS = {**helpers.HUB_SECTIONS,
                "service:grades": {"url": "http://127.0.0.1:9", "api_token": SERVICE_TOKEN}}


def test_a_service_token_is_the_service_to_the_rest_api(hub: HubProcess):
    with helpers.api_client(hub, SERVICE_TOKEN) as service:
        answer = service.get("/user")
    assert answer.status_code == 200, answer.text
    assert answer.json()["kind"] == "service" and answer.json()["name"] == "grades"


def test_a_service_token_opens_no_page_it_is_sent_to_log_in(hub: HubProcess):
    answer = httpx.get(f"{hub.url}hub/home", timeout=30,
                       headers={"Authorization": f"token {SERVICE_TOKEN}"})
    assert answer.status_code == 302
    assert answer.headers["location"].startswith("/hub/login?next=")


def test_a_file_in_the_xsrf_field_counts_as_no_xsrf_token(hub: HubProcess, api):
    client = hub.client()
    client.login("fern")
    token = client.xsrf("hub/home")
    # The right token, sent as a file: it is not read as the token, and nothing starts.
    answer = client.post("hub/spawn", files={"_xsrf": ("xsrf.txt", token.encode())})
    assert answer.status_code == 403
    assert "&#39;_xsrf&#39; argument missing from POST" in answer.text  # HTML-escaped
    assert api.get("/users/fern").json()["servers"] == {}
