"""The options the kernel itself reads in [hub], [auth], [spawner] and [proxy].

``[hub]`` keeps JupyterHub's option names (``c.JupyterHub.port`` is
``[hub] port``); options of a feature that a plugin provides (statsd,
internal_ssl, templates, services, ...) are declared by that plugin. The
repeated sections (``[group:NAME]`` and the like) are ``collection_options``.
"""

from __future__ import annotations

from kernel.config.collection_options import declare_collection_options
from kernel.config.jupyterhub_leftovers import declare_jupyterhub_leftovers
from kernel.config.options import OptionRegistry
from kernel.config.overload_options import declare_overload_options
from kernel.config.types import (
    URL,
    Boolean,
    ByteSize,
    Choice,
    Command,
    Integer,
    IPNetworks,
    LogLevel,
    Number,
    Secret,
    Table,
    Text,
    TextList,
    TypedTable,
    URLPrefix,
)

#: [hub.db_kwargs] keys of the database drivers (sqlite3, psycopg2, PyMySQL) and of peewee
#: whose values are not text; any other key is passed on as text (a password stays a string).
DB_KWARGS = (
    ("timeout", Number(minimum=0)),
    ("check_same_thread", Boolean()),
    ("cached_statements", Integer(minimum=0)),
    ("detect_types", Integer(minimum=0)),
    ("uri", Boolean()),
    ("autoconnect", Boolean()),
    ("thread_safe", Boolean()),
    ("autorollback", Boolean()),
    ("max_connections", Integer(minimum=1)),
    ("stale_timeout", Number(minimum=0)),
    ("port", Integer(minimum=1)),
    ("connect_timeout", Integer(minimum=0)),
    ("read_timeout", Number(minimum=0)),
    ("write_timeout", Number(minimum=0)),
    ("keepalives", Integer(minimum=0)),
    ("keepalives_idle", Integer(minimum=0)),
    ("keepalives_interval", Integer(minimum=0)),
    ("keepalives_count", Integer(minimum=0)),
    ("autocommit", Boolean()),
    ("local_infile", Boolean()),
    ("ssl_disabled", Boolean()),
    ("ssl_verify_cert", Boolean()),
    ("ssl_verify_identity", Boolean()),
)

#: The variables a local server inherits from the hub's own environment by default.
DEFAULT_ENV_KEEP = [
    "CONDA_DEFAULT_ENV",
    "CONDA_ROOT",
    "JUPYTERHUB_SINGLEUSER_APP",
    "LANG",
    "LC_ALL",
    "LD_LIBRARY_PATH",
    "PATH",
    "PYTHONPATH",
    "VIRTUAL_ENV",
]


def declare_core_options(options: OptionRegistry) -> None:
    """Declare every option the kernel owns."""
    _declare_plugin_choice(options)
    _declare_network(options)
    _declare_database(options)
    _declare_security(options)
    declare_overload_options(options)
    _declare_servers(options)
    _declare_logging(options)
    declare_jupyterhub_leftovers(options)
    _declare_auth(options)
    _declare_spawner(options)
    _declare_proxy(options)
    declare_collection_options(options)


def _declare_plugin_choice(o: OptionRegistry) -> None:
    o.add("hub", "authenticator_class", Text(), "pam",
          "The plugin that logs people in: pam, dummy, null, or another installed one.")
    o.add("hub", "spawner_class", Text(), "localprocess",
          "The plugin that starts users' servers (localprocess, simple, or an installed plugin).")
    o.add("hub", "proxy_class", Text(), "kernel-proxy",
          "The plugin that routes the public address: kernel-proxy, or another installed one.")
    o.add("hub", "plugins", TextList(), [],
          "Further plugins to enable, in the order their hooks are called. `no:NAME` "
          "disables a plugin that is on by default. `kernel plugins` lists what is installed.")


