"""Rendering pages: the jinja2 environment and the data files (templates, static, logo).

Built by the pages plugin when the web app is assembled, and kept in
``hub.stash[PAGE_RENDERER]``, where the kernel finds it for its error pages.

Templates are looked up in ``[hub] template_paths`` first, then in the
folders plugins add (``template_paths`` hook), then in the hub's own
``templates/``. Any of them can extend the hub's version of a page with
``{% extends "templates/page.html" %}`` (JupyterHub's spelling) or
``{% extends "default:page.html" %}``.

The names templates see are JupyterHub's (``base_url`` is the hub's prefix,
``prefix`` the public base URL, ``login_url``, ``parsed_scopes``,
``xsrf_form_html()``, ...), so a folder written for JupyterHub renders
unchanged; ``docs/pages.md`` has the whole table.
"""

from __future__ import annotations

import hashlib
import json
import sys
from functools import lru_cache
from http import HTTPStatus
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple
from urllib.parse import quote

import jinja2
from markupsafe import Markup
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

import kernel
from kernel.errors import HubError
from kernel.web.identity import ensure_xsrf_cookie

if TYPE_CHECKING:
    from kernel.hub import Hub
    from kernel.users import Server, User


class ServiceLink(NamedTuple):
    """A service in the navigation: ``service.name`` and ``service.href`` (JupyterHub's
    names), or unpacked as ``name, href``."""

    name: str
    href: str


class TemplateUser:
    """The logged-in person as templates see them: the hub's ``User`` with the names
    JupyterHub's templates use added (``server_url``, ``all_spawners``, ``spawner``,
    ``escaped_name``, ``json_escaped_name``)."""

    def __init__(self, user: User, hub: Hub) -> None:
        self._user = user
        self._hub = hub

    def __getattr__(self, name: str) -> Any:
        return getattr(self._user, name)

    def __eq__(self, other: object) -> bool:
        return self._user == (other._user if isinstance(other, TemplateUser) else other)

    def __hash__(self) -> int:
        return hash(self._user)

    @property
    def escaped_name(self) -> str:
        return quote(self._user.name, safe="@~")

    @property
    def json_escaped_name(self) -> str:
        """The name inside a JavaScript string literal, as JupyterHub's page.html uses it."""
        return json.dumps(self._user.name)[1:-1].replace("<", "\\u003c")

    @property
    def spawner(self) -> Server | None:
        """The default server (JupyterHub's default spawner)."""
        return self._user.server(self._hub.config.hub.default_server_name)

    @property
    def spawners(self) -> dict[str, Server]:
        return self._user.servers

    def all_spawners(self, include_default: bool = True) -> list[Server]:
        return [s for s in self._user.servers.values() if include_default or s.name]

    def server_url(self, server_name: str = "") -> str:
        """Where the server answers (whether or not it is running)."""
        from kernel.users import Server

        server = self._user.server(server_name) or Server(user=self._user, name=server_name, id=0)
        return server.link(self._hub.urls)


def default_data_files_path() -> str:
    """Where templates/ and static/ are: the source tree, or the installed share folder."""
    source_tree = Path(kernel.__file__).resolve().parent.parent
    if (source_tree / "templates").is_dir() and (source_tree / "static").is_dir():
        return str(source_tree)
    return str(Path(sys.prefix) / "share" / "kernelhub")


