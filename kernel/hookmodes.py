"""How each hook is called: one decorator per call mode, recorded on the hook's spec.

Every spec in ``kernel.hookspecs`` carries exactly one of these decorators, so
the spec alone says how its results combine. The runner (``kernel.hookcall``)
calls each hook by its mode, the plugin manager builds its role checks from
the ``single`` specs, and a meta-test checks the table in ``docs/plugins.md``
against ``modes_of(hookspecs)``.

- ``first_result``: plugins in order until one answers (not ``None``).
- ``each``: every plugin in turn; ``strict`` stops at the first failure,
  otherwise failures are logged and the others still run; ``reverse`` calls
  them in reverse order.
- ``collect``: every plugin, synchronously; their lists concatenated.
- ``per_plugin``: every plugin, synchronously; each answer with the plugin's
  name, for callers that keep them apart (whose tables, whose variables).
- ``pipe``: one argument passed through every plugin, each answer replacing it.
- ``notify``: observers; never fails the caller, never waits for it.
- ``single``: a role answered by one plugin (an authenticator, a spawner,
  the proxy, internal TLS); two answers are an error.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType
from typing import Literal, Protocol, TypeVar

Kind = Literal["first_result", "each", "collect", "per_plugin", "pipe", "notify", "single"]
SpecFunction = TypeVar("SpecFunction", bound=Callable[..., object])


class Marker(Protocol):
    """A call-mode decorator: records the mode on a spec and returns the spec."""

    def __call__(self, spec: SpecFunction, /) -> SpecFunction: ...

#: The attribute of a spec function that holds its ``CallMode``.
MODE_ATTRIBUTE = "kernelhub_call_mode"


@dataclass(frozen=True)
class CallMode:
    """How one hook is called and how its implementations' results combine."""

    kind: Kind
    #: An implementation may return an awaitable (awaited, or for ``notify`` run
    #: in the background); otherwise it must be a plain function.
    awaits: bool
    #: ``each``: a failure stops the call and reaches the caller.
    strict: bool = False
    #: ``each``: plugins are called in reverse order.
    reverse: bool = False
    #: ``pipe``: the argument passed from plugin to plugin.
    value: str | None = None
    #: ``single``: what the answering plugin is (``"spawner"``).
    noun: str | None = None
    #: ``single``: the ``[hub]`` option that chooses the plugin; ``None`` when any
    #: enabled plugin may answer (but only one may).
    chosen_by: str | None = None
    #: ``single``: the plugin chosen when the option says ``default``.
    default: str | None = None
    #: ``single``: ``None`` is a valid answer (a refused login, internal TLS off).
    may_decline: bool = False

    def __str__(self) -> str:
        """The mode as the plugin guide's table of hooks writes it."""
        if self.kind == "first_result":
            return "first result"
        if self.kind == "per_plugin":
            return "per plugin"
        if self.kind == "pipe":
            return f"pipe `{self.value}`"
        if self.kind == "each":
            return ", ".join(["each", *(["strict"] if self.strict else []),
                              *(["reverse"] if self.reverse else [])])
        if self.kind == "notify":
            return "notify, background" if self.awaits else "notify"
        if self.kind == "single" and self.chosen_by:
            return f"single, `[hub] {self.chosen_by}`"
        return self.kind


def _recording(mode: CallMode) -> Marker:
    def record(spec: SpecFunction) -> SpecFunction:
        setattr(spec, MODE_ATTRIBUTE, mode)
        return spec
    return record


def first_result(spec: SpecFunction) -> SpecFunction:
    """Plugins in order, awaiting each answer, until one is not ``None``."""
    return _recording(CallMode("first_result", awaits=True))(spec)


def per_plugin(spec: SpecFunction) -> SpecFunction:
    """Every plugin, synchronously; ``(plugin name, answer)`` for each answer that is
    not ``None``, in call order."""
    return _recording(CallMode("per_plugin", awaits=False))(spec)


def collect(spec: SpecFunction) -> SpecFunction:
    """Every plugin, synchronously; the lists they return, concatenated."""
    return _recording(CallMode("collect", awaits=False))(spec)


def each(*, strict: bool, reverse: bool = False, awaits: bool = True) -> Marker:
    """Every plugin in turn; results ignored. A plain-function ``each`` (such as
    ``declare_options``) runs like ``collect``, so it must be strict."""
    if not (awaits or strict):
        raise ValueError("a plain-function `each` hook must be strict")
    return _recording(CallMode("each", awaits=awaits, strict=strict, reverse=reverse))


def pipe(value: str) -> Marker:
    """``value`` passed through every plugin in order; a non-None answer replaces it."""
    return _recording(CallMode("pipe", awaits=True, value=value))


def notify(*, background: bool) -> Marker:
    """Every observer; ``background``: an awaitable answer runs as a background task."""
    return _recording(CallMode("notify", awaits=background))


def single(noun: str, *, chosen_by: str | None = None, default: str | None = None,
           may_decline: bool = False, awaits: bool = False) -> Marker:
    """A role: exactly one plugin answers (the one ``[hub] chosen_by`` names, if set)."""
    if chosen_by and not default:
        raise ValueError(f"the {noun} role chosen by [hub] {chosen_by} needs a default plugin")
    return _recording(CallMode("single", awaits=awaits, noun=noun, chosen_by=chosen_by,
                               default=default, may_decline=may_decline))


def mode_of(spec: Callable[..., object]) -> CallMode:
    """The call mode recorded on a spec; a spec without one is a kernel bug."""
    mode = getattr(spec, MODE_ATTRIBUTE, None)
    if mode is None:
        raise TypeError(f"hook spec {spec.__name__!r} declares no call mode "
                        "(see kernel.hookmodes)")
    return mode


def modes_of(specs: ModuleType) -> dict[str, CallMode]:
    """Every hook's call mode, by hook name, in the order the module defines them."""
    return {name: getattr(value, MODE_ATTRIBUTE) for name, value in vars(specs).items()
            if callable(value) and hasattr(value, MODE_ATTRIBUTE)}