def _declare_network(o: OptionRegistry) -> None:
    o.add("hub", "bind_url", URL(), "http://:8000",
          "The public URL, where the proxy listens. Sets the protocol, ip, port and base_url "
          "at once; ip, port and base_url override its parts when set.")
    o.add("hub", "ip", Text(), "",
          "The public IP address the proxy listens on; empty means every interface.")
    o.add("hub", "port", Integer(minimum=1), 8000,
          "The public port the proxy listens on: the one address users open.")
    o.add("hub", "base_url", URLPrefix(), "/",
          "The URL prefix of the whole hub, to run it inside an existing website.")
    o.add("hub", "hub_bind_url", URL(), "",
          "The private URL the hub listens on, e.g. http://127.0.0.1:8081 "
          "(defaults to hub_ip and hub_port).")
    o.add("hub", "hub_ip", Text(), "127.0.0.1",
          "The private IP address the hub listens on. The proxy and the users' servers must "
          "reach it; set it to 0.0.0.0 when they run on other hosts.")
    o.add("hub", "hub_port", Integer(minimum=1), 8081,
          "The private port the hub listens on; only the proxy and servers connect to it.")
    o.add("hub", "hub_connect_ip", Text(), "",
          "The address servers and the proxy use to reach the hub, when it differs from hub_ip "
          "(default: hub_ip, or the host name when hub_ip is 0.0.0.0 or ::).")
    o.add("hub", "hub_connect_url", URL(), "",
          "The full URL servers and the proxy use to reach the hub; overrides hub_connect_ip.")
    o.add("hub", "subdomain_host", URL(), "",
          "Serve each user's servers on a host of their own under this one "
          "(https://hub.example.org: alice's at https://alice.hub.example.org/user/alice/, "
          "named as JupyterHub's 'idna' subdomain hook names them), so that browsers keep "
          "one user's server from reading another's cookies. Needs wildcard DNS (and a "
          "wildcard certificate for https).")
    o.add("hub", "ssl_cert", Text(), "",
          "TLS certificate for the public side of the proxy (with ssl_key).")
    o.add("hub", "ssl_key", Text(), "",
          "TLS private key for the public side of the proxy (with ssl_cert).")
    o.add("hub", "trusted_downstream_ips", IPNetworks(), [],
          "Addresses (or networks) of your own proxies in front of the hub (nginx, traefik) "
          "whose X-Forwarded-For entries are trusted. The hub's own proxy is recognised "
          "without being listed; loopback is not trusted for being loopback, as users' "
          "servers on this machine connect from it too.")
    o.add("hub", "pid_file", Text(), "",
          "Write the hub's process id to this file while it runs.")
    o.add("hub", "proxy_check_interval", Integer(minimum=1), 30,
          "Seconds between checks that the proxy is running and its routes are right.")


def _declare_database(o: OptionRegistry) -> None:
    o.add("hub", "db_url", Text(), "sqlite:///jupyterhub.sqlite",
          "The database: sqlite:///PATH, postgresql://USER@HOST/DB or mysql://USER@HOST/DB.")
    o.add("hub", "db_kwargs", TypedTable(fields=DB_KWARGS), {},
          "Extra connection arguments for the database driver, one `key = value` per line. "
          "Known numeric and true/false arguments are typed (timeout = 30 is a number, "
          "autocommit = true a bool: " + ", ".join(name for name, _ in DB_KWARGS) + "); "
          "any other is passed as text.")
    o.add("hub", "debug_db", Boolean(), False,
          "Log every database query (very verbose).")
    o.add("hub", "upgrade_db", Boolean(), False,
          "Upgrade the database schema at start-up. SQLite files are backed up first; "
          "back up other databases yourself. `kernel upgrade-db` does the same on demand.")
    o.add("hub", "reset_db", Boolean(), False,
          "Delete every table at start-up and begin with an empty database.")


