"""A spawner that offers a form of its own and refuses a flavour it does not offer."""

from __future__ import annotations

from typing import Any

from kernel.api import HubError, OptionRegistry, Server, User, hookimpl
from plugins.localprocess import simple
from plugins.localprocess.simple import SimpleLocalProcessSpawner

FLAVOURS = ("vanilla", "mint")


class ChoosySpawner(SimpleLocalProcessSpawner):
    async def options_form(self) -> str:
        choices = "".join(f'<option value="{name}">{name}</option>' for name in FLAVOURS)
        return f'<select name="flavour">{choices}</select>'

    def options_from_form(self, form: dict[str, list[str]]) -> dict[str, Any]:
        return {"flavour": form.get("flavour", [FLAVOURS[0]])[0]}

    def load_user_options(self, options: dict[str, Any]) -> None:
        flavour = options.get("flavour", FLAVOURS[0])
        if flavour not in FLAVOURS:
            raise HubError(400, f"There is no flavour {flavour!r}: choose "
                                f"{' or '.join(FLAVOURS)}")
        super().load_user_options({"flavour": flavour})


@hookimpl
def declare_options(options: OptionRegistry) -> None:
    simple.declare_options(options)  # runs its servers as `simple` does, with its options


@hookimpl
def spawn(hub: Any, user: User, server: Server) -> ChoosySpawner:
    return ChoosySpawner(hub, user, server)
