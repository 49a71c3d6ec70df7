"""A plugin implementing every hook, recording each call, to test that the hub calls them.

Enable it as `probe` (tests/conftest.py installs it). CALLS records
(hook name, detail) in call order.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import click
from starlette.middleware import Middleware
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from kernel import hookimpl
from kernel.auth import LoginService
from kernel.config.types import Text
from kernel.testing.hub import PASSWORD
from kernel.web.identity import start_session
from kernel.web.renderer import PAGE_RENDERER

CALLS: list[tuple[str, str]] = []


def calls(hook: str) -> list[str]:
    return [detail for name, detail in CALLS if name == hook]


@hookimpl
def declare_options(options):
    options.add("probe", "who", Text(), "nobody", "Who the probe page greets.")
    options.add("probe", "login_service", Text(), "",
                "The name of the probe's own login service; none when empty.")


@hookimpl
async def hub_startup(hub):
    await asyncio.sleep(0)
    CALLS.append(("hub_startup", hub.config.section("probe").who))


@hookimpl
def hub_shutdown(hub):
    CALLS.append(("hub_shutdown", ""))


@hookimpl
async def pre_spawn_start(hub, user, spawner):
    spawner.environment["PROBE"] = "set by pre_spawn_start"
    CALLS.append(("pre_spawn_start", f"{user.name}/{spawner.name}"))


@hookimpl
def post_spawn_stop(hub, user, spawner):
    CALLS.append(("post_spawn_stop", f"{user.name}/{spawner.name}"))


@hookimpl
def redirect(hub, user, reason, path):
    if reason == "user-redirect" and path.startswith("probe"):
        return f"{hub.urls.hub_prefix}probe?via=redirect"
    return None


@hookimpl
def log(event):
    CALLS.append(("log", event.name))


@hookimpl
def metrics(measurement):
    CALLS.append(("metrics", measurement.name))


async def probe_page(request):
    hub = request.app.state.hub
    who = hub.config.section("probe").who
    if request.query_params.get("html"):
        return hub.stash[PAGE_RENDERER].render(request, "probe.html", who=who)
    return PlainTextResponse(f"probe says hello to {who}")


async def probe_login(request):
    """The probe's login elsewhere, reduced to its callback: ``?user=`` says who logged in.

    As a real one would, it asks the authenticator (the dummy one, which wants its
    password) and starts a session that goes on to ``next``.
    """
    hub = request.app.state.hub
    user = await hub.logins.login(request, {"username": request.query_params.get("user", ""),
                                      "password": PASSWORD})
    if user is None:
        return PlainTextResponse("probe login refused", status_code=403)
    return await start_session(request, user, request.query_params.get("next", ""))


@hookimpl
def web_routes(hub):
    return [Route("/probe", probe_page), Route("/probe-login", probe_login)]


@hookimpl
def login_services(hub):
    name = hub.config.section("probe").login_service
    if not name:
        return None
    return [LoginService(name, "probe-login"),
            LoginService("Campus SSO", "https://sso.example.org/start?app=hub")]


class ProbeHeader:
    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        async def send_with_header(message):
            if message["type"] == "http.response.start":
                message.setdefault("headers", []).append((b"x-probe", b"seen"))
            await send(message)

        await self.app(scope, receive, send_with_header)


@hookimpl
def web_middleware(hub):
    return [Middleware(ProbeHeader)]


@hookimpl
def template_paths(hub):
    return [str(Path(__file__).parent / "probe_templates")]


@hookimpl
def cli_commands(cli):
    @cli.command("probe")
    def probe_command():
        """Say the probe is here."""
        click.echo("probe command ran")


@hookimpl
async def resource_renamed(old, new):
    CALLS.append(("resource_renamed", f"{old} -> {new}"))


@hookimpl
def resource_deleted(user, server, group):
    kind, name = next((k, v) for k, v in (("user", user and user.name),
                                         ("server", server and server.full_name),
                                         ("group", group)) if v)
    CALLS.append(("resource_deleted", f"{kind} {name}"))


@hookimpl
def extra_template_vars(template, user):
    CALLS.append(("extra_template_vars", f"{template} for {user.name if user else None}"))
    return {"probe_greeting": "hello"} if template == "home.html" else None
