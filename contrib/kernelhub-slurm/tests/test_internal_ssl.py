"""With internal_ssl, the job's server gets its certificate in the user's home, readable by
the user alone, and the proxy reaches it over HTTPS."""

from __future__ import annotations

import pwd
import stat
from pathlib import Path

import httpx
import pytest
from cluster import SlurmCluster
from conftest import slurm_sections
from slurm_steps import request_spawn, stop, wait_ready

from kernel.testing.infra import singleuser_venv_file

pytestmark = pytest.mark.slow


def test_a_job_serves_https_with_a_certificate_only_its_user_reads(
        make_hub, idle_cluster: SlurmCluster, slurm_user: pwd.struct_passwd, tmp_path: Path):
    sections = slurm_sections()
    sections["spawner"]["cmd"] = str(singleuser_venv_file("jupyterhub-singleuser"))
    sections["hub"].update(plugins="internal-ssl", internal_ssl="true",
                           internal_certs_location=str(tmp_path / "internal-ssl"))
    hub = make_hub(sections)
    name = hub.new_user(slurm_user.pw_name)
    token = hub.new_token(name)
    request_spawn(hub.api_as(token), name)
    wait_ready(hub.api, name)

    folder = Path(slurm_user.pw_dir) / ".jupyterhub" / "jupyterhub-certs"
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    for file in folder.iterdir():
        assert (file.stat().st_uid, stat.S_IMODE(file.stat().st_mode)) == \
            (slurm_user.pw_uid, 0o600)
    assert any(folder.glob("*.key"))
    assert hub.api.get("proxy").json()[f"/user/{name}/"]["target"].startswith("https://")
    status = httpx.get(f"{hub.url}user/{name}/api/status",
                       headers={"Authorization": f"token {token}"}, timeout=60)
    assert status.status_code == 200, status.text
    stop(hub.api, name)
