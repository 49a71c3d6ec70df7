"""Rendering pages: the jinja2 environment and the data files (templates, static, logo).

Templates are looked up in ``[hub] template_paths`` first, then in the
folders plugins add (``template_paths`` hook), then in the hub's own
``templates/``. Any of them can extend the hub's version of a page with
``{% extends "default:page.html" %}``.
"""

from __future__ import annotations

import hashlib
import sys
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jinja2
from starlette.requests import Request
from starlette.responses import HTMLResponse

import kernel
from kernel.web.identity import ensure_xsrf_cookie

if TYPE_CHECKING:
    from kernel.hub import Hub


def default_data_files_path() -> str:
    """Where templates/ and static/ are: the source tree, or the installed share folder."""
    source_tree = Path(kernel.__file__).resolve().parent.parent
    if (source_tree / "templates").is_dir() and (source_tree / "static").is_dir():
        return str(source_tree)
    return str(Path(sys.prefix) / "share" / "kernelhub")


class Templates:
    def __init__(self, hub: Hub) -> None:
        self.hub = hub
        options = hub.config.hub
        data = Path(options.data_files_path or default_data_files_path())
        self.static_dir = data / "static"
        default_templates = data / "templates"
        plugin_paths = [path for _, paths in hub.hooks.collect("template_paths", hub=hub)
                        for path in paths or ()]
        search = [*options.template_paths, *plugin_paths, str(default_templates)]
        loader = jinja2.ChoiceLoader([
            jinja2.FileSystemLoader(search),
            jinja2.PrefixLoader({"default": jinja2.FileSystemLoader(str(default_templates))},
                               delimiter=":"),
        ])
        self.env = jinja2.Environment(
            loader=loader, autoescape=True,
            **options.jinja_environment_options,  # typed by its declaration
        )
        self.env.globals.update(
            base_url=hub.urls.base_url,
            hub_prefix=hub.urls.hub_prefix,
            version=hub.version,
            static_url=self.static_url,
            logo_url=f"{hub.urls.hub_prefix}logo",
            **options.template_vars,
        )

    @property
    def logo_file(self) -> Path:
        configured = self.hub.config.hub.logo_file
        return Path(configured) if configured else self.static_dir / "images" / "logo.svg"

    def static_url(self, path: str) -> str:
        """The URL of a static file, versioned by its content so browsers cache it safely."""
        return f"{self.hub.urls.hub_prefix}static/{path}?v={_file_version(self.static_dir / path)}"

    def render(self, request: Request, name: str, status_code: int = 200,
               **context: Any) -> HTMLResponse:
        """Render a page, with the logged-in person (``user``, None for a service or
        nobody), what they may do (``caller_scopes``), the services to link to
        (``services``, name and address) and a fresh XSRF token for forms."""
        response = HTMLResponse("", status_code=status_code)
        xsrf = ensure_xsrf_cookie(request, response)
        identity = getattr(request.state, "identity", None)
        if identity is not None and identity.user is None:
            identity = None  # a service's token: pages are for people
        services = [(s.name, s.link(self.hub.urls)) for s in self.hub.services
                    if s.url and s.spec.display]
        body = self.env.get_template(name).render(
            request=request, xsrf=xsrf, user=identity.user if identity else None,
            caller_scopes=self.hub.permissions.scopes(identity) if identity else None,
            services=services, **context)
        response.body = response.render(body)
        response.headers["content-length"] = str(len(response.body))
        return response


@lru_cache(maxsize=256)
def _file_version(path: Path) -> str:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()[:12]
    except OSError:
        return "missing"