def _declare_security(o: OptionRegistry) -> None:
    o.add("hub", "cookie_secret", Secret(), b"",
          "The secret that signs login cookies (32 random bytes as hex). Default: the "
          "JPY_COOKIE_SECRET environment variable, else cookie_secret_file.")
    o.add("hub", "cookie_secret_file", Text(), "jupyterhub_cookie_secret",
          "File holding the cookie secret as hex; created with mode 0600 when missing, "
          "refused when other users can read it.")
    o.add("hub", "cookie_max_age_days", Number(minimum=0), 14.0,
          "Days a login stays valid.")
    o.add("hub", "cookie_host_prefix_enabled", Boolean(), False,
          "Name the login cookies `__Host-...` (on path `/`, Secure, never for another host) "
          "and keep the session-id cookie off users' subdomains, so that a user's server on "
          "a subdomain cannot set or read the hub's cookies (cookie tossing). Needs https "
          "in front of the hub, and is meant for subdomain_host (as in JupyterHub 4.1+).")
    o.add("hub", "api_tokens", Table(), {},
          "API tokens to load at start-up, `token = username` per line. Prefer services.")
    o.add("hub", "trust_user_provided_tokens", Boolean(), False,
          "Treat tokens from api_tokens and services as random keys (hashed once) instead of "
          "passwords (hashed with many rounds). Only if they come from a good random source.")
    o.add("hub", "admin_access", Boolean(), False,
          "Let admins open (and share) other users' servers. Off, admins still start, stop "
          "and manage servers but cannot see into them. Tell your users if you turn it on.")
    # JupyterHub has no such options (Tornado caps every body at 100 MB); kernelhub caps
    # each kind of endpoint at what its biggest honest request needs.
    o.add("hub", "max_api_body_size", Integer(minimum=1), 10 * 1024 * 1024,
          "Largest request body, in bytes, the REST API (/hub/api/) accepts; larger ones get "
          "413. The biggest honest API bodies (user lists, groups, tokens) are kilobytes.")
    o.add("hub", "max_form_body_size", Integer(minimum=1), 64 * 1024,
          "Largest request body, in bytes, for the hub's pages and the forms anyone may post "
          "without logging in first: login, spawn options, OAuth authorize and token.")
    o.add("hub", "max_csp_report_size", Integer(minimum=1), 16 * 1024,
          "Largest Content-Security-Policy report, in bytes, browsers may post to "
          "/hub/security/csp-report. A report is well under 2 KiB.")


def _declare_servers(o: OptionRegistry) -> None:
    o.add("hub", "cleanup_servers", Boolean(), True,
          "Stop every user's server when the hub shuts down. Off: servers keep running and a "
          "restarted hub takes them over.")
    o.add("hub", "cleanup_proxy", Boolean(), True,
          "Stop the proxy when the hub shuts down (only a proxy the hub started).")
    o.add("hub", "concurrent_spawn_limit", Integer(minimum=0), 100,
          "How many servers may be starting at once; more get 429, try again. 0: no limit.")
    o.add("hub", "active_server_limit", Integer(minimum=0), 0,
          "How many servers may be running or starting at once; more get 429. 0: no limit.")
    o.add("hub", "allow_named_servers", Boolean(), False,
          "Let users run several named servers besides their default one.")
    o.add("hub", "named_server_limit_per_user", Integer(minimum=0), 0,
          "How many named servers one user may have. 0: no limit.")
    o.add("hub", "default_server_name", Text(), "",
          "With named servers, the server that /user-redirect/ and Start open.")
    o.add("hub", "default_url", Text(), "",
          "Where a logged-in user lands from the hub's root (default: their server, or home).")
    o.add("hub", "redirect_to_server", Boolean(), True,
          "After login, send users to their running server instead of the home page.")
    o.add("hub", "shutdown_on_logout", Boolean(), False,
          "Stop a user's servers when they log out.")
    o.add("hub", "init_spawners_timeout", Integer(minimum=-1), 10,
          "Seconds the hub waits at start-up for its servers to be checked before it answers "
          "requests; the rest finish in the background. -1: wait for all.")
    o.add("hub", "active_user_window", Integer(minimum=1), 1800,
          "Seconds of recent activity that count a user as active.")
    o.add("hub", "activity_resolution", Integer(minimum=0), 30,
          "Ignore activity newer than the stored value by less than this many seconds, "
          "to save database writes.")
    o.add("hub", "last_activity_interval", Integer(minimum=1), 300,
          "Seconds between updates of users' activity from the proxy.")
    o.add("hub", "load_groups", Table(TextList()), {},
          "Groups to create at start-up, `group = user1, user2` per line. Only adds; "
          "[group:NAME] sections do the same with more detail.")
    o.add("hub", "answer_yes", Boolean(), False,
          "Answer yes to questions, such as overwriting a file in `kernel generate-config`.")


