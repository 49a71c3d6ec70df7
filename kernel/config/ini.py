"""Reading hub.ini: sections, keys, line numbers and ``${VAR}`` from the environment.

This module knows INI syntax and nothing about options; ``kernel.config.loader``
checks what it reads against the declarations.
"""

from __future__ import annotations

import configparser
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from kernel.config.errors import ConfigError

_ENV_REFERENCE = re.compile(r"\$(\$)?\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")
_SECTION_LINE = re.compile(r"^\s*\[([^\]]+)\]")
_KEY_LINE = re.compile(r"^([^\s#;\[][^=:]*?)\s*[=:]")


@dataclass(frozen=True)
class RawValue:
    """One ``key = value`` as written (after ``${VAR}`` expansion), with its line."""

    text: str
    line: int | None


@dataclass
class RawIni:
    """The sections of a hub.ini file, in file order."""

    file: str | None = None
    sections: dict[str, dict[str, RawValue]] = field(default_factory=dict)
    section_lines: dict[str, int] = field(default_factory=dict)

    def error(
        self, message: str, section: str | None = None, key: str | None = None
    ) -> ConfigError:
        """A ConfigError pointing at ``[section] key`` of this file."""
        if key is not None and section in self.sections and key in self.sections[section]:
            line = self.sections[section][key].line
        else:
            line = self.section_lines.get(section) if section else None
        return ConfigError(message, file=self.file, line=line, section=section, key=key)


def read_ini(path: str | os.PathLike[str], environ: Mapping[str, str] | None = None) -> RawIni:
    """Read a hub.ini file; a missing or unreadable file or bad syntax is a ConfigError."""
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except OSError as e:
        raise ConfigError(f"cannot read the config file: {e.strerror}", file=str(path)) from None
    except UnicodeDecodeError as e:
        raise ConfigError(f"the config file is not UTF-8 text ({e.reason})",
                          file=str(path)) from None
    return parse_ini(text, str(path), os.environ if environ is None else environ)


def parse_ini(text: str, file: str | None, environ: Mapping[str, str]) -> RawIni:
    """Parse INI text (see ``read_ini``)."""
    parser = configparser.ConfigParser(
        interpolation=None,
        strict=True,
        default_section="\0no-defaults",  # a [DEFAULT] section is just an unknown section
        inline_comment_prefixes=("#", ";"),
        empty_lines_in_values=False,
    )
    # Keys are case-sensitive (environment variable names, user names). configparser
    # documents replacing optionxform so; its stubs declare it a method, not to be assigned.
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    try:
        parser.read_string(text, source=file or "<string>")
    except configparser.DuplicateSectionError as e:
        raise ConfigError(f"section [{e.section}] appears twice", file=file,
                          line=e.lineno) from None
    except configparser.DuplicateOptionError as e:
        raise ConfigError(
            "the key appears twice in this section",
            file=file, line=e.lineno, section=e.section, key=e.option,
        ) from None
    except configparser.MissingSectionHeaderError as e:
        raise ConfigError(
            "every key must be inside a section such as [hub]", file=file, line=e.lineno
        ) from None
    except configparser.ParsingError as e:
        line = e.errors[0][0] if e.errors else None
        raise ConfigError("this line is not `key = value`", file=file, line=line) from None

    raw = RawIni(file=file)
    key_lines, raw.section_lines = _line_numbers(text)
    for section in parser.sections():
        raw.sections[section] = {}
        for key, value in parser.items(section):
            line = key_lines.get((section, key))
            raw.sections[section][key] = RawValue(
                _expand(value, environ, file, line, section, key), line
            )
    return raw


def _expand(
    value: str,
    environ: Mapping[str, str],
    file: str | None,
    line: int | None,
    section: str,
    key: str,
) -> str:
    """Replace ``${VAR}`` (and ``${VAR:-default}``) with the environment; ``$${`` is a literal."""

    def replace(match: re.Match[str]) -> str:
        escaped, name, default = match.groups()
        if escaped:
            return match.group(0)[1:]
        if name in environ:
            return environ[name]
        if default is not None:
            return default
        raise ConfigError(
            f"the environment variable {name} is not set "
            f"(set it, or write ${{{name}:-default}} to give a default)",
            file=file, line=line, section=section, key=key,
        )

    return _ENV_REFERENCE.sub(replace, value)


def _line_numbers(text: str) -> tuple[dict[tuple[str, str], int], dict[str, int]]:
    """Where each section header and each key starts, for error messages."""
    keys: dict[tuple[str, str], int] = {}
    sections: dict[str, int] = {}
    section = None
    for number, line in enumerate(text.splitlines(), start=1):
        header = _SECTION_LINE.match(line)
        if header:
            section = header.group(1).strip()
            sections.setdefault(section, number)
            continue
        key = _KEY_LINE.match(line)
        if key and section is not None:
            keys.setdefault((section, key.group(1).strip()), number)
    return keys, sections
