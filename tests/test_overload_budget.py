"""A request budget (kernel.web.overload.Budget): places, a FIFO queue, and leaving it."""

from __future__ import annotations

import asyncio

import pytest

from kernel.web.overload import Budget, Shed


def budget(limit: int = 1, queue_size: int = 2, queue_timeout: float = 30) -> Budget:
    return Budget("requests", limit, queue_size, queue_timeout)


def test_places_are_given_in_the_order_requests_queued():
    async def scenario() -> list[str]:
        b = budget(limit=1, queue_size=2)
        await b.acquire()
        order: list[str] = []

        async def request(name: str) -> None:
            await b.acquire()
            order.append(name)

        first = asyncio.create_task(request("first"))
        await asyncio.sleep(0)
        second = asyncio.create_task(request("second"))
        await asyncio.sleep(0)
        b.release()
        await first
        b.release()
        await second
        b.release()
        assert b.in_flight == 0
        return order

    assert asyncio.run(scenario()) == ["first", "second"]


def test_a_full_queue_sheds_at_once():
    async def scenario() -> None:
        b = budget(limit=1, queue_size=1)
        await b.acquire()
        waiting = asyncio.create_task(b.acquire())
        await asyncio.sleep(0)
        with pytest.raises(Shed, match="queue full"):
            await b.acquire()
        waiting.cancel()

    asyncio.run(scenario())


def test_a_request_that_waits_too_long_is_shed_and_leaves_the_queue():
    async def scenario() -> None:
        b = budget(limit=1, queue_size=1, queue_timeout=0.01)
        await b.acquire()
        with pytest.raises(Shed, match="waited"):
            await b.acquire()
        assert not b.waiting and b.in_flight == 1

    asyncio.run(scenario())


def test_a_client_gone_while_queued_takes_no_place():
    async def scenario() -> None:
        b = budget(limit=1, queue_size=2)
        await b.acquire()
        gone = asyncio.create_task(b.acquire())
        await asyncio.sleep(0)
        gone.cancel()
        await asyncio.gather(gone, return_exceptions=True)
        b.release()
        assert b.in_flight == 0 and not b.waiting

    asyncio.run(scenario())


def test_no_limit_admits_everyone():
    async def scenario() -> None:
        b = budget(limit=0, queue_size=0)
        for _ in range(100):
            await b.acquire()
        assert b.in_flight == 100 and not b.full

    asyncio.run(scenario())
