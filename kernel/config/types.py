"""Option types: how a hub.ini string becomes a typed value, strictly.

Each type parses the raw text of one value and raises ``ValueError`` with a
message that completes the sentence "expected ..., got ..." when the text is
not a valid value. ``format`` turns a value back into hub.ini text, for
``kernel generate-config``. Each type is generic in the value it parses to
(``Integer`` is an ``OptionType[int]``), so an option declared with it is a
typed key: ``hub.config[KEY]`` has the declared type.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import shlex
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar, cast

#: Covariant, so that a key of a ``list[str]`` option is also a key of an ``Iterable[str]``
#: one: a value read where a wider type is expected still type-checks.
T_co = TypeVar("T_co", covariant=True)


class OptionType(Generic[T_co]):
    """Base for option types; subclasses set ``name`` and override ``parse``/``format``."""

    #: How the type is named in errors and in generate-config's comments.
    name = "text"
    #: True when the value is a whole section of ``key = value`` lines.
    is_table = False

    def parse(self, raw: str) -> T_co:
        return cast(T_co, raw)

    def format(self, value: Any) -> str:
        return "" if value is None else str(value)

    def fail(self, raw: str) -> ValueError:
        return ValueError(f'expected {self.expectation()}, got "{raw}"')

    def expectation(self) -> str:
        return self.name


class Text(OptionType[str]):
    name = "text"


class Boolean(OptionType[bool]):
    name = "true or false"
    _values = {"true": True, "1": True, "false": False, "0": False}

    def parse(self, raw: str) -> bool:
        try:
            return self._values[raw.strip().lower()]
        except KeyError:
            raise self.fail(raw) from None

    def format(self, value: Any) -> str:
        return "true" if value else "false"


@dataclass(frozen=True)
class Integer(OptionType[int]):
    minimum: int | None = None
    name = "a whole number"

    def parse(self, raw: str) -> int:
        try:
            value = int(raw.strip())
        except ValueError:
            raise self.fail(raw) from None
        if self.minimum is not None and value < self.minimum:
            raise self.fail(raw)
        return value

    def expectation(self) -> str:
        if self.minimum is None:
            return self.name
        return f"a whole number of at least {self.minimum}"


@dataclass(frozen=True)
class Number(OptionType[float]):
    minimum: float | None = None
    name = "a number"

    def parse(self, raw: str) -> float:
        try:
            value = float(raw.strip())
        except ValueError:
            raise self.fail(raw) from None
        if value != value or (self.minimum is not None and value < self.minimum):  # NaN too
            raise self.fail(raw)
        return value

    def expectation(self) -> str:
        if self.minimum is None:
            return self.name
        return f"a number of at least {self.minimum:g}"

    def format(self, value: Any) -> str:
        return f"{value:g}"


class ByteSize(OptionType[int | None]):
    """A number of bytes, as JupyterHub's ``ByteSpecification``: ``2G``, ``1.5G``, ``512M``.

    The suffixes K, M, G and T are powers of 1024; a plain whole number is bytes.
    Empty means "not set" (None).
    """

    name = "a size in bytes such as 512M, 2G or 1.5T (K, M, G, T: powers of 1024)"
    UNITS = {"K": 1024, "M": 1024**2, "G": 1024**3, "T": 1024**4}

    def parse(self, raw: str) -> int | None:
        value = raw.strip()
        if not value:
            return None
        number, unit = (value[:-1], self.UNITS[value[-1]]) if value[-1] in self.UNITS \
            else (value, 1)
        try:
            size = float(number) if unit > 1 else int(number)
        except ValueError:
            raise self.fail(raw) from None
        if not size >= 0 or size == float("inf"):  # NaN, negative, infinite
            raise self.fail(raw)
        return int(size * unit)

    def format(self, value: Any) -> str:
        if value is None:
            return ""
        for suffix, unit in reversed(self.UNITS.items()):
            if value and value % unit == 0:
                return f"{value // unit}{suffix}"
        return str(value)


class TextList(OptionType[list[str]]):
    """Comma- or newline-separated values; blanks are dropped."""

    name = "a comma-separated list"

    def parse(self, raw: str) -> list[str]:
        return [item.strip() for item in raw.replace("\n", ",").split(",") if item.strip()]

    def format(self, value: Any) -> str:
        return ", ".join(value)


class Command(OptionType[list[str]]):
    """A command line, split as a POSIX shell would."""

    name = "a command line"

    def parse(self, raw: str) -> list[str]:
        try:
            return shlex.split(raw)
        except ValueError as e:
            raise ValueError(f'expected a command line ({e}), got "{raw}"') from None

    def format(self, value: Any) -> str:
        return shlex.join(value)


@dataclass(frozen=True)
class Choice(OptionType[str]):
    choices: tuple[str, ...] = ()
    name = "one of"

    def parse(self, raw: str) -> str:
        value = raw.strip()
        if value not in self.choices:
            raise self.fail(raw)
        return value

    def expectation(self) -> str:
        return "one of " + ", ".join(self.choices)


class LogLevel(OptionType[int]):
    """A logging level by name (``INFO``) or number (``20``)."""

    name = "a log level (DEBUG, INFO, WARNING, ERROR, CRITICAL or a number)"

    def parse(self, raw: str) -> int:
        value = raw.strip()
        if value.isdigit():
            return int(value)
        level = logging.getLevelNamesMapping().get(value.upper())
        if level is None:
            raise self.fail(raw)
        return level

    def format(self, value: Any) -> str:
        return logging.getLevelName(value)


class URLPrefix(OptionType[str]):
    """A URL path prefix; always normalised to start and end with ``/``."""

    name = "a URL path such as /jupyter/"

    def parse(self, raw: str) -> str:
        value = raw.strip()
        if any(c in value for c in "?#\\ ") or "://" in value:
            raise self.fail(raw)
        return "/" + value.strip("/") + "/" if value.strip("/") else "/"


class URL(OptionType[str]):
    """An absolute http(s) URL, or empty for "not set".

    JupyterHub also takes a Unix socket (``http+unix://``, or the deprecated
    ``unix+http://``) for some of its URLs; kernelhub listens and connects over
    TCP only, so such a URL is refused here, before anything starts.
    """

    name = "an http:// or https:// URL"

    def parse(self, raw: str) -> str:
        value = raw.strip()
        if value.lower().startswith(("http+unix://", "unix+http://")):
            raise ValueError(f'a Unix socket cannot be used: kernelhub listens and connects '
                             f'over TCP only; give an http:// or https:// URL such as '
                             f'http://127.0.0.1:8081 (and keep other users off the port with '
                             f'a firewall), got "{raw}"')
        if value and not value.startswith(("http://", "https://")):
            raise self.fail(raw)
        return value


class IPNetworks(OptionType[list[str]]):
    """A list of IP addresses or networks (``10.0.0.0/8``)."""

    name = "a comma-separated list of IP addresses or networks"

    def parse(self, raw: str) -> list[str]:
        items = TextList().parse(raw)
        for item in items:
            try:
                ipaddress.ip_network(item, strict=False)
            except ValueError:
                raise ValueError(
                    f'expected IP addresses or networks, got "{item}" in "{raw}"'
                ) from None
        return items

    def format(self, value: Any) -> str:
        return ", ".join(value)


class Secret(OptionType[bytes]):
    """A secret given as hex (as JupyterHub's cookie_secret) or plain text."""

    name = "a secret (hex digits, or ${ENV_VAR})"

    def parse(self, raw: str) -> bytes:
        value = raw.strip()
        try:
            return bytes.fromhex(value)
        except ValueError:
            return value.encode()

    def format(self, value: Any) -> str:
        return value.hex() if value else ""


class JSONObject(OptionType[dict[str, Any]]):
    """A JSON object on one line, for free-form data such as a group's properties."""

    name = 'a JSON object, e.g. {"building": "A"}'

    def parse(self, raw: str) -> dict[str, Any]:
        try:
            value = json.loads(raw)
        except ValueError:
            raise self.fail(raw) from None
        if not isinstance(value, dict):
            raise self.fail(raw)
        return value

    def format(self, value: Any) -> str:
        return json.dumps(value or {}, sort_keys=True)


@dataclass(frozen=True)
class Table(OptionType[dict[str, Any]]):
    """A dict, written as a section of its own with one ``key = value`` line each.

    The option ``[hub] api_tokens`` is written as::

        [hub.api_tokens]
        0bc02bede919e99a26de1e2a7a5aadfa = alice
    """

    values: OptionType[Any] = field(default_factory=Text)
    #: When set, the only keys understood; others are dropped with a warning.
    known: tuple[str, ...] = ()
    name = "a table"
    is_table = True

    def parse_table(self, items: dict[str, str], fail: Callable[[str, str], Exception],
                    warn: Callable[[str, str], None]) -> dict[str, Any]:
        parsed: dict[str, Any] = {}
        for key, raw in items.items():
            if self.known and key not in self.known:
                warn(key, f"is ignored: kernelhub understands {', '.join(self.known)}")
                continue
            try:
                parsed[key] = self.values.parse(raw)
            except ValueError as e:
                raise fail(key, str(e)) from None
        return parsed

    def parse(self, raw: str) -> dict[str, Any]:
        raise ValueError("expected a section of its own")

    def format(self, value: Any) -> str:
        return ""


@dataclass(frozen=True)
class TypedTable(Table):
    """A table whose known keys have types of their own.

    ``fields`` gives the type of each known key. Any other key is parsed with
    ``values`` when ``open`` is true, and is an error naming the known keys
    otherwise (a typo in ``[hub.jinja_environment_options]`` is caught here, not
    as a traceback when the option is used).
    """

    fields: tuple[tuple[str, OptionType[Any]], ...] = ()
    open: bool = True

    def parse_table(self, items: dict[str, str], fail: Callable[[str, str], Exception],
                    warn: Callable[[str, str], None]) -> dict[str, Any]:
        types = dict(self.fields)
        parsed: dict[str, Any] = {}
        for key, raw in items.items():
            kind = types.get(key)
            if kind is None and not self.open:
                raise fail(key, f"unknown key; known keys are {', '.join(sorted(types))}")
            try:
                parsed[key] = (kind or self.values).parse(raw)
            except ValueError as e:
                raise fail(key, str(e)) from None
        return parsed
