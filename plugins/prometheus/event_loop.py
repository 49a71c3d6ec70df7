"""Measuring how responsive the hub's event loop is, as JupyterHub's event_loop_interval does.

A task sleeps for ``resolution`` seconds over and over; when it wakes up
later than that, something held the event loop for the difference. Every
tick is observed, so the histogram shows how often and how long the hub
could not answer anyone.
"""

from __future__ import annotations

import asyncio
import logging
import time

from prometheus_client import Histogram

log = logging.getLogger("kernelhub.prometheus")


async def watch_event_loop(histogram: Histogram, resolution: float,
                           log_threshold: float) -> None:
    """Observe the event loop's delay every ``resolution`` seconds, until cancelled.

    A delay of at least ``log_threshold`` seconds is also logged as a warning.
    """
    tick = time.perf_counter
    last = tick()
    # Below twice the resolution the delay cannot be told apart from timer jitter.
    lower_bound = 2 * resolution
    while True:
        await asyncio.sleep(resolution)
        now = tick()
        elapsed, last = now - last, now
        if elapsed < lower_bound:
            delay = resolution
        else:
            delay = elapsed - resolution
            if delay >= log_threshold:
                log.warning("The event loop was unresponsive for at least %.2f s", delay)
        histogram.observe(delay)
