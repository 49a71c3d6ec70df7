"""A plugin that declares a hook wrapper, which kernelhub's hook calls do not support."""

from kernel import hookimpl


@hookimpl(wrapper=True)
def web_routes(hub):
    return (yield)
