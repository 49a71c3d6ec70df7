"""A Docker engine of its own for tests and benchmarks: ``dockerd`` in a scratch folder.

It has no bridge and touches no iptables (``--bridge=none --iptables=false``),
so its containers use the host's network; it listens only on a Unix socket in
that folder, and nothing it does outlives ``stop()`` but the folder.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterator


class EngineUnavailable(RuntimeError):
    """dockerd is not installed, or cannot run here (it needs root)."""


@contextmanager
def private_engine(timeout: float = 60.0) -> Iterator[str]:
    """Start dockerd; yield its address (``unix://.../docker.sock``); stop it afterwards."""
    dockerd = shutil.which("dockerd")
    if dockerd is None:
        raise EngineUnavailable("no dockerd: apt-get install -y --no-install-recommends "
                                "docker.io")
    if os.geteuid() != 0:
        raise EngineUnavailable("dockerd needs root")
    # Short: the engine's sockets live under it, and a Unix socket's path has ~100 bytes.
    folder = Path(tempfile.mkdtemp(prefix="khd-", dir="/tmp"))
    socket_path = folder / "docker.sock"
    with (folder / "dockerd.log").open("wb") as log:
        process = subprocess.Popen(
            [dockerd, "--bridge=none", "--iptables=false", "--ip6tables=false",
             "--data-root", str(folder / "root"), "--exec-root", str(folder / "exec"),
             "--pidfile", str(folder / "dockerd.pid"), "-H", f"unix://{socket_path}"],
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        _wait_for_socket(process, socket_path, folder / "dockerd.log", timeout)
        yield f"unix://{socket_path}"
    finally:
        _stop(process)
        subprocess.run(["umount", "-R", str(folder / "root")], capture_output=True,
                       check=False)
        shutil.rmtree(folder, ignore_errors=True)


def _wait_for_socket(process: subprocess.Popen[bytes], socket_path: Path, log: Path,
                     timeout: float) -> None:
    import docker

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise EngineUnavailable(f"dockerd exited with {process.returncode}:\n"
                                    f"{log.read_text(errors='replace')[-3000:]}")
        if socket_path.exists():
            client = docker.DockerClient(base_url=f"unix://{socket_path}", version="auto")
            try:
                client.ping()
                return
            except docker.errors.DockerException:
                pass
            finally:
                client.close()
        time.sleep(0.2)
    _stop(process)
    raise EngineUnavailable(f"dockerd did not answer within {timeout} s:\n"
                            f"{log.read_text(errors='replace')[-3000:]}")


def _stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM: dockerd stops its containers and its containerd; SIGKILL if it hangs."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
