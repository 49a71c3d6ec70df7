"""hub.background: plugins' long-running tasks, logged when they fail, stopped with the hub."""

from __future__ import annotations

import asyncio
import logging

from kernel.testing.hub import hub_app


def test_a_background_task_is_logged_when_it_fails_and_cancelled_at_shutdown(tmp_path, caplog):
    hub = hub_app(tmp_path).state.hub
    hub.cleanup_proxy = False  # nothing was started

    async def fails() -> None:
        raise RuntimeError("the statsd host went away")

    async def scenario() -> asyncio.Task[None]:
        hub.background(fails(), name="gauges")
        forever = hub.background(asyncio.Event().wait(), name="checks")
        await asyncio.sleep(0.05)
        await hub.stop()
        return forever

    with caplog.at_level(logging.ERROR, logger="kernelhub"):
        forever = asyncio.run(scenario())
    assert forever.cancelled()
    assert "gauges failed" in caplog.text and "the statsd host went away" in caplog.text
