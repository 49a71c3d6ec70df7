"""post_auth and refresh_user, recorded: adds user_info, refuses mallory, expires eve."""

from kernel import hookimpl
from kernel.errors import HubError

REFRESHED: list[str] = []
EXPIRED = {"eve"}


@hookimpl
def post_auth(result):
    if result.name == "mallory":
        raise HubError(403, "mallory is not welcome here")
    result.user_info = {**result.user_info, "checked_by": "auth-rules"}
    return result


@hookimpl
async def refresh_user(user):
    REFRESHED.append(user.name)
    return False if user.name in EXPIRED else {"user_info": {"refreshed": True}}
