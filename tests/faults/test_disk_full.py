"""The disk under the SQLite database fills up: writes fail with a 503 and Retry-After and a
clear line in the log, nothing half-written remains, the database stays sound, and the
hub recovers by itself once space is freed.

The database lives on a small tmpfs the test mounts (root only, as in CI).
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from kernel.testing.hub import running_hub
from kernel.testing.infra import skip_or_fail
from tests.api.helpers import HUB_SECTIONS, api_client


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 4 MiB file system of its own."""
    if os.geteuid() != 0:
        skip_or_fail("mounting a small file system needs root")
    where = tmp_path / "disk"
    where.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m,mode=0700", "tmpfs",
                              str(where)], capture_output=True, text=True)
    if mounted.returncode != 0:
        skip_or_fail(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)


def _fill(disk: Path) -> Path:
    """Take every free byte of ``disk``; the file that holds them."""
    filler = disk / "filler"
    with open(filler, "wb") as out, contextlib.suppress(OSError):
        while True:
            out.write(b"\0" * 65536)
            out.flush()
    return filler


def test_a_full_disk_answers_503_and_the_hub_recovers_when_space_is_freed(tmp_path, small_disk):
    database = small_disk / "hub.sqlite"
    sections = {**HUB_SECTIONS, "hub": {**HUB_SECTIONS["hub"],
                                         "db_url": f"sqlite:///{database}"}}
    with running_hub(tmp_path / "hub", sections) as hub, api_client(hub) as api:
        assert api.post("users/before").status_code == 201
        filler = _fill(small_disk)

        refused = [api.post(f"users/during-{n}") for n in range(5)]
        for answer in refused:
            assert answer.status_code == 503, answer.text
            assert answer.headers["Retry-After"].isdigit()
            assert "database" in answer.json()["message"]
        # Refused means not made, not even in the hub's memory.
        assert api.get("users/during-0").status_code == 404
        # What needs no write still works.
        assert api.get("users/before").status_code == 200
        assert hub.log.count("is unavailable") == 1, "one line for the outage, not one a request"

        filler.unlink()
        assert api.post("users/after").status_code == 201
        assert api.post("users/during-0").status_code == 201
        assert "answers again" in hub.log
        names = {user["name"] for user in api.get("users").json()}
    assert {"before", "after", "during-0"} <= names
    with sqlite3.connect(database) as check:
        assert check.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        stored = {row[0] for row in check.execute("SELECT name FROM users")}
    assert {"before", "after", "during-0"} <= stored
    assert not stored & {f"during-{n}" for n in range(1, 5)}
