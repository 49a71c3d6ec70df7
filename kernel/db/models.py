"""The tables: users, groups, servers with spawner state, tokens, services, OAuth, sessions.

Import as ``from kernel.db import models as orm`` so that ``orm.User`` (a row)
is never confused with ``kernel.users.User`` (a user in the running hub).
Secrets are never stored in the clear: tokens, OAuth client secrets and
OAuth codes are kept as hashes (see ``kernel.security.tokens``).

Each model declares the ``id`` column peewee would add unasked, and the
``*_id`` attributes through which peewee reads a foreign key's raw value,
so that a type checker knows them; the tables are the same either way.
"""

from __future__ import annotations

import secrets

import peewee as pw

from kernel.clock import utcnow
from kernel.db.fields import JSONField, UTCDateTimeField


def new_cookie_id() -> str:
    return secrets.token_hex(16)


class BaseModel(pw.Model):
    class Meta:
        # Bound to a real database by kernel.db.database.Database.
        database = None


class User(BaseModel):
    id = pw.AutoField()
    name = pw.CharField(max_length=255, unique=True)
    admin = pw.BooleanField(default=False)
    created = UTCDateTimeField(default=utcnow)
    last_activity = UTCDateTimeField(null=True, index=True)
    #: Rotating this logs the user out of every session at once.
    cookie_id = pw.CharField(max_length=64, unique=True, default=new_cookie_id)
    #: The authenticator's state, encrypted (enable_auth_state).
    encrypted_auth_state = pw.BlobField(null=True)
    #: What the authenticator reports about the user (shown as `user_info`).
    user_info = JSONField(null=True)

    class Meta:
        table_name = "users"


class Group(BaseModel):
    id = pw.AutoField()
    name = pw.CharField(max_length=255, unique=True)
    properties = JSONField(default=dict)

    class Meta:
        table_name = "groups"


class UserGroup(BaseModel):
    user = pw.ForeignKeyField(User, on_delete="CASCADE")
    group = pw.ForeignKeyField(Group, on_delete="CASCADE")

    user_id: int
    group_id: int

    class Meta:
        table_name = "user_group_map"
        primary_key = pw.CompositeKey("user", "group")


class Server(BaseModel):
    """A user's server: the default one (name "") or a named one; kept while stopped too."""

    id = pw.AutoField()
    user = pw.ForeignKeyField(User, backref="servers", on_delete="CASCADE")
    name = pw.CharField(max_length=255, default="")
    display_name = pw.CharField(max_length=255, default="")
    #: Where the running server answers (http://127.0.0.1:PORT); null when stopped.
    url = pw.CharField(max_length=1023, null=True)
    #: The spawner's get_state(), so a restarted hub can find the server again.
    state = JSONField(default=dict)
    #: The options of the last start that was given some; null when none ever was.
    user_options = JSONField(null=True)
    started = UTCDateTimeField(null=True)
    last_activity = UTCDateTimeField(null=True)

    user_id: int

    class Meta:
        table_name = "servers"
        indexes = ((("user", "name"), True),)


class Service(BaseModel):
    id = pw.AutoField()
    name = pw.CharField(max_length=255, unique=True)
    #: Defined in hub.ini (recreated at each start) rather than through the API.
    from_config = pw.BooleanField(default=True)
    admin = pw.BooleanField(default=False)
    url = pw.CharField(max_length=1023, null=True)
    display = pw.BooleanField(default=True)
    info = JSONField(default=dict)
    oauth_client_id = pw.CharField(max_length=255, null=True)
    oauth_redirect_uri = pw.CharField(max_length=1023, null=True)
    oauth_no_confirm = pw.BooleanField(default=False)
    oauth_client_allowed_scopes = JSONField(default=list)

    class Meta:
        table_name = "services"


class OAuthClient(BaseModel):
    id = pw.AutoField()
    identifier = pw.CharField(max_length=255, unique=True)
    description = pw.CharField(max_length=1023, default="")
    secret_hash = pw.CharField(max_length=255, default="")
    redirect_uri = pw.CharField(max_length=1023, default="")
    #: Scopes the client may request for the tokens it gets.
    allowed_scopes = JSONField(default=list)
    #: Scopes any one of which lets a user in (access:servers!server=alice/).
    access_scopes = JSONField(default=list)
    created = UTCDateTimeField(default=utcnow)

    class Meta:
        table_name = "oauth_clients"


