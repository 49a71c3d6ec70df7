"""Plugins' own tables: what a plugin stores, and its schema version, kept per plugin.

A plugin that keeps data answers the ``stored_data`` hook with a ``StoredData``:
its peewee models as they are now, and the migrations that bring older
versions of its tables up to date (version 1 is the plugin's first set of
tables). The kernel records each plugin's version in its
``kernelhub_plugin_schema`` table. As for the kernel's own schema, a plugin
the database has not seen gets its tables at the latest version, a plugin
whose tables are behind stops the hub until ``kernel upgrade-db`` runs its
migrations, and tables ahead of the plugin are refused.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import peewee as pw

from kernel.db import models as orm
from kernel.db.migrations import Migration
from kernel.hookcall import HookRunner

if TYPE_CHECKING:
    import pluggy

    from kernel.hub import Hub


@dataclass(frozen=True)
class StoredData:
    """A plugin's tables: its models (creation order), its migrations (version order), and
    what reads them into memory at start-up."""

    models: Sequence[type[pw.Model]]
    migrations: Sequence[Migration] = field(default_factory=tuple)
    #: Called with the hub on a database thread at start-up, once the tables are checked
    #: and the kernel has read its users and groups, before anyone's scopes are worked out.
    load: Callable[[Hub], None] | None = None

    @property
    def version(self) -> int:
        """The schema version of the models as they are now."""
        return 1 + len(self.migrations)


def collect(pm: pluggy.PluginManager) -> dict[str, StoredData]:
    """What every enabled plugin stores, by plugin name, in call order."""
    return dict(HookRunner(pm).stored_data())


def versions(db: pw.Database) -> dict[str, int]:
    """Each plugin's recorded schema version."""
    return {row.plugin: row.version for row in orm.PluginSchema.select()}


def problems(db: pw.Database, stored: Mapping[str, StoredData]) -> Iterator[str]:
    """What is wrong with each plugin's tables: behind (run the migrations) or ahead."""
    recorded = versions(db)
    for plugin, data in stored.items():
        version = recorded.get(plugin)
        if version is not None and version < data.version:
            yield (f"plugin {plugin!r} keeps its data at schema version {version} and needs "
                   f"version {data.version}")
        elif version is not None and version > data.version:
            yield (f"plugin {plugin!r} keeps its data at schema version {version}, newer "
                   f"than it understands ({data.version}); upgrade the plugin")


def pending(db: pw.Database, stored: Mapping[str, StoredData]) -> list[tuple[str, Migration]]:
    """The migrations to run, as (plugin, migration), plugin by plugin in version order."""
    recorded = versions(db)
    return [(plugin, migration) for plugin, data in stored.items() if plugin in recorded
            for migration in data.migrations if migration.version > recorded[plugin]]


def initialize(db: pw.Database, stored: Mapping[str, StoredData]) -> list[str]:
    """Create the tables of the plugins the database has not seen; their names."""
    recorded = versions(db)
    new = [plugin for plugin in stored if plugin not in recorded]
    for plugin in new:
        with db.atomic():
            db.create_tables(stored[plugin].models, safe=True)
            record(plugin, stored[plugin].version)
    return new


def record(plugin: str, version: int) -> None:
    """Stamp a plugin's schema version."""
    # Delete and insert rather than REPLACE / ON CONFLICT, which engines spell differently.
    orm.PluginSchema.delete().where(orm.PluginSchema.plugin == plugin).execute()
    orm.PluginSchema.create(plugin=plugin, version=version)
