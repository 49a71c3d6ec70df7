# A realistic JupyterHub config for a course, as an operator would bring it to kernelhub.
import sys

c = get_config()  # noqa: F821 - JupyterHub provides it

c.JupyterHub.bind_url = "http://127.0.0.1:8000/course"
c.JupyterHub.authenticator_class = "jupyterhub.auth.DummyAuthenticator"
c.DummyAuthenticator.password = "classroom"
c.Authenticator.admin_users = {"teacher"}
c.Authenticator.allowed_users.add("student1")
c.Authenticator.allowed_users.add("student2")
c.JupyterHub.admin_users = {"principal"}  # the deprecated spelling, merged

c.JupyterHub.spawner_class = "simple"
c.Spawner.cmd = [sys.executable, "-m", "kernel.testing.mockserver"]
c.Spawner.environment = {"COURSE": "physics-101"}
c.Spawner.start_timeout = 120
c.Spawner.http_timeout = 45
c.Spawner.default_url = "/lab"
c.Spawner.mem_limit = "2G"
c.Spawner.pre_spawn_hook = lambda spawner: None  # cannot be translated

c.JupyterHub.concurrent_spawn_limit = 10
c.JupyterHub.active_server_limit = 50
c.JupyterHub.allow_named_servers = True
c.JupyterHub.named_server_limit_per_user = 2
c.JupyterHub.cookie_max_age_days = 1
c.JupyterHub.cleanup_servers = False
c.JupyterHub.load_groups = {
    "physics": ["student1", "student2"],
    "biology": {"users": ["student2"], "properties": {"building": "B", "floor": 2}},
}
c.JupyterHub.services = [
    {"name": "idle-culler", "command": [sys.executable, "-m", "jupyterhub_idle_culler",
                                        "--timeout=3600"],
     "environment": {"CULL_LOG": "1"}, "info": {"owner": "it"}},
]
c.JupyterHub.load_roles = [
    {"name": "grader", "scopes": ["list:users", "admin:servers!group=physics"],
     "users": ["teacher"]},
    {"name": "idle-culler", "scopes": ["list:users", "read:users:activity", "read:servers",
                                       "delete:servers"], "services": ["idle-culler"]},
]
c.JupyterHub.tornado_settings = {"slow_spawn_timeout": 5}

c.ConfigurableHTTPProxy.should_start = True
c.ConfigurableHTTPProxy.api_url = "http://127.0.0.1:8001"

c.JupyterHub.statsd_host = "127.0.0.1"  # the statsd plugin must be switched on for this
