"""An async `log` observer, which the hub runs in the background."""

import asyncio

from kernel import hookimpl

SEEN: list[str] = []


@hookimpl
async def log(event):
    await asyncio.sleep(0)
    SEEN.append(event.name)
