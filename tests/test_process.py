"""plugins.support.process: ports that are not handed out twice, and child processes found again."""

from __future__ import annotations

import asyncio
import signal
import socket
import sys
import time

from plugins.support.process import ChildProcess, free_port, process_alive


def test_a_port_is_not_handed_out_twice_while_its_server_may_still_be_starting():
    ports = [free_port("127.0.0.1") for _ in range(300)]
    assert len(set(ports)) == len(ports)
    # Still free: nothing holds them.
    with socket.socket() as s:
        s.bind(("127.0.0.1", ports[-1]))


def test_a_child_is_started_found_again_by_pid_and_start_time_and_stopped():
    async def scenario() -> None:
        child = ChildProcess()
        pid = await child.start([sys.executable, "-c", "import time; time.sleep(60)"],
                                env={}, cwd=None)
        assert await child.poll() is None
        state = child.state()
        # A hub that restarted knows only the saved state.
        found = ChildProcess()
        found.load(state)
        assert await found.poll() is None
        assert not process_alive(pid, state["start_ticks"] + 1)  # a reused pid is not it
        assert await found.stop([(signal.SIGTERM, 5.0), (signal.SIGKILL, 5.0)])
        await child.process.wait()  # reap it
        assert not process_alive(pid, state["start_ticks"])

    asyncio.run(scenario())


def test_a_child_that_exited_polls_as_stopped_before_the_event_loop_hears_it():
    # Another spawner object may stop the server (by pid, as after a restart): the
    # one that started it must not go on saying it runs until the loop learns of it.
    async def scenario() -> int | None:
        child = ChildProcess()
        pid = await child.start([sys.executable, "-c", "import time; time.sleep(60)"],
                                env={}, cwd=None)
        start_ticks = child.state()["start_ticks"]
        child.process.kill()
        # Blocking the loop keeps the news of the exit from it, as a busy hub can.
        while process_alive(pid, start_ticks):
            time.sleep(0.01)
        return await child.poll()

    assert asyncio.run(scenario()) == -signal.SIGKILL