class APIToken(BaseModel):
    id = pw.AutoField()
    #: The first characters of the token, to find candidate rows without the token itself.
    prefix = pw.CharField(max_length=16, index=True)
    hashed = pw.CharField(max_length=255)
    user = pw.ForeignKeyField(User, null=True, backref="api_tokens", on_delete="CASCADE")
    service = pw.ForeignKeyField(Service, null=True, backref="api_tokens", on_delete="CASCADE")
    #: A server's own token (JUPYTERHUB_API_TOKEN), revoked when the server stops.
    server = pw.ForeignKeyField(Server, null=True, on_delete="CASCADE")
    #: OAuth access tokens: the client that issued them and the login session they belong to.
    oauth_client = pw.ForeignKeyField(OAuthClient, null=True, on_delete="CASCADE")
    session_id = pw.CharField(max_length=64, null=True, index=True)
    scopes = JSONField(default=list)
    note = pw.CharField(max_length=1023, default="")
    created = UTCDateTimeField(default=utcnow)
    expires_at = UTCDateTimeField(null=True, index=True)
    last_activity = UTCDateTimeField(null=True)

    user_id: int | None
    service_id: int | None
    server_id: int | None
    oauth_client_id: int | None

    class Meta:
        table_name = "api_tokens"


class OAuthCode(BaseModel):
    id = pw.AutoField()
    code_hash = pw.CharField(max_length=128, unique=True)
    client = pw.ForeignKeyField(OAuthClient, on_delete="CASCADE")
    user = pw.ForeignKeyField(User, on_delete="CASCADE")
    session_id = pw.CharField(max_length=64, null=True)
    scopes = JSONField(default=list)
    redirect_uri = pw.CharField(max_length=1023, default="")
    code_challenge = pw.CharField(max_length=255, null=True)
    code_challenge_method = pw.CharField(max_length=16, null=True)
    expires_at = UTCDateTimeField()

    client_id: int
    user_id: int

    class Meta:
        table_name = "oauth_codes"


class LoginSession(BaseModel):
    """A browser login; logging out deletes it, which revokes its cookie at once."""

    id = pw.CharField(max_length=64, primary_key=True)
    user = pw.ForeignKeyField(User, backref="sessions", on_delete="CASCADE")
    created = UTCDateTimeField(default=utcnow)
    last_activity = UTCDateTimeField(default=utcnow)

    user_id: int

    class Meta:
        table_name = "login_sessions"


class Role(BaseModel):
    """A named set of scopes (see kernel.scopes), held by users, groups and services."""

    id = pw.AutoField()
    name = pw.CharField(max_length=255, unique=True)
    description = pw.CharField(max_length=1023, default="")
    scopes = JSONField(default=list)
    #: Defined by a [role:NAME] section, and rewritten from it at every start-up.
    from_config = pw.BooleanField(default=False)

    class Meta:
        table_name = "roles"


class UserRole(BaseModel):
    user = pw.ForeignKeyField(User, on_delete="CASCADE")
    role = pw.ForeignKeyField(Role, on_delete="CASCADE")

    user_id: int
    role_id: int

    class Meta:
        table_name = "user_role_map"
        primary_key = pw.CompositeKey("user", "role")


class GroupRole(BaseModel):
    group = pw.ForeignKeyField(Group, on_delete="CASCADE")
    role = pw.ForeignKeyField(Role, on_delete="CASCADE")

    group_id: int
    role_id: int

    class Meta:
        table_name = "group_role_map"
        primary_key = pw.CompositeKey("group", "role")


class ServiceRole(BaseModel):
    service = pw.ForeignKeyField(Service, on_delete="CASCADE")
    role = pw.ForeignKeyField(Role, on_delete="CASCADE")

    service_id: int
    role_id: int

    class Meta:
        table_name = "service_role_map"
        primary_key = pw.CompositeKey("service", "role")


class SchemaVersion(BaseModel):
    """One row: the schema version this database is at (see kernel.db.schema)."""

    id = pw.AutoField()
    version = pw.IntegerField()
    upgraded = UTCDateTimeField(default=utcnow)

    class Meta:
        table_name = "kernelhub_schema"


class PluginSchema(BaseModel):
    """The schema version of each plugin's own tables (see kernel.db.plugin_data)."""

    plugin = pw.CharField(max_length=255, primary_key=True)
    version = pw.IntegerField()
    upgraded = UTCDateTimeField(default=utcnow)

    class Meta:
        table_name = "kernelhub_plugin_schema"


#: Every table, in an order that satisfies foreign keys when creating.
MODELS: list[type[BaseModel]] = [
    User, Group, UserGroup, Server, Service, OAuthClient, APIToken, OAuthCode, LoginSession,
    Role, UserRole, GroupRole, ServiceRole, SchemaVersion, PluginSchema,
]
