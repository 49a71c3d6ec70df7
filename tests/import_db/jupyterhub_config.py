"""The JupyterHub whose database `kernel import-db` moves: loopback ports, a database from
the environment, dummy logins and kernelhub's mock single-user server (nothing real to run)."""

import os

c = get_config()  # noqa: F821 - JupyterHub defines it

directory = os.environ["IMPORTDB_DIR"]
c.JupyterHub.ip = "127.0.0.1"
c.JupyterHub.port = int(os.environ["IMPORTDB_PUBLIC_PORT"])
c.JupyterHub.hub_ip = "127.0.0.1"
c.JupyterHub.hub_port = int(os.environ["IMPORTDB_HUB_PORT"])
c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{os.environ['IMPORTDB_PROXY_API_PORT']}"
c.JupyterHub.db_url = os.environ["IMPORTDB_DB_URL"]
c.JupyterHub.cookie_secret_file = f"{directory}/cookie_secret"
c.JupyterHub.authenticator_class = "dummy"
c.Authenticator.allow_all = True
c.Authenticator.admin_users = {"dave"}
c.Authenticator.enable_auth_state = True  # with JUPYTERHUB_CRYPT_KEY from the test
c.JupyterHub.spawner_class = "simple"
c.Spawner.cmd = [os.environ["IMPORTDB_PYTHON"], "-m", "kernel.testing.mockserver"]
c.Spawner.default_url = "/tree"
c.SimpleLocalProcessSpawner.home_dir_template = f"{directory}/home/{{username}}"
c.JupyterHub.allow_named_servers = True
c.JupyterHub.services = [{"name": "robot", "api_token": os.environ["IMPORTDB_ROBOT_TOKEN"]}]
c.JupyterHub.load_roles = [
    {"name": "robot", "scopes": ["admin:users", "admin:groups", "admin:servers", "tokens",
                                 "shares", "admin:services", "read:roles", "list:services",
                                 "admin:auth_state"],
     "services": ["robot"]},
    {"name": "auditor", "description": "reads who is who",
     "scopes": ["read:users", "read:groups"], "users": ["carol"], "groups": ["physics"]},
]
