"""The one configuration both hubs of the compatibility test run from.

JupyterHub 6.1.1 reads it as it is; kernelhub reads the hub.ini that
``kernel import-config`` writes from it. Ports and folders come from the
environment (``COMPAT_*``), set by tests/compat/stack.py for each hub.
"""

import os

env = os.environ
folder = env["COMPAT_DIR"]

c = get_config()  # noqa: F821 - JupyterHub and import-config both provide it

c.JupyterHub.bind_url = f"http://127.0.0.1:{env['COMPAT_PUBLIC_PORT']}"
c.JupyterHub.hub_ip = "127.0.0.1"
c.JupyterHub.hub_port = int(env["COMPAT_HUB_PORT"])
c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{env['COMPAT_PROXY_API_PORT']}"
c.JupyterHub.db_url = f"sqlite:///{folder}/hub.sqlite"
c.JupyterHub.cookie_secret_file = f"{folder}/cookie_secret"

c.JupyterHub.authenticator_class = "dummy"
c.DummyAuthenticator.password = env["COMPAT_PASSWORD"]
c.Authenticator.allowed_users = {"alice", "bob", "carol", "dave"}
c.Authenticator.admin_users = {"admin"}

c.JupyterHub.spawner_class = "simple"
c.SimpleLocalProcessSpawner.home_dir_template = f"{folder}/home/{{username}}"
c.Spawner.cmd = [env["COMPAT_SINGLEUSER"]]
# The test runs as root; JupyterLab's own server extensions only slow the start.
c.Spawner.args = [
    "--allow-root",
    "--ServerApp.jpserver_extensions=jupyterlab=False",
    "--ServerApp.jpserver_extensions=jupyter_lsp=False",
]
c.Spawner.default_url = "/api/status"
c.Spawner.start_timeout = 60
c.Spawner.http_timeout = 60
# Real servers report activity every second instead of every five minutes.
c.Spawner.environment = {"JUPYTERHUB_ACTIVITY_INTERVAL": "1"}

c.JupyterHub.allow_named_servers = True
c.JupyterHub.named_server_limit_per_user = 2
c.JupyterHub.concurrent_spawn_limit = 2
c.JupyterHub.activity_resolution = 0
# Spawns answer 202 at once and stay pending a while: pending spawns, spawn-pending
# pages and concurrent_spawn_limit's 429 are then seen on every run.
c.JupyterHub.tornado_settings = {"slow_spawn_timeout": 0}

c.JupyterHub.api_tokens = {env["COMPAT_ADMIN_TOKEN"]: "admin"}
c.JupyterHub.services = [
    # An external service with a known token: it makes tokens for users.
    {"name": "robot", "api_token": env["COMPAT_ROBOT_TOKEN"]},
    # The idle culler, run by the test itself with this token.
    {"name": "culler", "api_token": env["COMPAT_CULLER_TOKEN"]},
]
c.JupyterHub.load_groups = {
    "physics": {"users": ["alice", "bob"], "properties": {"building": "A"}},
    "chemistry": ["carol"],
}
c.JupyterHub.load_roles = [
    # Users may share their own servers (JupyterHub's documented way to allow sharing;
    # sharing with a user by name also needs read:users:name).
    {"name": "user", "scopes": ["self", "shares!user", "read:users:name"]},
    {"name": "auditor", "description": "reads users and their activity",
     "scopes": ["list:users", "read:users", "read:users:activity"], "users": ["carol"]},
    {"name": "physics-ops", "scopes": ["servers!group=physics", "read:users!group=physics"],
     "users": ["dave"]},
    {"name": "robot", "scopes": ["tokens!user=alice", "read:users!user=alice",
                                 "list:users"], "services": ["robot"]},
    {"name": "culler", "scopes": ["list:users", "read:users:activity", "read:servers",
                                  "delete:servers"], "services": ["culler"]},
]