def _declare_logging(o: OptionRegistry) -> None:
    o.add("hub", "log_level", LogLevel(), 20,
          "The lowest level logged: DEBUG, INFO, WARNING, ERROR or CRITICAL.")
    o.add("hub", "log_format", Text(),
          "%(color)s[%(levelname)1.1s %(asctime)s.%(msecs).03d %(name)s]%(end_color)s %(message)s",
          "The Python logging format of log lines. Besides the standard fields, %(color)s and "
          "%(end_color)s colour the level on a terminal, and %(highlevel)s is JupyterHub's "
          "[level time name] block.")
    o.add("hub", "log_datefmt", Text(), "%Y-%m-%d %H:%M:%S",
          "The date format of %(asctime)s in log lines.")


def _declare_auth(o: OptionRegistry) -> None:
    o.add("auth", "admin_users", TextList(), [],
          "Users who are admins. Applied at every start-up and login; it only grants.")
    o.add("auth", "allowed_users", TextList(), [],
          "Users who may log in. Empty, with allow_all false: nobody but admins and "
          "existing users.")
    o.add("auth", "blocked_users", TextList(), [],
          "Users who may never log in, whatever else says so.")
    o.add("auth", "allow_all", Boolean(), False,
          "Let every user the authenticator accepts log in.")
    o.add("auth", "allow_existing_users", Boolean(), True,
          "Let users already in the database log in, even if not in allowed_users.")
    o.add("auth", "username_pattern", Text(), "",
          "A regular expression every user name must match in full.")
    o.add("auth", "username_map", Table(), {},
          "Rename users at login, `login-name = hub-name` per line.")
    o.add("auth", "throttle_failed_logins", Integer(minimum=0), 5,
          "Failed logins for one user name before each further attempt must wait (1 s, "
          "then 2, 4 ... up to throttle_max_delay); a client address gets four times as "
          "many. It slows a password-guessing loop without locking the real person out. "
          "0: off.")
    o.add("auth", "throttle_max_delay", Number(minimum=1), 60.0,
          "The longest wait, in seconds, between login attempts of a throttled user name.")
    o.add("auth", "enable_auth_state", Boolean(), False,
          "Keep what the authenticator returns as auth_state (tokens for other systems), "
          "encrypted with the keys in JUPYTERHUB_CRYPT_KEY (`openssl rand -hex 32`; several, "
          "separated by ;, to rotate them).")
    o.add("auth", "auth_refresh_age", Integer(minimum=0), 300,
          "Seconds a login is trusted before the authenticator is asked again whether it "
          "still holds (the refresh_user hook). 0: ask on every request.")
    o.add("auth", "refresh_pre_spawn", Boolean(), False,
          "Ask the authenticator whether a login still holds before starting its server.")
    o.add("auth", "delete_invalid_users", Boolean(), False,
          "At start-up, delete users whose names are no longer valid (username_pattern). "
          "Off: the hub refuses to start and names them.")
    o.add("auth", "auto_login", Boolean(), False,
          "Skip the hub's login form and go straight to the authenticator's own login "
          "(for authenticators that send people elsewhere to log in, such as OAuth).")


