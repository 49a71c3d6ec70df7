"""kernel.testing.hub's running_hub: a real hub started for a test, even when ports race."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from kernel.testing import hub as testing_hub
from kernel.testing.hub import START_ATTEMPTS, PortTaken, running_hub


@pytest.fixture
def taken_port() -> Iterator[int]:
    """A port another process listens on, as a port picked free and then taken is."""
    with socket.socket() as taker:
        taker.bind(("127.0.0.1", 0))
        taker.listen()
        yield taker.getsockname()[1]


# running_hub picks the public port, then the hub's, then the proxy API's.
@pytest.mark.parametrize("which", [0, 1, 2], ids=["public", "hub", "proxy-api"])
def test_a_port_taken_before_the_hub_binds_it_is_replaced(
        tmp_path: Path, taken_port: int, which: int, monkeypatch: pytest.MonkeyPatch) -> None:
    picks = iter(range(1_000))
    real_free_port = testing_hub.free_port

    def free_port_taken_once() -> int:
        # The race made certain: the port is taken between its pick and the hub's bind.
        return taken_port if next(picks) == which else real_free_port()

    monkeypatch.setattr(testing_hub, "free_port", free_port_taken_once)
    with running_hub(tmp_path) as hub:
        assert taken_port not in (hub.public_port, hub.hub_port, hub.proxy_api_port)
        assert httpx.get(f"{hub.url}hub/health").status_code == 200
        assert "address already in use" in hub.log.lower()


def test_a_taken_port_the_caller_chose_fails_with_port_taken(tmp_path: Path,
                                                            taken_port: int) -> None:
    with pytest.raises(PortTaken, match=str(taken_port)), \
            running_hub(tmp_path, public_port=taken_port):
        pass
    # Each attempt started a hub, which said why it stopped.
    assert (tmp_path / "hub.log").read_text().count("kernel-proxy cannot start") \
        == START_ATTEMPTS
