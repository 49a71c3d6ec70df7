"""The validated configuration a hub runs on: typed values by section.

``config[KEY]`` reads one option by its typed key (the ``Option`` that
declared it) and has the declared type; ``config.hub.port``,
``config.section("pam").service`` and ``config.collection("service")`` (the
``[service:NAME]`` sections, each read with ``section[KEY]``) read it untyped.
Every declared option has a value (its default when hub.ini leaves it out);
``is_set`` tells the two apart.
"""

from __future__ import annotations

from typing import Any, TypeVar, overload

from kernel.config.errors import ConfigError
from kernel.config.ini import RawIni
from kernel.config.options import Option, OptionRegistry

T = TypeVar("T")


class Section:
    """The values of one section; attribute and item access."""

    def __init__(self, name: str, values: dict[str, Any], explicit: set[str]) -> None:
        self._name = name
        self._values = values
        self._explicit = explicit

    def __getattr__(self, key: str) -> Any:
        try:
            return self._values[key]
        except KeyError:
            raise AttributeError(f"no option [{self._name}] {key} is declared "
                                 "(is the plugin that owns it enabled?)") from None

    @overload
    def __getitem__(self, key: str) -> Any: ...

    @overload
    def __getitem__(self, key: Option[T]) -> T: ...

    def __getitem__(self, key: str | Option[Any]) -> Any:
        return self.__getattr__(key if isinstance(key, str) else key.name)

    def __contains__(self, key: str) -> bool:
        return key in self._values

    def get(self, key: str, default: Any = None) -> Any:
        return self._values.get(key, default)

    def is_set(self, key: str) -> bool:
        """True when hub.ini gives this key (or a deprecated alias of it) a value."""
        return key in self._explicit

    def as_dict(self) -> dict[str, Any]:
        return dict(self._values)

    def __repr__(self) -> str:
        return f"<Section [{self._name}] {self._values!r}>"


class Config:
    """Typed values of every declared option, plus where each came from."""

    def __init__(
        self,
        registry: OptionRegistry,
        sections: dict[str, Section],
        collections: dict[str, dict[str, Section]],
        raw: RawIni,
        warnings: list[str],
    ) -> None:
        self.registry = registry
        self._sections = sections
        self._collections = collections
        self._raw = raw
        #: Messages about deprecated or ignored options, logged at start-up.
        self.warnings = warnings

    @property
    def file(self) -> str | None:
        return self._raw.file

    def __getitem__(self, key: Option[T]) -> T:
        """The value of a declared option, typed as it was declared."""
        if key.is_collection:
            raise TypeError(f"{key.key} is one per [{key.section[:-2]}:NAME] section: read it "
                            f"from config.collection({key.section[:-2]!r})[NAME]")
        value: T = self.section(key.section)[key.name]
        return value

    def section(self, name: str) -> Section:
        try:
            return self._sections[name]
        except KeyError:
            raise KeyError(f"no section [{name}] is declared") from None

    @property
    def hub(self) -> Section:
        return self._sections["hub"]

    @property
    def auth(self) -> Section:
        return self._sections["auth"]

    @property
    def spawner(self) -> Section:
        return self._sections["spawner"]

    @property
    def proxy(self) -> Section:
        return self._sections["proxy"]

    def collection(self, kind: str) -> dict[str, Section]:
        """The ``[kind:NAME]`` sections, by NAME, in file order."""
        return self._collections.get(kind, {})

    def error(self, message: str, section: str, key: str | None = None) -> ConfigError:
        """A ConfigError about an option, pointing at its line in hub.ini when it was set."""
        return self._raw.error(message, section, key)
