"""The SQLite database holds login session ids and users' details: its files, the WAL
beside it and its backups are readable by the hub's own account alone."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from kernel.db import schema
from kernel.db.database import Database
from kernel.testing.hub import running_hub
from tests.api.helpers import api_client


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_new_database_and_its_wal_are_the_owner_s_alone(tmp_path):
    old_umask = os.umask(0o022)  # the usual umask: new files readable by everyone
    try:
        with running_hub(tmp_path / "hub") as hub, api_client(hub, None) as anonymous:
            assert anonymous.get("").status_code == 200
            files = sorted((tmp_path / "hub").glob("hub.sqlite*"))
            modes = {f.name: _mode(f) for f in files}
    finally:
        os.umask(old_umask)
    assert {"hub.sqlite", "hub.sqlite-wal", "hub.sqlite-shm"} <= set(modes), modes
    assert set(modes.values()) == {0o600}, modes


def test_an_existing_database_readable_by_others_is_tightened_with_a_warning(tmp_path):
    directory = tmp_path / "hub"
    directory.mkdir()
    database = directory / "hub.sqlite"
    database.touch(mode=0o644)
    database.chmod(0o644)
    with running_hub(directory) as hub:
        assert _mode(database) == 0o600
        assert f"{database} could be read by others (mode 644); it is now 600" in hub.log


def test_a_backup_before_an_upgrade_is_the_owner_s_alone(tmp_path):
    old_umask = os.umask(0o022)
    try:
        db = Database(f"sqlite:///{tmp_path / 'hub.sqlite'}")
        db.call(schema.initialize, db.peewee)
        backup = db.call(schema.backup_sqlite, db.peewee)
        db.close()
    finally:
        os.umask(old_umask)
    assert backup is not None and _mode(backup) == 0o600
