"""Option declarations: every hub.ini key has a type, a default, a help text and an owner.

The kernel declares the options it reads itself; every plugin declares its own
through the ``declare_options`` hook. Validation, ``kernel generate-config``
and ``kernel plugins`` all read this one registry, so the documentation of an
option cannot drift from the code that reads it.

An ``Option`` is also the typed key its value is read with:
``hub.config[SERVICE]`` is a ``str`` when ``SERVICE`` was declared with
``Text()``. A plugin builds its keys at module level and declares them in its
``declare_options`` hook::

    SERVICE = Option("pam", "service", Text(), "login", "The PAM service.")

    @hookimpl
    def declare_options(options):
        options.declare(SERVICE)
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Any, Generic, TypeVar, overload

from kernel.config.errors import ConfigError
from kernel.config.types import OptionType, Text

T = TypeVar("T")
#: A key only hands its value out, so ``Option[list[str]]`` is an ``Option[Iterable[str]]``.
T_co = TypeVar("T_co", covariant=True)

#: Sections holding one item per section: ``[service:NAME]``, ``[role:NAME]``, ``[group:NAME]``.
COLLECTION_SEPARATOR = ":"
#: A table option ``[hub] api_tokens`` is the section ``[hub.api_tokens]``.
TABLE_SEPARATOR = "."


@dataclass(frozen=True)
class Option(Generic[T_co]):
    """One declared hub.ini option, and the typed key that reads its value."""

    section: str
    name: str
    type: OptionType[T_co]
    default: Any
    help: str
    #: The plugin that declared it ("kernel" for the kernel's own).
    owner: str = "kernel"
    #: Setting it logs a warning with this advice ("use [auth] admin_users").
    deprecated: str | None = None
    #: Where the value of a deprecated option goes: (section, name).
    renamed_to: tuple[str, str] | None = None
    #: Why it cannot be set in kernelhub; setting it is an error naming this.
    unavailable: str | None = None

    @property
    def key(self) -> str:
        return f"[{self.section}] {self.name}"

    @property
    def is_collection(self) -> bool:
        return self.section.endswith(COLLECTION_SEPARATOR + "*")


class OptionRegistry:
    """All declared options, keyed by (section, name).

    Sections are the shared ones (``hub``, ``auth``, ``spawner``, ``proxy``),
    one per plugin (named after the plugin), and collections, declared with
    the section ``"service:*"`` and written in hub.ini as ``[service:NAME]``.
    """

    def __init__(self) -> None:
        self._options: dict[tuple[str, str], Option[Any]] = {}
        self._owner = "kernel"

    @contextmanager
    def declaring(self, owner: str) -> Iterator[OptionRegistry]:
        """Attribute the declarations made inside the block to ``owner``."""
        previous, self._owner = self._owner, owner
        try:
            yield self
        finally:
            self._owner = previous

    @overload
    def add(self, section: str, name: str, type: None = None, default: Any = None,
            help: str = "", *, deprecated: str | None = None,
            renamed_to: tuple[str, str] | None = None,
            unavailable: str | None = None) -> Option[str]: ...

    @overload
    def add(self, section: str, name: str, type: OptionType[T], default: Any = None,
            help: str = "", *, deprecated: str | None = None,
            renamed_to: tuple[str, str] | None = None,
            unavailable: str | None = None) -> Option[T]: ...

    def add(
        self,
        section: str,
        name: str,
        type: OptionType[Any] | None = None,
        default: Any = None,
        help: str = "",
        *,
        deprecated: str | None = None,
        renamed_to: tuple[str, str] | None = None,
        unavailable: str | None = None,
    ) -> Option[Any]:
        """Declare one option and return its typed key; declaring the same (section,
        name) twice is an error."""
        option = Option(
            section=section,
            name=name,
            type=type or Text(),
            default=default,
            help=help,
            deprecated=deprecated,
            renamed_to=renamed_to,
            unavailable=unavailable,
        )
        return self._register(option)

    def declare(self, *options: Option[Any]) -> None:
        """Declare options built beforehand (a plugin's module-level keys)."""
        for option in options:
            self._register(option)

    def _register(self, option: Option[T]) -> Option[T]:
        option = replace(option, help=option.help.strip(), owner=self._owner)
        existing = self._options.get((option.section, option.name))
        if existing is not None:
            raise ConfigError(
                f"option {option.key} is declared by both {existing.owner!r} and "
                f"{option.owner!r}; only one plugin may own an option"
            )
        self._options[(option.section, option.name)] = option
        return option

    def get(self, section: str, name: str) -> Option[Any] | None:
        return self._options.get((section, name))

    def __iter__(self) -> Iterator[Option[Any]]:
        return iter(self._options.values())

    def __len__(self) -> int:
        return len(self._options)

    def sections(self) -> list[str]:
        """Declared section names in declaration order (collections as ``kind:*``)."""
        return list(dict.fromkeys(section for section, _ in self._options))

    def in_section(self, section: str) -> list[Option[Any]]:
        return [o for (s, _), o in self._options.items() if s == section]

    def owned_by(self, owner: str) -> list[Option[Any]]:
        return [o for o in self._options.values() if o.owner == owner]

    def collection_kinds(self) -> list[str]:
        """The kinds of ``[kind:NAME]`` sections declared, e.g. ``["service", "role"]``."""
        return [s[:-2] for s in self.sections() if s.endswith(COLLECTION_SEPARATOR + "*")]
