"""Error responses: JSON ``{"status", "message"}`` for the API, an error page for browsers."""

from __future__ import annotations

import logging

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response

from kernel.errors import HubError
from kernel.web.identity import hub_of
from kernel.web.renderer import PAGE_RENDERER

log = logging.getLogger("kernelhub.web")


def is_api_request(request: Request) -> bool:
    return request.url.path.startswith(hub_of(request).urls.hub_prefix + "api")


def error_response(request: Request, status: int, message: str | None,
                   headers: dict[str, str] | None = None) -> Response:
    if is_api_request(request):
        return JSONResponse({"status": status, "message": message}, status_code=status,
                            headers=headers)
    renderer = hub_of(request).stash.get(PAGE_RENDERER)
    if renderer is not None:
        try:
            response = renderer.render(request, "error.html", status_code=status,
                                       status=status, message=message)
        except Exception:
            log.exception("Rendering the error page failed")
        else:
            response.headers.update(headers or {})
            return response
    return PlainTextResponse(f"{status}: {message}", status_code=status, headers=headers)


async def on_http_exception(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    return error_response(request, exc.status_code, exc.detail, dict(exc.headers or {}))


async def on_hub_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HubError)
    return error_response(request, exc.status, exc.message, exc.headers)


async def on_unexpected_error(request: Request, exc: Exception) -> Response:
    log.error("Unhandled error in %s %s", request.method, request.url.path, exc_info=exc)
    return error_response(request, 500, "Unhandled error: the hub's log has the details")


EXCEPTION_HANDLERS = {
    HTTPException: on_http_exception,
    HubError: on_hub_error,
    Exception: on_unexpected_error,
}
