"""The plugin surface stays honest: every hook is documented, tested and has a guide page."""

from __future__ import annotations

import ast
import inspect
import re
from pathlib import Path

import pytest

from kernel import hookspecs
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
