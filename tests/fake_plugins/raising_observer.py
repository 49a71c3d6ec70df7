"""Observers that raise: the hub must log them with this plugin's name and carry on."""

from kernel import hookimpl


@hookimpl
def log(event):
    raise RuntimeError(f"log observer broke on {event.name}")


@hookimpl
def metrics(measurement):
    raise RuntimeError(f"metrics observer broke on {measurement.name}")
