"""mem_limit and mem_guarantee reach a real server in bytes, as JupyterHub passes them."""

from __future__ import annotations

from kernel.testing.hub import running_hub, wait_until


def test_mem_limit_and_guarantee_reach_the_server_in_bytes(tmp_path):
    sections = {"spawner": {"mem_limit": "2G", "mem_guarantee": "1.5G", "cpu_limit": "2"}}
    with running_hub(tmp_path / "hub", sections) as hub:
        client = hub.client()
        client.login("alice")
        headers = {"X-XSRFToken": client.cookies["_xsrf"]}
        assert client.post("hub/api/users/alice/server", headers=headers).status_code in (201,
                                                                                            202)
        wait_until(lambda: client.get("user/alice/env").status_code == 200)
        env = client.get("user/alice/env").json()
    assert env["MEM_LIMIT"] == "2147483648"
    assert env["MEM_GUARANTEE"] == "1610612736"
    assert env["CPU_LIMIT"] == "2"
