"""The options form offers the cluster's partitions with their limits; refused choices are a 400."""

from __future__ import annotations

import pwd
import re

import pytest
from cluster import SlurmCluster
from conftest import slurm_sections
from slurm_steps import request_spawn, stop, wait_ready

from kernel.testing.hub import wait_until

pytestmark = pytest.mark.slow


def test_the_form_offers_sinfos_partitions_and_the_choice_reaches_the_job(
        make_hub, idle_cluster: SlurmCluster, slurm_user: pwd.struct_passwd):
    hub = make_hub(slurm_sections(offer_partitions="true"))
    name = hub.new_user(slurm_user.pw_name)
    client = hub.process.client()
    client.login(name)
    page = client.get(f"hub/spawn/{name}").text
    offered = re.findall(r'<option value="([^"]+)"[^>]*>([^<]+)</option>', page)
    assert offered == [("debug", "debug (2 CPUs, 2000 MB a node, no time limit)"),
                       ("short", "short (2 CPUs, 2000 MB a node, up to 2:00:00)")]
    xsrf = re.search(r'name="_xsrf" value="([^"]+)"', page).group(1)
    client.post(f"hub/spawn/{name}", data={"partition": "short", "cores": "2",
                                           "time_limit": "30:00", "_xsrf": xsrf})
    wait_ready(hub.api, name)
    assert idle_cluster.jobs("%P", "%C", "%l") == ["short|2|30:00"]
    assert hub.api.get(f"users/{name}").json()["servers"][""]["user_options"] == \
        {"partition": "short", "cores": "2", "time_limit": "30:00"}
    stop(hub.api, name)


@pytest.mark.parametrize(("options", "reason"), [
    ({"partition": "gpu"}, "There is no partition 'gpu'; choose one of debug, short"),
    ({"cores": "64"}, "Partition debug has 2 CPUs a node; ask for 2 or fewer"),
    ({"memory": "lots"}, "memory: expected a value such as 4G, got 'lots'"),
    ({"time_limit": "1h; rm -rf ~"}, "time limit: expected a value such as 2:00:00"),
])
def test_a_choice_slurm_would_refuse_is_a_400_with_the_reason(
        make_hub, idle_cluster: SlurmCluster, slurm_user: pwd.struct_passwd,
        options: dict[str, str], reason: str):
    hub = make_hub(slurm_sections(offer_partitions="true"))
    name = hub.new_user(slurm_user.pw_name)
    api = hub.api_as(hub.new_token(name))
    refused = api.post(f"users/{name}/server", json=options)
    assert refused.status_code == 400
    assert reason in refused.json()["message"]
    assert idle_cluster.jobs() == []
    request_spawn(api, name, {"partition": "debug"})  # an allowed choice still starts
    wait_ready(hub.api, name)
    wait_until(lambda: idle_cluster.jobs("%P") == ["debug"], what="the job in debug")
    stop(hub.api, name)
