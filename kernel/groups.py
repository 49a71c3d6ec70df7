"""Groups of users, in memory and in the database, with their properties.

Each user's ``groups`` set is kept in step with the groups' member lists, so
that permission checks ("is alice in physics?") cost no query.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from kernel.db import models as orm

if TYPE_CHECKING:
    from kernel.db.database import Database
    from kernel.users import User, UserRegistry


@dataclass(eq=False)
class Group:
    id: int
    name: str
    properties: dict[str, Any] = field(default_factory=dict)
    members: set[str] = field(default_factory=set)


class GroupRegistry:
    def __init__(self, db: Database, users: UserRegistry) -> None:
        self.db = db
        self.users = users
        self._groups: dict[str, Group] = {}

    def __iter__(self) -> Iterator[Group]:
        return iter(self._groups.values())

    def __len__(self) -> int:
        return len(self._groups)

    def get(self, name: str) -> Group | None:
        return self._groups.get(name)

    def load(self) -> None:
        """Read groups (call on a database thread, after the users are loaded)."""
        self._groups = {row.name: Group(row.id, row.name, row.properties or {})
                        for row in orm.Group.select().order_by(orm.Group.id)}
        for user in self.users:
            for name in user.groups:
                self._groups[name].members.add(user.name)

    async def add(self, name: str, members: Iterable[User] = ()) -> Group:
        row = await self.db.run(orm.Group.create, name=name)
        group = Group(row.id, name)
        self._groups[name] = group
        await self.add_members(group, members)
        return group

    async def delete(self, group: Group) -> None:
        await self.db.run(orm.Group.delete().where(orm.Group.id == group.id).execute)
        for name in group.members:
            user = self.users.get(name)
            if user is not None:
                user.groups.discard(group.name)
        del self._groups[group.name]

    async def add_members(self, group: Group, users: Iterable[User]) -> None:
        new = [u for u in users if u.name not in group.members]
        if new:
            await self.db.run(_insert_members, group.id, [u.id for u in new])
        for user in new:
            group.members.add(user.name)
            user.groups.add(group.name)

    async def remove_members(self, group: Group, users: Iterable[User]) -> None:
        users = list(users)
        ids = [u.id for u in users if u.name in group.members]
        if ids:
            await self.db.run(orm.UserGroup.delete().where(
                (orm.UserGroup.group == group.id) & orm.UserGroup.user.in_(ids)).execute)
        for user in users:
            group.members.discard(user.name)
            user.groups.discard(group.name)

    async def set_properties(self, group: Group, properties: dict[str, Any]) -> None:
        await self.db.run(orm.Group.update(properties=properties)
                          .where(orm.Group.id == group.id).execute)
        group.properties = properties

    def forget_user(self, user: User) -> None:
        """Drop a deleted user from every group's member list."""
        for name in user.groups:
            group = self._groups.get(name)
            if group is not None:
                group.members.discard(user.name)

    def rename_user(self, old: str, new: str, groups: set[str]) -> None:
        for name in groups:
            group = self._groups.get(name)
            if group is not None:
                group.members.discard(old)
                group.members.add(new)


def _insert_members(group_id: int, user_ids: list[int]) -> None:
    orm.UserGroup.insert_many([{"user": u, "group": group_id} for u in user_ids]
                              ).on_conflict_ignore().execute()
