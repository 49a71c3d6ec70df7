"""The admin pages: users (search, sort, pages, bulk start/stop, add, edit, delete) and
groups. Both need the ``admin-ui`` scope.

The pages are shells: their scripts do everything through the REST API
(``/hub/api/users`` with ``name_filter``, ``sort``, ``state``, ``offset`` and
``limit``; ``/hub/api/groups``), so anything an operator does here can be
scripted, and a page of users costs the same with 100 users or 10,000.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from kernel.web.identity import hub_of
from plugins.pages.base import logged_in, render, require

#: Users per page the admin page offers; the first is the default.
PAGE_SIZES = (50, 25, 100, 200)


async def admin_page(request: Request) -> Response:
    identity = await logged_in(request)
    if isinstance(identity, Response):
        return identity
    require(request, identity, "admin-ui")
    hub = hub_of(request)
    return render(request, "admin.html", nav_current="admin", page_sizes=PAGE_SIZES,
                  allow_named_servers=hub.config.hub.allow_named_servers,
                  admin_access=hub.config.hub.admin_access)


async def groups_page(request: Request) -> Response:
    identity = await logged_in(request)
    if isinstance(identity, Response):
        return identity
    require(request, identity, "admin-ui")
    return render(request, "admin_groups.html", nav_current="admin")


ROUTES = [
    Route("/admin", admin_page, methods=["GET"]),
    Route("/admin/groups", groups_page, methods=["GET"]),
]
