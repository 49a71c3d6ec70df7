"""Running code in a Jupyter kernel over its websocket, as JupyterLab does, for tests."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import httpx
from websockets.sync.client import connect


def start_kernel(server_url: str, token: str) -> str:
    """Start a kernel through the server's REST API; its id."""
    response = httpx.post(f"{server_url}api/kernels", json={"name": "python3"},
                          headers={"Authorization": f"token {token}"}, timeout=60)
    response.raise_for_status()
    return response.json()["id"]


def channels_url(server_url: str, kernel_id: str) -> str:
    """The websocket address of a kernel's channels on the server at ``server_url``."""
    return server_url.replace("http://", "ws://", 1) + f"api/kernels/{kernel_id}/channels"


def execute_request(code: str) -> dict[str, Any]:
    """A Jupyter ``execute_request`` message running ``code``, with a new message id."""
    return {
        "header": {"msg_id": uuid.uuid4().hex, "msg_type": "execute_request",
                   "username": "test", "session": uuid.uuid4().hex, "date": "",
                   "version": "5.3"},
        "parent_header": {}, "metadata": {}, "channel": "shell", "buffers": [],
        "content": {"code": code, "silent": False, "store_history": False,
                    "user_expressions": {}, "allow_stdin": False, "stop_on_error": True},
    }


def execute(server_url: str, token: str, kernel_id: str, code: str,
            timeout: float = 60) -> str:
    """Run ``code`` in the kernel over its websocket; the text/plain result."""
    ws_url = channels_url(server_url, kernel_id)
    request = execute_request(code)
    msg_id = request["header"]["msg_id"]
    deadline = time.monotonic() + timeout
    with connect(ws_url, additional_headers={"Authorization": f"token {token}"},
                 open_timeout=timeout) as ws:
        ws.send(json.dumps(request))
        while True:
            message = json.loads(ws.recv(timeout=max(0.1, deadline - time.monotonic())))
            if message.get("parent_header", {}).get("msg_id") != msg_id:
                continue
            if message["msg_type"] == "execute_result":
                return message["content"]["data"]["text/plain"]
            if message["msg_type"] == "error":
                raise AssertionError(f"the kernel raised {message['content']['ename']}")
