"""POST /hub/api/oauth2/token: a client exchanges an authorization code for an access token.

Errors are answered the way OAuth clients expect (RFC 6749 §5.2):
``{"error": "invalid_grant", "error_description": "..."}``.
"""

from __future__ import annotations

import base64
import binascii
from urllib.parse import unquote

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from kernel.oauth import OAuthError
from kernel.web.identity import hub_of


async def token(request: Request) -> Response:
    hub = hub_of(request)
    form = await request.form()
    data = {key: value for key, value in form.items() if isinstance(value, str)}
    try:
        if data.get("grant_type") != "authorization_code":
            raise OAuthError("unsupported_grant_type",
                             "Only the authorization_code grant is supported")
        client_id, client_secret = _client_credentials(request, data)
        for field in ("code", "redirect_uri"):
            if not data.get(field):
                raise OAuthError("invalid_request", f"{field} is missing")
        client, code = await hub.oauth_clients.redeem_code(
            client_id=client_id, client_secret=client_secret, code=data["code"],
            redirect_uri=data["redirect_uri"], code_verifier=data.get("code_verifier"))
    except OAuthError as e:
        return JSONResponse({"error": e.error, "error_description": e.description},
                            status_code=e.status, headers={"Cache-Control": "no-store"})
    lifetime = int(hub.config.hub.cookie_max_age_days * 86400)
    access_token, _ = await hub.tokens.issue(
        user_id=code.user_id, scopes=code.scopes, note=f"OAuth token for {client.description}",
        expires_in=lifetime, session_id=code.session_id, oauth_client_id=client.id)
    return JSONResponse({"access_token": access_token, "token_type": "Bearer",
                         "expires_in": lifetime, "scope": " ".join(code.scopes)},
                        headers={"Cache-Control": "no-store"})


def _client_credentials(request: Request, data: dict[str, str]) -> tuple[str, str]:
    """From the form, or from HTTP Basic authentication (both are allowed by RFC 6749)."""
    header = request.headers.get("authorization", "")
    if header.lower().startswith("basic "):
        try:
            decoded = base64.b64decode(header[6:]).decode()
        except (binascii.Error, UnicodeDecodeError):
            raise OAuthError("invalid_client", "Malformed Basic authentication", 401) from None
        client_id, _, secret = decoded.partition(":")
        return unquote(client_id), unquote(secret)
    if not data.get("client_id") or not data.get("client_secret"):
        raise OAuthError("invalid_client", "client_id and client_secret are required", 401)
    return data["client_id"], data["client_secret"]
