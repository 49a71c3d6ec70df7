"""What the `log` and `metrics` hooks receive: structured events and measurements."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from kernel.clock import utcnow


@dataclass(frozen=True)
class Event:
    """Something that happened, for the `log` hook.

    ``name`` is one of: ``request`` (every HTTP request the hub answers:
    method, path, status, user, client, duration_ms), ``login``,
    ``login.failed``, ``logout``, ``spawn.requested``, ``spawn.ready``,
    ``spawn.failed``, ``stop``, ``server.died``, ``server.culled`` (by the
    idle-culler plugin), ``route.added``, ``route.removed``, ``user.created``,
    ``user.renamed``, ``user.deleted``, ``hub.started``, ``hub.stopping``.
    """

    name: str
    fields: dict[str, Any] = field(default_factory=dict)
    time: datetime = field(default_factory=utcnow)


MeasurementKind = Literal["counter", "gauge", "timing"]


@dataclass(frozen=True)
class Measurement:
    """A number, for the `metrics` hook; timings are in seconds."""

    name: str
    kind: MeasurementKind
    value: float
    labels: dict[str, str] = field(default_factory=dict)
