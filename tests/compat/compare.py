"""What the compatibility test compares in two hubs' answers, and the list of deviations.

An answer is reduced to *facts*: ``(field, value)`` pairs where the field names
what was compared (``status``, ``content-type``, ``location``,
``header:x-jupyterhub-version``, ``json$.servers.gpu.ready``, ``ids``) and the
value is already normalised (ports, timestamps, tokens and ids taken out). Two
answers differ where their facts differ.

A difference is explained by a *selector*, ``ACTOR METHOD PATH FIELD`` with shell
wildcards in each part (``* PATCH /hub/api/users/* status``), listed either in
docs/jupyterhub-differences.md (deliberate deviations) or in the test's
KNOWN_BUGS.
"""

from __future__ import annotations

import fnmatch
import json
import re
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

DEVIATIONS = Path(__file__).parent.parent.parent / "docs" / "jupyterhub-differences.md"

#: Keys whose string values are compared, not only their type.
EXACT_STRINGS = {"kind", "name", "pending", "server", "url", "progress_url", "display_name",
                 "note", "user", "service", "message_kind"}
#: Keys whose lists of strings are compared as sets.
STRING_SETS = {"roles", "groups", "users", "scopes", "services"}
#: Headers whose presence is compared.
PRESENT_HEADERS = ("x-jupyterhub-version", "retry-after")

_TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:?\d\d)?")
_HOST = re.compile(r"127\.0\.0\.1:\d+")


@dataclass(frozen=True)
class Difference:
    step: int
    actor: str
    method: str
    path: str  # the step's path as the scenario writes it (placeholders, not values)
    field: str
    jupyterhub: Any
    kernelhub: Any

    def __str__(self) -> str:
        return (f"step {self.step} {self.actor} {self.method} {self.path} {self.field}: "
                f"JupyterHub {self.jupyterhub!r}, kernelhub {self.kernelhub!r}")


@dataclass(frozen=True)
class Selector:
    """``ACTOR METHOD PATH FIELD``, each with shell wildcards; ``label`` says where it
    comes from."""

    actor: str
    method: str
    path: str
    field: str
    label: str

    @classmethod
    def parse(cls, text: str, label: str) -> Selector:
        parts = text.split(maxsplit=3)  # a field may hold a space: "json$ keys"
        if len(parts) != 4:
            raise ValueError(f"{label}: a selector is 'ACTOR METHOD PATH FIELD', got {text!r}")
        return cls(*parts, label=label)

    def explains(self, difference: Difference) -> bool:
        return (fnmatch.fnmatchcase(difference.actor, self.actor)
                and fnmatch.fnmatchcase(difference.method, self.method)
                and fnmatch.fnmatchcase(difference.path, self.path)
                and fnmatch.fnmatchcase(difference.field, self.field))


_ENTRY = re.compile(r"^### (D-\d{3}) (.+)$")


def deviations(path: Path = DEVIATIONS) -> list[Selector]:
    """The selectors of every entry of the deviations page.

    An entry is a ``### D-NNN title`` heading followed, before the next heading, by a
    fenced block tagged ``compat`` with one selector a line.
    """
    selectors: list[Selector] = []
    entry: str | None = None
    in_block = False
    for number, line in enumerate(path.read_text().splitlines(), 1):
        if in_block:
            if line.startswith("```"):
                in_block = False
            elif line.strip() and not line.lstrip().startswith("#"):
                if entry is None:
                    raise ValueError(f"{path.name}:{number}: a compat block outside an entry")
                selectors.append(Selector.parse(line.strip(), entry))
        elif match := _ENTRY.match(line):
            entry = match.group(1)
        elif line.startswith("#"):
            entry = None
        elif line.strip() == "```compat":
            in_block = True
    return selectors


