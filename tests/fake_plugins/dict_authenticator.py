"""An authenticator answering with a dict, as many JupyterHub authenticators do."""

from kernel import hookimpl


@hookimpl
async def authenticate(data):
    if data.get("password") != "open sesame":
        return None
    return {"name": data["username"], "admin": data["username"].lower() == "boss"}
