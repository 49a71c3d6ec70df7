"""A plugin with a misspelled hook name."""

from kernel import hookimpl


@hookimpl
def authenticat(hub, request, data):
    return None
