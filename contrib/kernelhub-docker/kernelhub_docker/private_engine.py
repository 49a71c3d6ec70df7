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


class PrivateEngine:
    """dockerd serving from one scratch folder; ``address`` is where to reach it."""

    def __init__(self, dockerd: str, folder: Path, timeout: float) -> None:
        self.dockerd = dockerd
        self.folder = folder
        self.timeout = timeout
        self.socket_path = folder / "docker.sock"
        self.address = f"unix://{self.socket_path}"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        """Start dockerd on the folder's data (again, after ``stop``) and wait for it."""
        with (self.folder / "dockerd.log").open("ab") as log:
            self.process = subprocess.Popen(
                [self.dockerd, "--bridge=none", "--iptables=false", "--ip6tables=false",
                 "--data-root", str(self.folder / "root"),
                 "--exec-root", str(self.folder / "exec"),
                 "--pidfile", str(self.folder / "dockerd.pid"), "-H", self.address],
                stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        _wait_for_socket(self.process, self.socket_path, self.folder / "dockerd.log",
                         self.timeout)

    def stop(self) -> None:
        """Stop dockerd; it stops its containers first, as on a host's shutdown."""
        if self.process is not None:
            _stop(self.process)

    def restart(self) -> None:
        self.stop()
        self.start()


@contextmanager
def private_engine(timeout: float = 60.0) -> Iterator[PrivateEngine]:
    """Start dockerd in a scratch folder; stop it and remove the folder afterwards."""
    dockerd = shutil.which("dockerd")
    if dockerd is None:
        raise EngineUnavailable("no dockerd: apt-get install -y --no-install-recommends "
                                "docker.io")
    if os.geteuid() != 0:
        raise EngineUnavailable("dockerd needs root")
    # Short: the engine's sockets live under it, and a Unix socket's path has ~100 bytes.
    folder = Path(tempfile.mkdtemp(prefix="khd-", dir="/tmp"))
    engine = PrivateEngine(dockerd, folder, timeout)
    try:
        engine.start()
        yield engine
    finally:
        engine.stop()
        _unmount_everything_under(folder)
        shutil.rmtree(folder, ignore_errors=True)


def _unmount_everything_under(folder: Path) -> None:
    """What dockerd leaves mounted in its folders (its network namespace, overlays)."""
    mounts = [line.split()[1] for line in Path("/proc/self/mounts").read_text().splitlines()]
    for point in sorted((m for m in mounts if m.startswith(f"{folder}/")), key=len,
                        reverse=True):
        subprocess.run(["umount", point], capture_output=True, check=False)


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
