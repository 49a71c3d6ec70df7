"""A second spawner plugin: enabling it beside the chosen spawner is a start-up error."""

from kernel import hookimpl


@hookimpl
def spawn(hub, user, server):
    raise AssertionError("never called: the conflict is found at start-up")
