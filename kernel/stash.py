"""Typed per-hub storage for plugins (pytest's Stash): no ad-hoc attributes on the hub.

A plugin makes a key once, at module level, and keeps its state under it::

    culler_task = StashKey[asyncio.Task]()

    @hookimpl
    def hub_startup(hub):
        hub.stash[culler_task] = asyncio.create_task(cull(hub))
"""

from __future__ import annotations

from typing import Any, Generic, TypeVar, cast, overload

T = TypeVar("T")


class StashKey(Generic[T]):
    """A key for ``Stash``; its type parameter is the type of the value."""

    __slots__ = ()


class Stash:
    def __init__(self) -> None:
        self._values: dict[StashKey[Any], object] = {}

    def __setitem__(self, key: StashKey[T], value: T) -> None:
        self._values[key] = value

    def __getitem__(self, key: StashKey[T]) -> T:
        return cast(T, self._values[key])

    @overload
    def get(self, key: StashKey[T], default: None = None) -> T | None: ...
    @overload
    def get(self, key: StashKey[T], default: T) -> T: ...
    def get(self, key: StashKey[T], default: T | None = None) -> T | None:
        return cast("T | None", self._values.get(key, default))

    def setdefault(self, key: StashKey[T], default: T) -> T:
        return cast(T, self._values.setdefault(key, default))

    def __delitem__(self, key: StashKey[T]) -> None:
        del self._values[key]

    def __contains__(self, key: object) -> bool:
        return key in self._values