class Templates:
    """The hub's page renderer (a ``kernel.web.renderer.PageRenderer``) and its data files."""

    def __init__(self, hub: Hub) -> None:
        self.hub = hub
        options = hub.config.hub
        data = Path(options.data_files_path or default_data_files_path())
        self.static_dir = data / "static"
        default_templates = data / "templates"
        search = [*options.template_paths, *hub.hooks.template_paths(), str(default_templates)]
        builtin = jinja2.FileSystemLoader(str(default_templates))
        loader = jinja2.ChoiceLoader([
            # JupyterHub's loader: "templates/X.html" is always the built-in X.html.
            jinja2.PrefixLoader({"templates": builtin}, delimiter="/"),
            jinja2.FileSystemLoader(search),
            jinja2.PrefixLoader({"default": builtin}, delimiter=":"),
        ])
        self.env = jinja2.Environment(
            loader=loader, autoescape=True,
            **options.jinja_environment_options,  # typed by its declaration
        )
        prefix = hub.urls.hub_prefix
        self.env.globals.update(
            # JupyterHub's base_url is the hub's prefix (/hub/); prefix is the public base.
            base_url=prefix,
            prefix=hub.urls.base_url,
            hub_prefix=prefix,
            login_url=f"{prefix}login",
            logout_url=f"{prefix}logout",
            version=hub.version,
            server_version=hub.version,
            version_hash="",
            static_url=self.static_url,
            logo_url=f"{prefix}logo",
            admin_access=options.admin_access,
            allow_named_servers=options.allow_named_servers,
            named_server_limit_per_user=options.named_server_limit_per_user,
            **options.template_vars,
        )

    def routes(self) -> list[BaseRoute]:
        """The static files and the logo, under the hub prefix."""
        return [
            Route("/logo", self.serve_logo, methods=["GET", "HEAD"]),
            Mount("/static", app=StaticFiles(directory=self.static_dir, check_dir=False),
                  name="static"),
        ]

    async def serve_logo(self, request: Request) -> Response:
        logo = self.logo_file
        if not logo.is_file():
            raise HubError(404, "no logo file")
        return FileResponse(logo, headers={"Cache-Control": "max-age=3600"})

    @property
    def logo_file(self) -> Path:
        configured = self.hub.config.hub.logo_file
        return Path(configured) if configured else self.static_dir / "images" / "logo.svg"

    def static_url(self, path: str, include_version: bool = True) -> str:
        """The URL of a static file, versioned by its content so browsers cache it safely."""
        url = f"{self.hub.urls.hub_prefix}static/{path}"
        return f"{url}?v={_file_version(self.static_dir / path)}" if include_version else url

    def render(self, request: Request, name: str, status_code: int = 200,
               **context: Any) -> HTMLResponse:
        """Render a page, with the logged-in person (``user``, None for a service or
        nobody), what they may do (``caller_scopes``; JupyterHub's ``parsed_scopes`` and
        ``expanded_scopes``), the services to link to (``services``, name and href) and
        a fresh XSRF token for forms (``xsrf``, ``xsrf_token``, ``xsrf_form_html()``).

        An error page (``error.html``) is ``STATUS.html`` when a template folder has
        one, as in JupyterHub (``404.html``)."""
        response = HTMLResponse("", status_code=status_code)
        xsrf = ensure_xsrf_cookie(request, response)
        identity = getattr(request.state, "identity", None)
        if identity is not None and identity.user is None:
            identity = None  # a service's token: pages are for people
        scopes = self.hub.permissions.scopes(identity) if identity else None
        held = scopes.as_list() if scopes else []
        services = [ServiceLink(s.name, s.link(self.hub.urls)) for s in self.hub.services
                    if s.url and s.spec.display]
        names = [name]
        if name == "error.html":
            status = context.setdefault("status_code", context.get("status", status_code))
            context.setdefault("status_message", _status_phrase(status))
            names.insert(0, f"{status}.html")
        template = self.env.select_template(names)
        body = template.render(
            request=request, xsrf=xsrf, xsrf_token=xsrf,
            xsrf_form_html=lambda: Markup(
                '<input type="hidden" name="_xsrf" value="{}">').format(xsrf),
            user=TemplateUser(identity.user, self.hub) if identity else None,
            caller_scopes=scopes,
            parsed_scopes={scope.split("!")[0] for scope in held},
            expanded_scopes=set(held),
            services=services, **context)
        response.body = response.render(body)
        response.headers["content-length"] = str(len(response.body))
        return response


def _status_phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


@lru_cache(maxsize=256)
def _file_version(path: Path) -> str:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()[:12]
    except OSError:
        return "missing"