def _declare_spawner(o: OptionRegistry) -> None:
    o.add("spawner", "cmd", Command(), ["jupyterhub-singleuser"],
          "The command that runs a user's server.")
    o.add("spawner", "args", Command(), [],
          "Extra arguments after cmd.")
    o.add("spawner", "env_keep", TextList(), list(DEFAULT_ENV_KEEP),
          "Environment variables servers inherit from the hub.")
    o.add("spawner", "environment", Table(), {},
          "Environment variables for servers, `NAME = value` per line; `{username}` and "
          "`{servername}` are filled in. These win over everything else.")
    o.add("spawner", "ip", Text(), "127.0.0.1",
          "The address servers listen on; empty means every interface.")
    o.add("spawner", "port", Integer(minimum=0), 0,
          "The port servers listen on; 0 picks a free one.")
    o.add("spawner", "start_timeout", Integer(minimum=1), 60,
          "Seconds a server has to start before the spawn fails.")
    o.add("spawner", "http_timeout", Integer(minimum=1), 30,
          "Seconds a started server has to answer HTTP before the spawn fails.")
    o.add("spawner", "poll_interval", Integer(minimum=0), 30,
          "Seconds between checks that each running server is still alive. 0: never.")
    o.add("spawner", "poll_jitter", Number(minimum=0), 0.1,
          "Spread of poll_interval, as a fraction, so checks don't all happen at once.")
    o.add("spawner", "notebook_dir", Text(), "",
          "The folder the server opens in (`~` and `{username}` are filled in).")
    o.add("spawner", "default_url", Text(), "",
          "The page the server opens at, e.g. /lab (`{username}` is filled in).")
    o.add("spawner", "disable_user_config", Boolean(), False,
          "Ignore the users' own Jupyter config files.")
    o.add("spawner", "debug", Boolean(), False,
          "Run servers with debug logging.")
    o.add("spawner", "mem_limit", ByteSize(), None,
          "Memory limit, passed to the server in bytes as MEM_LIMIT (2G: 2147483648). "
          "Suffixes K, M, G, T are powers of 1024; 1.5G works too.")
    o.add("spawner", "cpu_limit", Text(), "",
          "CPU limit, passed to the server as CPU_LIMIT (e.g. 1.5).")
    o.add("spawner", "mem_guarantee", ByteSize(), None,
          "Memory guarantee, passed to the server in bytes as MEM_GUARANTEE (as mem_limit).")
    o.add("spawner", "cpu_guarantee", Text(), "",
          "CPU guarantee, passed to the server as CPU_GUARANTEE.")
    o.add("spawner", "options_form", Text(), "",
          "HTML form fields shown before a server starts (a <select>, <input>s); what the "
          "user picks becomes the server's user_options. Empty: start at once.")
    o.add("spawner", "options_from_form", Choice(("passthrough", "simple")), "passthrough",
          "How form fields become user_options: passthrough keeps every value as a list; "
          "simple unwraps single values and turns a ticked checkbox (on) into true.")
    o.add("spawner", "server_token_scopes", TextList(), [],
          "Scopes of each server's own API token. Default: the server role's "
          "(report activity, let the server's users in).")
    o.add("spawner", "oauth_client_allowed_scopes", TextList(), [],
          "Scopes a server may ask for on behalf of the people who log in to it.")
    o.add("spawner", "consecutive_failure_limit", Integer(minimum=0), 0,
          "Shut the hub down after this many spawn failures in a row (a broken setup "
          "would otherwise keep failing). 0: never.")


def _declare_proxy(o: OptionRegistry) -> None:
    o.add("proxy", "api_url", URL(), "http://127.0.0.1:8001",
          "The proxy's REST API (configurable-http-proxy's API, which kernel-proxy serves too).")
    o.add("proxy", "auth_token", Text(), "",
          "The proxy API's token. Default: CONFIGPROXY_AUTH_TOKEN, else a new random one "
          "(for a proxy the hub starts).")
    o.add("proxy", "should_start", Boolean(), True,
          "Start the proxy with the hub. Off: the proxy is run separately at api_url and "
          "keeps serving while the hub restarts.")
