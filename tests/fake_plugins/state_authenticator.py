"""An authenticator that hands the hub auth state (a token for another system)."""

from kernel import hookimpl


@hookimpl
def authenticate(data):
    return {"name": data["username"], "auth_state": {"access_token": "secret-xyz-123"}}
