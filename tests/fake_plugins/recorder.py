"""Observers that record what they see, under their plugin name, in call order."""

from kernel import hookimpl

CALLS: list[tuple[str, str]] = []


def make(name: str):
    """A plugin module-like object named `name` that records its calls."""

    class Recorder:
        @hookimpl
        def log(self, event):
            CALLS.append((name, event.name))

        @hookimpl
        def metrics(self, measurement):
            CALLS.append((name, measurement.name))

        @hookimpl
        def declare_options(self, options):
            options.add(name, "greeting", None, "hello", "A greeting.")

    return Recorder()


first = make("first")
second = make("second")
third = make("third")