class Normaliser:
    """Takes out what legitimately differs between the hubs: ports, times, secrets."""

    def __init__(self, secrets: dict[str, str]) -> None:
        # Longest first, so that a token is not replaced by its own prefix's name.
        self.secrets = sorted(secrets.items(), key=lambda item: -len(item[1]))

    def text(self, value: str) -> str:
        value = _HOST.sub("HOST", value)
        value = _TIMESTAMP.sub("TIME", value)
        for name, secret in self.secrets:
            if secret:
                value = value.replace(secret, f"<{name}>")
        return value


def _kind(value: Any) -> str:
    return "null" if value is None else {bool: "bool", int: "number", float: "number",
                                         str: "string", list: "array",
                                         dict: "object"}[type(value)]


def _sort_key(item: Any) -> str:
    if isinstance(item, dict):
        return json.dumps([item.get(k) for k in ("name", "note", "user", "service", "kind")],
                          default=str)
    return json.dumps(item, default=str, sort_keys=True)


def json_facts(value: Any, norm: Normaliser, path: str = "$", key: str = "") -> dict[str, Any]:
    """Facts about a JSON value: key sets and types all the way down, some values."""
    facts: dict[str, Any] = {f"json{path}": _kind(value)}
    if isinstance(value, dict):
        facts[f"json{path} keys"] = sorted(norm.text(k) for k in value)
        for k, item in value.items():
            facts.update(json_facts(item, norm, f"{path}.{norm.text(k) or '<empty>'}", k))
    elif isinstance(value, list):
        if key in STRING_SETS and all(isinstance(i, str) for i in value):
            facts[f"json{path}"] = sorted({norm.text(i) for i in value})
        else:
            facts[f"json{path} length"] = len(value)
            for index, item in enumerate(sorted(value, key=_sort_key)):
                facts.update(json_facts(item, norm, f"{path}[{index}]", key))
    elif isinstance(value, bool) or value is None:
        facts[f"json{path}"] = value if value is not None else "null"
    elif isinstance(value, str) and key in EXACT_STRINGS:
        facts[f"json{path}"] = norm.text(value)
    return facts


class _Ids(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.ids: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name == "id" and value:
                self.ids.add(value)


def element_ids(html: str) -> list[str]:
    parser = _Ids()
    parser.feed(html)
    return sorted(parser.ids)


def facts(response: httpx.Response, norm: Normaliser, page: bool = False) -> dict[str, Any]:
    """What is compared of one answer."""
    found: dict[str, Any] = {"status": response.status_code}
    media = response.headers.get("content-type", "").split(";")[0].strip().lower()
    # An empty body's type is nothing a client reads (JupyterHub's redirects say text/html).
    if response.content:
        found["content-type"] = media or None
    location = response.headers.get("location")
    if location is not None:
        found["location"] = norm.text(urlsplit(location).path)
    for header in PRESENT_HEADERS:
        found[f"header:{header}"] = header in response.headers
    if media.endswith("json") and response.content:
        try:
            found.update(json_facts(response.json(), norm))
        except ValueError:
            found["json"] = "invalid JSON"
    if page and media == "text/html" and response.status_code == 200:
        found["ids"] = element_ids(response.text)
    return found


def differences(step: int, actor: str, method: str, path: str, reference: dict[str, Any],
                candidate: dict[str, Any]) -> list[Difference]:
    """Every field where the two hubs' facts differ, a missing fact being 'absent'."""
    found = []
    for field in sorted(reference.keys() | candidate.keys()):
        left, right = reference.get(field, "absent"), candidate.get(field, "absent")
        if left != right:
            found.append(Difference(step, actor, method, path, field, left, right))
    # Below a key one hub lacks or a list of another length, only that one fact counts.
    cut = [d.field[: -len(" keys")] + "." for d in found if d.field.endswith(" keys")]
    cut += [d.field[: -len(" length")] + "[" for d in found if d.field.endswith(" length")]
    return [d for d in found
            if not any(d.field.startswith(prefix) and (prefix.endswith("[")
                       or "absent" in (d.jupyterhub, d.kernelhub)) for prefix in cut)]
