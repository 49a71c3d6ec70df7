"""Calling hooks: the one place that awaits hook results and attributes failures to plugins.

pluggy itself stays synchronous. kernelhub calls each implementation in turn,
in pluggy's order, so that a result that is an awaitable can be awaited, the
first non-None answer can stop the call, and an exception can be reported
with the name of the plugin that raised it.

Five ways to call a hook:

- ``collect``: every plugin, synchronously; results as a list (routes,
  template folders). A failure is a ``PluginError``.
- ``first``: plugins in order until one returns non-None, awaiting each.
- ``pipe``: a value passed through every plugin in order, each answer
  (when not None) replacing it for the next.
- ``each``: every plugin, awaiting each in order. ``strict=True`` stops at the
  first failure (a ``PluginError``); otherwise failures are logged and the
  other plugins still run.

A ``HubError`` (an HTTP refusal, such as a 403) raised by a plugin in
``first`` or a strict ``each`` is its deliberate answer and passes through
as it is.
- ``notify``: observers (``log``, ``metrics``). Never raises; an awaitable
  result runs in the background so the caller never waits.

Every call but ``notify``'s is timed per plugin, awaiting included, and
reported to ``timed`` (the hub turns it into the ``hook_duration_seconds``
measurement): an operator can see which plugin makes logins or spawns slow.
Observers are not timed: they run on every request and measurement, and
timing ``metrics`` would feed itself.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from typing import Any

import pluggy

from kernel.errors import HubError

log = logging.getLogger("kernelhub.plugins")

#: Told (hook, plugin, seconds) after each timed call of a plugin's implementation.
CallTimer = Callable[[str, str, float], None]


def _intended(error: Exception) -> bool:
    """A HubError is a plugin's deliberate answer (a 403, say), not a failure."""
    return isinstance(error, HubError)


class PluginError(Exception):
    """A plugin's hook implementation raised; names the plugin and the hook."""

    def __init__(self, plugin: str, hook: str, error: BaseException) -> None:
        self.plugin = plugin
        self.hook = hook
        self.error = error
        super().__init__(f"plugin {plugin!r} failed in hook {hook!r}: "
                         f"{type(error).__name__}: {error}")


def implementations(pm: pluggy.PluginManager, hook: str) -> list[pluggy.HookImpl]:
    """The hook's implementations in the order pluggy would call them."""
    return list(reversed(getattr(pm.hook, hook).get_hookimpls()))


def bound_calls(
    pm: pluggy.PluginManager, hook: str, kwargs: dict[str, Any]
) -> Iterator[tuple[str, Callable[[], Any]]]:
    """(plugin name, zero-argument call) for each implementation, in call order.

    Each implementation receives only the arguments it names, as pluggy does.
    """
    for impl in implementations(pm, hook):
        args = {name: kwargs[name] for name in impl.argnames}
        yield impl.plugin_name, (lambda f=impl.function, a=args: f(**a))


class HookRunner:
    """Calls a hub's hooks; holds the background tasks that observers start."""

    def __init__(self, pm: pluggy.PluginManager, *, timed: CallTimer | None = None) -> None:
        self.pm = pm
        self._timed = timed
        self._background: set[asyncio.Task[Any]] = set()

    @contextmanager
    def _timing(self, hook: str, plugin: str) -> Iterator[None]:
        began = time.perf_counter()
        try:
            yield
        finally:
            if self._timed is not None:
                self._timed(hook, plugin, time.perf_counter() - began)

    async def _call(self, hook: str, plugin: str, call: Callable[[], Any]) -> Any:
        """One implementation's result, awaited if it is an awaitable, and timed."""
        with self._timing(hook, plugin):
            result = call()
            if inspect.isawaitable(result):
                result = await result
            return result

    def collect(self, hook: str, **kwargs: Any) -> list[tuple[str, Any]]:
        """Every plugin's result, synchronously, as (plugin name, result)."""
        results = []
        for plugin, call in bound_calls(self.pm, hook, kwargs):
            try:
                with self._timing(hook, plugin):
                    result = call()
            except Exception as e:
                raise PluginError(plugin, hook, e) from e
            if inspect.isawaitable(result):
                _discard(result)
                raise PluginError(plugin, hook, TypeError("returned an awaitable; this hook "
                                                          "must be a plain function"))
            results.append((plugin, result))
        return results

    async def first(self, hook: str, **kwargs: Any) -> Any:
        """The first non-None result, awaiting each plugin's result in turn."""
        for plugin, call in bound_calls(self.pm, hook, kwargs):
            try:
                result = await self._call(hook, plugin, call)
            except Exception as e:
                if _intended(e):
                    raise
                raise PluginError(plugin, hook, e) from e
            if result is not None:
                return result
        return None

    async def pipe(self, hook: str, value_name: str, value: Any, **kwargs: Any) -> Any:
        """Pass ``value`` through every plugin in order; a non-None answer replaces it."""
        for impl in implementations(self.pm, hook):
            args = {**kwargs, value_name: value}
            call = partial(impl.function, **{name: args[name] for name in impl.argnames})
            try:
                result = await self._call(hook, impl.plugin_name, call)
            except Exception as e:
                if _intended(e):
                    raise
                raise PluginError(impl.plugin_name, hook, e) from e
            if result is not None:
                value = result
        return value

    async def each(self, hook: str, *, strict: bool, reverse: bool = False,
                   **kwargs: Any) -> None:
        """Call every plugin, awaiting each; see the module docstring for ``strict``."""
        calls = list(bound_calls(self.pm, hook, kwargs))
        for plugin, call in reversed(calls) if reverse else calls:
            try:
                await self._call(hook, plugin, call)
            except Exception as e:
                if strict:
                    if _intended(e):
                        raise
                    raise PluginError(plugin, hook, e) from e
                log.exception("plugin %r failed in hook %r", plugin, hook)

    def notify(self, hook: str, *, background: bool = True, **kwargs: Any) -> None:
        """Tell every observer; never raises and never waits.

        ``background``: whether an observer may return an awaitable (run as a
        background task); if not, one that does is reported and dropped.
        """
        for plugin, call in bound_calls(self.pm, hook, kwargs):
            try:
                result = call()
            except Exception:
                log.exception("plugin %r failed in hook %r", plugin, hook)
                continue
            if not inspect.isawaitable(result):
                continue
            if background:
                self._run_in_background(plugin, hook, result)
            else:
                _discard(result)
                log.error("plugin %r returned an awaitable from %r, which must be a plain "
                          "function; its result is dropped", plugin, hook)

    def _run_in_background(self, plugin: str, hook: str, awaitable: Any) -> None:
        try:
            task = asyncio.ensure_future(awaitable)
        except RuntimeError:  # no running loop: nothing can await it
            _discard(awaitable)
            log.error("plugin %r returned an awaitable from %r outside the event loop",
                      plugin, hook)
            return
        self._background.add(task)

        def done(task: asyncio.Task[Any]) -> None:
            self._background.discard(task)
            if not task.cancelled() and task.exception() is not None:
                log.error("plugin %r failed in hook %r", plugin, hook,
                          exc_info=task.exception())

        task.add_done_callback(done)

    async def drain(self) -> None:
        """Wait for observers still running in the background (at shutdown)."""
        if self._background:
            await asyncio.gather(*self._background, return_exceptions=True)


def _discard(awaitable: Any) -> None:
    """Close a coroutine nobody will await, so Python does not warn about it."""
    if inspect.iscoroutine(awaitable):
        awaitable.close()
