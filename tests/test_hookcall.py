"""Calling hooks: observers never break the caller; results are awaited where allowed."""

from __future__ import annotations

import asyncio
import logging
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from kernel import hookimpl
from kernel.config.errors import ConfigError
from kernel.config.loader import declare_plugin_options
from kernel.config.options import OptionRegistry
from kernel.events import Event, Measurement
from kernel.hookcall import HookRunner, PluginError
from kernel.plugin_manager import new_plugin_manager
from kernel.testing.infra import skip_or_fail
from tests.fake_plugins import async_logger, recorder

ROOT = Path(__file__).resolve().parent.parent
BASE = "[hub]\nauthenticator_class = dummy\nspawner_class = simple\n"


def test_a_raising_observer_is_logged_by_name_and_the_others_still_run(load_ini, caplog):
    loaded = load_ini(BASE + "plugins = first, raising-observer, second\n")
    runner = HookRunner(loaded.plugins.manager)
    recorder.CALLS.clear()
    with caplog.at_level(logging.ERROR, logger="kernelhub.plugins"):
        runner.log(event=Event("login"))
        runner.metrics(measurement=Measurement("x", "counter", 1))
    assert recorder.CALLS == [("first", "login"), ("second", "login"),
                              ("first", "x"), ("second", "x")]
    messages = [r.getMessage() for r in caplog.records]
    assert "plugin 'raising-observer' failed in hook 'log'" in messages
    assert "plugin 'raising-observer' failed in hook 'metrics'" in messages


def test_an_async_observer_runs_in_the_background(load_ini):
    loaded = load_ini(BASE + "plugins = async-logger\n")
    runner = HookRunner(loaded.plugins.manager)
    async_logger.SEEN.clear()

    async def scenario():
        runner.log(event=Event("spawn.ready"))
        assert async_logger.SEEN == []  # the caller did not wait
        await runner.drain()

    asyncio.run(scenario())
    assert async_logger.SEEN == ["spawn.ready"]


def test_first_awaits_each_answer_and_stops_at_the_first_non_none(load_ini):
    loaded = load_ini(BASE)
    runner = HookRunner(loaded.plugins.manager, hub=_FakeHub())
    answer = asyncio.run(runner.redirect(request=None, user=None, reason="root", path=""))
    assert answer == "/hub/login"


def test_a_failing_collect_names_the_plugin(load_ini):
    loaded = load_ini(BASE)
    runner = HookRunner(loaded.plugins.manager)
    with pytest.raises(PluginError, match="plugin 'simple' failed in hook 'spawn'"):
        runner.spawn(user=None, server=None)


def test_every_implementation_is_timed_by_plugin_even_when_it_fails_but_observers_are_not(
        load_ini):
    loaded = load_ini(BASE + "plugins = first, second\n")
    timings: list[tuple[str, str]] = []
    runner = HookRunner(loaded.plugins.manager, hub=_FakeHub(),
                        timed=lambda hook, plugin, seconds: timings.append((hook, plugin)))
    asyncio.run(runner.redirect(request=None, user=None, reason="root", path=""))
    with pytest.raises(PluginError):
        runner.spawn(user=None, server=None)
    runner.log(event=Event("login"))
    runner.metrics(measurement=Measurement("x", "counter", 1))
    assert timings == [("redirect", "pages"), ("spawn", "simple")]


class _FakeHub:
    """Just enough of a hub for the pages plugin's default redirect of an anonymous visit."""

    class urls:
        hub_prefix = "/hub/"


class _SilentSpawner:
    """A spawner plugin whose ``spawn`` answers nothing."""

    @staticmethod
    @hookimpl
    def spawn(user, server):
        return None


def test_a_role_that_must_answer_and_answers_none_names_the_plugin_and_the_option():
    pm = new_plugin_manager()
    pm.register(_SilentSpawner, name="silent")
    with pytest.raises(PluginError, match=r"plugin 'silent' failed in hook 'spawn': TypeError: "
                                          r"returned None; \[hub\] spawner_class chose 'silent'"):
        HookRunner(pm).spawn(user=None, server=None)



class _BrokenOptions:
    """A plugin whose ``declare_options`` fails after declaring one option."""

    @staticmethod
    @hookimpl
    def declare_options(options):
        options.add("broken", "first", help="Declared before the failure.")
        raise KeyError("second")


def test_a_failing_declare_options_is_a_config_error_naming_the_plugin():
    pm = new_plugin_manager()
    pm.register(_BrokenOptions, name="broken")
    registry = OptionRegistry()
    with pytest.raises(ConfigError, match="plugin 'broken' failed to declare its options: "
                                          "KeyError: 'second'"):
        declare_plugin_options(pm, registry)
    assert registry.get("broken", "first").owner == "broken"


def test_a_type_checker_knows_each_hook_and_what_it_returns(tmp_path):
    try:
        import mypy  # noqa: F401
    except ImportError:
        skip_or_fail("mypy is not installed (pip install -e '.[test]')")
    snippet = tmp_path / "calls_hooks.py"
    snippet.write_text(textwrap.dedent("""
        from typing import assert_type

        from starlette.requests import Request

        from kernel.hookcall import HookRunner
        from kernel.spawner import Spawner
        from kernel.users import Server

        async def calls(hooks: HookRunner, request: Request, server: Server) -> None:
            assert_type(await hooks.redirect(request=request, user=None, reason="root",
                                             path=""), str)
            assert_type(hooks.spawn(user=server.user, server=server), Spawner)
            await hooks.redriect(request=request, user=None, reason="root", path="")
            hooks.spawn(server.user, server)
    """))
    result = subprocess.run([sys.executable, "-m", "mypy", "--no-incremental",
                             "--ignore-missing-imports", "--follow-imports=silent",
                             "--hide-error-context", "--no-error-summary", str(snippet)],
                            cwd=ROOT, capture_output=True, text=True, timeout=300)
    errors = [line.split(": error: ")[1] for line in result.stdout.splitlines()
              if ": error: " in line]
    assert errors == [
        '"HookRunner" has no attribute "redriect"; maybe "redirect"?  [attr-defined]',
        'Too many positional arguments for "spawn" of "HookRunner"  [call-arg]',
    ], result.stdout + result.stderr


def test_a_per_plugin_hook_gives_each_answer_with_its_plugins_name(load_ini):
    answers = HookRunner(load_ini(BASE).plugins.manager).stored_data()
    assert [(plugin, [m._meta.table_name for m in data.models]) for plugin, data in answers] \
        == [("sharing", ["shares", "share_codes"])]
    without = HookRunner(load_ini(BASE + "plugins = no:sharing\n").plugins.manager)
    assert without.stored_data() == []
