"""Keeping data: what a plugin that stores tables builds on (the ``stored_data`` hook).

A plugin declares its peewee models on ``Model`` (the hub binds them to its
database), with the kernel's field types for times and JSON, and answers the
``stored_data`` hook with ``StoredData(models, migrations, load)``; each
``Migration`` brings its tables one version up. A plugin's table may refer to
the kernel's people, servers and groups through ``UserTable``, ``ServerTable``
and ``GroupTable`` (as foreign keys, ``on_delete="CASCADE"``), and to nothing
else of the kernel's schema. ``kernel.api`` re-exports all of it; the sharing
plugin (``plugins/sharing/models.py``) is the worked example.
"""

from __future__ import annotations

from kernel.db import models as orm
from kernel.db.database import Database
from kernel.db.fields import JSONField, UTCDateTimeField
from kernel.db.migrations import Migration
from kernel.db.plugin_data import StoredData

Model = orm.BaseModel
UserTable = orm.User
ServerTable = orm.Server
GroupTable = orm.Group

__all__ = ["Database", "GroupTable", "JSONField", "Migration", "Model", "ServerTable",
           "StoredData", "UTCDateTimeField", "UserTable"]
