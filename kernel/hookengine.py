"""Calling one hook by its call mode: awaiting results and attributing failures to plugins.

pluggy itself stays synchronous. kernelhub calls each implementation in turn,
in pluggy's order, so that a result that is an awaitable can be awaited, the
first non-None answer can stop the call, and an exception can be reported
with the name of the plugin that raised it (a ``PluginError``). How a hook's
results combine is its spec's call mode (see ``kernel.hookmodes``). A
``HubError`` (an HTTP refusal, such as a 403) that a plugin raises where a
failure reaches the caller is its deliberate answer and passes through as it
is; observers (``notify``) never raise, and an awaitable they return runs in
the background so the caller never waits.

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
from collections.abc import AsyncGenerator, Callable, Iterator
from contextlib import AbstractContextManager, aclosing, contextmanager, nullcontext
from functools import cache, partial
from typing import Any

import pluggy

from kernel.errors import HubError
from kernel.hookmodes import CallMode, mode_of

log = logging.getLogger("kernelhub.plugins")

#: Told (hook, plugin, seconds) after each timed call of a plugin's implementation.
CallTimer = Callable[[str, str, float], None]
#: Wraps each plugin's call of a plain-function hook, given the plugin's name.
PerPlugin = Callable[[str], AbstractContextManager[object]]
Spec = Callable[..., object]


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
        yield impl.plugin_name, partial(impl.function, **args)


@cache
def _takes_hub(spec: Spec) -> bool:
    return "hub" in inspect.signature(spec).parameters


class HookEngine:
    """Calls hooks by their specs' call modes; holds the background tasks observers start."""

    def __init__(self, pm: pluggy.PluginManager, *, hub: Any = None,
                 timed: CallTimer | None = None) -> None:
        self.pm = pm
        #: Passed as every hook's ``hub`` argument.
        self.hub = hub
        self._timed = timed
        self._background: set[asyncio.Task[Any]] = set()

    def _arguments(self, spec: Spec, kwargs: dict[str, Any]) -> dict[str, Any]:
        return {**kwargs, "hub": self.hub} if _takes_hub(spec) else kwargs

    def _call(self, spec: Spec, /, *, around: PerPlugin | None = None, **kwargs: Any) -> Any:
        """Call a plain-function hook (``collect``, ``each``, ``notify``, ``single``)."""
        hook, mode = spec.__name__, mode_of(spec)
        kwargs = self._arguments(spec, kwargs)
        if mode.kind == "notify":
            self._notify(hook, kwargs, background=mode.awaits)
            return None
        if mode.awaits:
            raise TypeError(f"hook {hook!r} may be async; await its method")
        answers = self._collect(hook, kwargs, around or (lambda plugin: nullcontext()))
        match mode.kind:
            case "collect":
                return [item for _, items in answers for item in items or ()]
            case "per_plugin":
                return [(plugin, answer) for plugin, answer in answers if answer is not None]
            case "single":
                return _one_answer(hook, mode, answers)
            case _:  # each: results ignored
                return None

    async def _await(self, spec: Spec, /, **kwargs: Any) -> Any:
        """Call a hook whose implementations may return awaitables."""
        hook, mode = spec.__name__, mode_of(spec)
        kwargs = self._arguments(spec, kwargs)
        if not mode.awaits or mode.kind == "notify":
            raise TypeError(f"hook {hook!r} is not awaited; call its method plainly")
        match mode.kind:
            case "first_result":
                async with aclosing(self._answers(hook, kwargs)) as answers:
                    async for _, answer in answers:
                        if answer is not None:
                            return answer
                return None
            case "pipe":
                return await self._pipe(hook, str(mode.value), kwargs)
            case "single":
                return _one_answer(hook, mode, [answer async for answer in
                                                self._answers(hook, kwargs)])
            case _:  # each
                await self._each(hook, kwargs, strict=mode.strict, reverse=mode.reverse)
                return None

    @contextmanager
    def _timing(self, hook: str, plugin: str) -> Iterator[None]:
        began = time.perf_counter()
        try:
            yield
        finally:
            if self._timed is not None:
                self._timed(hook, plugin, time.perf_counter() - began)

    async def _timed_call(self, hook: str, plugin: str, call: Callable[[], Any]) -> Any:
        """One implementation's result, awaited if it is an awaitable, and timed."""
        with self._timing(hook, plugin):
            result = call()
            if inspect.isawaitable(result):
                result = await result
            return result

    def _collect(self, hook: str, kwargs: dict[str, Any],
                 around: PerPlugin) -> list[tuple[str, Any]]:
        """Every plugin's result, synchronously, as (plugin name, result)."""
        results = []
        for plugin, call in bound_calls(self.pm, hook, kwargs):
            try:
                with around(plugin), self._timing(hook, plugin):
                    result = call()
            except Exception as e:
                raise PluginError(plugin, hook, e) from e
            if inspect.isawaitable(result):
                _discard(result)
                raise PluginError(plugin, hook, TypeError("returned an awaitable; this hook "
                                                          "must be a plain function"))
            results.append((plugin, result))
        return results

    async def _answers(self, hook: str, kwargs: dict[str, Any]
                       ) -> AsyncGenerator[tuple[str, Any], None]:
        """(plugin name, awaited result) in call order; a failure is a PluginError."""
        for plugin, call in bound_calls(self.pm, hook, kwargs):
            try:
                result = await self._timed_call(hook, plugin, call)
            except Exception as e:
                if _intended(e):
                    raise
                raise PluginError(plugin, hook, e) from e
            yield plugin, result

    async def _pipe(self, hook: str, value_name: str, kwargs: dict[str, Any]) -> Any:
        """Pass ``kwargs[value_name]`` through every plugin in order; a non-None answer
        replaces it."""
        value = kwargs[value_name]
        for impl in implementations(self.pm, hook):
            args = {**kwargs, value_name: value}
            bound = {name: args[name] for name in impl.argnames}
            try:
                result = await self._timed_call(hook, impl.plugin_name,
                                                partial(impl.function, **bound))
            except Exception as e:
                if _intended(e):
                    raise
                raise PluginError(impl.plugin_name, hook, e) from e
            if result is not None:
                value = result
        return value

    async def _each(self, hook: str, kwargs: dict[str, Any], *, strict: bool,
                    reverse: bool) -> None:
        """Call every plugin, awaiting each; ``strict``: the first failure is raised, else
        each failure is logged and the other plugins still run."""
        calls = list(bound_calls(self.pm, hook, kwargs))
        for plugin, call in reversed(calls) if reverse else calls:
            try:
                await self._timed_call(hook, plugin, call)
            except Exception as e:
                if strict:
                    if _intended(e):
                        raise
                    raise PluginError(plugin, hook, e) from e
                log.exception("plugin %r failed in hook %r", plugin, hook)

    def _notify(self, hook: str, kwargs: dict[str, Any], *, background: bool) -> None:
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


def _one_answer(hook: str, mode: CallMode, answers: list[tuple[str, Any]]) -> Any:
    """The one plugin's answer to a ``single`` hook.

    The plugin manager lets only the chosen plugin implement a role chosen by a
    ``[hub]`` option; a role any plugin may take (``internal_tls``) is checked
    here, by who answered.
    """
    given = [(plugin, answer) for plugin, answer in answers if answer is not None]
    if len(given) > 1:
        (first, _), (second, _) = given[:2]
        raise PluginError(second, hook, RuntimeError(
            f"plugins {first!r} and {second!r} both provide the {mode.noun} "
            f"(hook {hook!r}); enable only one"))
    if given:
        return given[0][1]
    if not mode.may_decline and answers:
        plugin = answers[0][0]
        raise PluginError(plugin, hook, TypeError(
            f"returned None; [hub] {mode.chosen_by} chose {plugin!r} to answer it"))
    return None


def _discard(awaitable: Any) -> None:
    """Close a coroutine nobody will await, so Python does not warn about it."""
    if inspect.iscoroutine(awaitable):
        awaitable.close()
