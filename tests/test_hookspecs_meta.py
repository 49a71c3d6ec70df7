"""The plugin surface stays honest: every hook is documented, tested, has a guide page,
declares its call mode and is called through its typed runner method."""

from __future__ import annotations

import ast
import inspect
import re
from pathlib import Path

import pytest

from kernel import hookspecs
from kernel.hookcall import HookRunner
from kernel.hookmodes import modes_of
from kernel.plugin_manager import new_plugin_manager

ROOT = Path(__file__).parent.parent
HOOK_NAMES = sorted(name for name in dir(hookspecs)
                    if new_plugin_manager().parse_hookspec_opts(hookspecs, name))


def test_there_are_hooks():
    assert {"authenticate", "spawn", "route", "redirect", "log", "metrics"} <= set(HOOK_NAMES)


def _test_names() -> set[str]:
    names = set()
    for path in (ROOT / "tests").rglob("test_*.py"):
        tree = ast.parse(path.read_text())
        names |= {node.name for node in ast.walk(tree) if isinstance(node, ast.FunctionDef)}
    return names


@pytest.mark.parametrize("hook", HOOK_NAMES)
def test_every_hook_has_a_docstring_saying_how_it_is_called(hook):
    doc = inspect.getdoc(getattr(hookspecs, hook)) or ""
    assert len(doc) > 200, f"{hook}: the docstring is the plugin author's documentation"
    assert "awaitable" in doc, f"{hook}: say whether it may return an awaitable"


@pytest.mark.parametrize("hook", HOOK_NAMES)
def test_every_hook_has_a_test_named_after_it(hook):
    assert f"test_hook_{hook}" in _test_names()


@pytest.mark.parametrize("hook", HOOK_NAMES)
def test_every_hook_has_a_guide_page_naming_each_argument(hook):
    page = ROOT / "docs" / "hooks" / f"{hook}.md"
    assert page.is_file(), f"docs/hooks/{hook}.md is missing"
    text = page.read_text()
    for argument in inspect.signature(getattr(hookspecs, hook)).parameters:
        assert re.search(rf"`{argument}`", text), f"{page.name} does not describe `{argument}`"


# -- call modes: declared on every spec, one typed method each, documented ------------------

HOOK_MODES = modes_of(hookspecs)
#: Hook calls by name, the way the runner used to be called (`hub.hooks.first("redirect", ...)`).
CALL_BY_NAME = re.compile(r"""\.(first|first_result|collect|pipe|each|notify|single)\(\s*["']"""
                          r"""|\bbound_calls\(|\.hook\.\w+\(""")


def test_every_hook_declares_its_call_mode():
    assert sorted(HOOK_MODES) == HOOK_NAMES


@pytest.mark.parametrize("hook", HOOK_NAMES)
def test_every_hook_has_a_typed_runner_method_taking_its_arguments_by_keyword(hook):
    method = inspect.signature(getattr(HookRunner, hook))
    arguments = {name: p for name, p in method.parameters.items() if name != "self"}
    assert all(p.kind is p.KEYWORD_ONLY for p in arguments.values())
    spec_arguments = set(inspect.signature(getattr(hookspecs, hook)).parameters) - {"hub"}
    assert set(arguments) - {"around"} == spec_arguments
    assert inspect.iscoroutinefunction(getattr(HookRunner, hook)) == (
        HOOK_MODES[hook].awaits and HOOK_MODES[hook].kind != "notify")


def hooks_called_by_name(root: Path) -> list[str]:
    """``path:line`` of every hook call by name in the kernel, the plugins and contrib."""
    found = []
    for folder in ("kernel", "plugins", "contrib"):
        for path in sorted((root / folder).rglob("*.py")):
            if path.relative_to(root) == Path("kernel/hookengine.py"):
                continue  # the runner's own machinery
            for number, line in enumerate(path.read_text().splitlines(), 1):
                if CALL_BY_NAME.search(line):
                    found.append(f"{path.relative_to(root)}:{number}")
    return found


def test_no_hook_is_called_by_name_outside_the_runner():
    assert hooks_called_by_name(ROOT) == []


def _guide_table() -> dict[str, list[str]]:
    """The rows of docs/plugins.md's table of hooks, by hook, as lists of cells."""
    rows = {}
    for line in (ROOT / "docs" / "plugins.md").read_text().splitlines():
        match = re.match(r"\| \[`(\w+)`\]\(hooks/\w+\.md\) \|(.*)\|$", line)
        if match:
            rows[match[1]] = [cell.strip() for cell in match[2].split(" | ")]
    return rows


def test_the_guide_table_gives_every_hook_its_declared_call_mode():
    header = next(line for line in (ROOT / "docs" / "plugins.md").read_text().splitlines()
                  if line.startswith("| hook |"))
    assert header.split("|")[2].strip() == "call mode"
    table = {hook: cells[0] for hook, cells in _guide_table().items()}
    assert table == {hook: str(mode) for hook, mode in HOOK_MODES.items()}


def test_the_guide_table_says_which_hooks_may_be_async_as_their_modes_do():
    may_be_async = {hook: cells[3].startswith("yes") for hook, cells in _guide_table().items()}
    assert may_be_async == {hook: mode.awaits for hook, mode in HOOK_MODES.items()}


@pytest.mark.parametrize("hook", HOOK_NAMES)
def test_every_guide_page_gives_its_call_mode(hook):
    text = (ROOT / "docs" / "hooks" / f"{hook}.md").read_text()
    assert f"| Call mode | {HOOK_MODES[hook]} |" in text
