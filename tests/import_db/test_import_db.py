"""`kernel import-db` against the real JupyterHub 6.1.1, on SQLite, PostgreSQL and MariaDB.

JupyterHub is started on a fresh database, filled through its own REST API
(users, groups with properties, a custom role, user and service tokens with
scopes and expiry, named and default servers started then stopped, shares),
its answers recorded, and stopped. ``kernel import-db`` moves the database
into a fresh kernelhub database on the same engine; kernelhub then starts on
it and must answer the same GETs the same (``comparable`` drops the
documented differences) and accept every token JupyterHub made, with the
same scopes.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from kernel.testing.hub import HubProcess, running_hub
from kernel.testing.infra import singleuser_venv_file, skip_or_fail
from tests.db.conftest import _mysql_database, _postgres_database
from tests.import_db.jupyterhub import (
    BOT_TOKEN,
    COMPARED,
    ROBOT_TOKEN,
    JupyterHub,
    Recorded,
)

pytestmark = pytest.mark.slow

#: Keys whose values differ by design (docs/migrating.md, "What differs after the move").
DIFFERENT = {
    # Ids are the new database's; tokens keep their notes, scopes and times.
    "id",
    # kernelhub answers the pagination links of its own address.
    "next",
}


def comparable(value: Any) -> Any:
    """``value`` without the keys that differ by design, lists in a stable order."""
    if isinstance(value, dict):
        return {k: comparable(v) for k, v in value.items() if k not in DIFFERENT}
    if isinstance(value, list):
        return sorted((comparable(v) for v in value), key=repr)
    return value


@dataclass
class Moved:
    recorded: Recorded
    kernelhub: HubProcess
    import_output: str


def _databases(engine: str, tmp_path: Path, name: str) -> Iterator[str]:
    if engine == "sqlite":
        yield f"sqlite:///{tmp_path / f'{name}.sqlite'}"
    elif engine == "postgres":
        yield from _postgres_database()
    else:
        yield from _mysql_database()


def _chp() -> Path:
    chp = os.environ.get("KERNELHUB_CHP", "")
    if not os.access(chp, os.X_OK):
        skip_or_fail("KERNELHUB_CHP does not name configurable-http-proxy: `npm install "
                     "configurable-http-proxy` and set it to node_modules/.bin/"
                     "configurable-http-proxy")
    return Path(chp)


@pytest.fixture(scope="module", params=["sqlite", "postgres", "mysql"])
def moved(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
          ) -> Iterator[Moved]:
    engine = request.param
    tmp_path = tmp_path_factory.mktemp(f"import-{engine}")
    venv = singleuser_venv_file("jupyterhub").parent.parent
    source_urls = _databases(engine, tmp_path, "jupyterhub")
    target_urls = _databases(engine, tmp_path, "kernelhub")
    source, target = next(source_urls), next(target_urls)
    jupyterhub = JupyterHub(venv, _chp(), tmp_path / "jupyterhub", source)
    try:
        tokens = jupyterhub.populate()
        recorded = jupyterhub.record(tokens)
    finally:
        jupyterhub.stop()
    sections = {"hub": {"db_url": target, "allow_named_servers": "true"},
                "service:robot": {"api_token": ROBOT_TOKEN}}
    directory = tmp_path / "kernelhub"
    directory.mkdir()
    ini = directory / "import.ini"
    ini.write_text(f"[hub]\ndb_url = {target}\n[service:robot]\napi_token = {ROBOT_TOKEN}\n")
    done = subprocess.run([sys.executable, "-m", "kernel", "import-db", "-c", str(ini), source],
                          capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    with running_hub(directory, sections, timeout=90) as kernelhub:
        yield Moved(recorded, kernelhub, done.stdout)
    for urls in (source_urls, target_urls):
        urls.close()


def kernelhub_get(moved: Moved, path: str, token: str = ROBOT_TOKEN) -> Any:
    response = httpx.get(f"{moved.kernelhub.url}hub/api/{path}", timeout=30,
                         headers={"Authorization": f"token {token}"})
    assert response.status_code == 200, f"{path}: {response.status_code} {response.text}"
    return response.json()


@pytest.mark.parametrize("path", COMPARED)
def test_kernelhub_answers_as_jupyterhub_did(moved: Moved, path: str) -> None:
    assert comparable(kernelhub_get(moved, path)) == comparable(moved.recorded.answers[path])


def test_every_jupyterhub_token_works_with_the_same_scopes(moved: Moved) -> None:
    for token, answered in moved.recorded.tokens.items():
        model = kernelhub_get(moved, "user", token)
        assert (model["name"], model["kind"]) == (answered["name"], answered["kind"])
        assert sorted(model["scopes"]) == sorted(answered["scopes"])


def test_the_summary_names_what_was_left_out(moved: Moved) -> None:
    assert "API tokens" in moved.import_output
    # The robot's config token is hub.ini's; JupyterHub's login tokens are OAuth ones.
    assert "left out" in moved.import_output


def test_a_second_import_is_refused_without_merge(moved: Moved, tmp_path: Path) -> None:
    ini = moved.kernelhub.directory / "import.ini"
    done = subprocess.run([sys.executable, "-m", "kernel", "import-db", "-c", str(ini),
                           "sqlite:///nowhere.sqlite"], capture_output=True, text=True,
                          timeout=120, check=False, cwd=tmp_path)
    assert done.returncode != 0
    assert "nowhere.sqlite: no such file" in done.stderr


def test_the_service_made_through_the_api_keeps_its_token(moved: Moved) -> None:
    assert kernelhub_get(moved, "user", BOT_TOKEN)["name"] == "bot"
