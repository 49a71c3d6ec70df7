"""pytest fixtures for testing kernelhub plugins; pytest loads them wherever kernelhub is installed.

    def test_hello_greets_the_tokens_owner(make_hub):
        hub = make_hub({"hub": {"plugins": "hello"}})
        token = hub.new_token(hub.new_user("alice"))
        assert hub.api_as(token).get("hello").json() == {"greeting": "Hello, alice!"}

- ``make_hub(ini)``: a real hub (``kernel serve``) on free ports, stopped after the
  test, with the ``dummy`` authenticator, the ``simple`` spawner running a
  stand-in single-user server, kernel-proxy and SQLite in a temporary folder.
  ``ini`` (hub.ini text, or sections as dicts) is added to those defaults. The
  plugin under test must be installed (``pip install -e .``): the hub finds it
  through its entry point, as in production.
- ``load_hub_ini(ini)``: the same hub.ini loaded and validated in this process,
  for tests of a plugin's options (``.config``) and of whether it is active
  (``.plugins.infos[NAME]``); a mistake raises ``ConfigError``.
- ``unix_user()``: makes a real Unix account (``pwd.struct_passwd``) with a home
  and the password ``kernel.testing.infra.PASSWORD``, removed after the test;
  needs root.
- ``build_hub(ini)``: a ``Hub`` built in this process and not started, for calling
  a plugin's hooks directly; ``start_plugins(hub)`` and ``stop_plugins(hub)``
  (``kernel.testing.plugin_hooks``) run its start-up and shutdown hooks.
"""

from __future__ import annotations

import configparser
import contextlib
import itertools
import pwd
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import pytest

from kernel.testing.hub import (
    HubProcess,
    default_sections,
    free_port,
    merge,
    render_ini,
    running_hub,
)
from kernel.testing.infra import unix_accounts

if TYPE_CHECKING:
    from kernel.config.loader import Loaded
    from kernel.hub import Hub

#: A hub.ini's text, or its sections as ``{"section": {"key": "value"}}``.
Ini = str | dict[str, dict[str, str]]

#: The token of the user ``admin`` in every hub ``make_hub`` starts.
ADMIN_TOKEN = "admin-token-for-plugin-tests"
_ADMIN = {"hub.api_tokens": {ADMIN_TOKEN: "admin"}, "auth": {"admin_users": "admin"}}


def sections_of(ini: Ini) -> dict[str, dict[str, str]]:
    """hub.ini text as sections (keys keep their case: tokens are keys too)."""
    if not isinstance(ini, str):
        return ini
    parser = configparser.ConfigParser(interpolation=None)
    # As configparser documents; its stubs declare optionxform a method, not to be assigned.
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read_string(ini)
    return {name: dict(parser[name]) for name in parser.sections()}


@dataclass
class HubUnderTest:
    """A running hub, its admin's REST API client, and helpers for users and tokens."""

    process: HubProcess
    #: Closes the clients ``api_as`` makes when the hub stops.
    clients: contextlib.ExitStack
    #: The admin's client for ``/hub/api/`` (paths relative to it: ``api.get("users")``).
    api: httpx.Client = field(init=False)

    def __post_init__(self) -> None:
        self.api = self.api_as(ADMIN_TOKEN)

    @property
    def url(self) -> str:
        """The public address, through the proxy (ends with the base URL)."""
        return self.process.url

    @property
    def log(self) -> str:
        """What the hub has logged so far."""
        return self.process.log

    def api_as(self, token: str | None) -> httpx.Client:
        """A client for ``/hub/api/`` authenticated with ``token`` (None: anonymous)."""
        headers = {"Authorization": f"token {token}"} if token else {}
        return self.clients.enter_context(httpx.Client(
            base_url=f"{self.url}hub/api/", headers=headers, timeout=30))

    def new_user(self, name: str, *, admin: bool = False) -> str:
        """Create the user ``name`` through the REST API; the name."""
        response = self.api.post(f"users/{name}", json={"admin": admin})
        assert response.status_code == 201, response.text
        return name

    def new_token(self, user: str, *, scopes: list[str] | None = None) -> str:
        """A new API token of ``user``: with ``scopes``, or all of the user's permissions."""
        body = {"scopes": scopes} if scopes is not None else {}
        response = self.api.post(f"users/{user}/tokens", json=body)
        assert response.status_code == 201, response.text
        return response.json()["token"]


@pytest.fixture
def make_hub(tmp_path: Path) -> Iterator[Callable[[Ini], HubUnderTest]]:
    """Start a real hub from ``ini`` (on top of the test defaults); stopped after the test."""
    numbers = itertools.count()
    with contextlib.ExitStack() as running:

        def make(ini: Ini = "") -> HubUnderTest:
            sections = merge(_ADMIN, sections_of(ini))
            process = running.enter_context(
                running_hub(tmp_path / f"hub-{next(numbers)}", sections))
            return HubUnderTest(process, running.enter_context(contextlib.ExitStack()))

        yield make


@pytest.fixture
def load_hub_ini(tmp_path: Path) -> Callable[[Ini], Loaded]:
    """Load and validate ``ini`` (on top of the test defaults) in this process."""
    # Imported here: pytest loads this module in every run, wherever kernelhub is installed.
    from kernel.config.loader import load

    numbers = itertools.count()

    def load_ini(ini: Ini = "") -> Loaded:
        folder = tmp_path / f"hub-{next(numbers)}"
        folder.mkdir()
        ports = HubProcess(folder, free_port(), free_port(), free_port())
        text = render_ini(merge(default_sections(folder, ports), sections_of(ini)))
        return load(folder / "hub.ini", text=text, environ={})

    return load_ini


@pytest.fixture
def build_hub(load_hub_ini: Callable[[Ini], Loaded]) -> Iterator[Callable[[Ini], Hub]]:
    """Build a ``Hub`` from ``ini`` in this process, not started; shut down after the test."""
    from kernel.hub import Hub
    from kernel.testing.plugin_hooks import stop_plugins

    hubs: list[Hub] = []

    def build(ini: Ini = "") -> Hub:
        hubs.append(Hub(load_hub_ini(ini)))
        return hubs[-1]

    yield build
    for hub in hubs:
        stop_plugins(hub)
        hub.db.close()


@pytest.fixture
def unix_user() -> Iterator[Callable[[], pwd.struct_passwd]]:
    """Makes real Unix accounts for the test; they are removed after it (needs root)."""
    with unix_accounts() as make:
        yield make
