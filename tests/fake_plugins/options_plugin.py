"""A plugin with options of every type, to test hub.ini parsing of plugin sections."""

from kernel import hookimpl
from kernel.config.types import Boolean, Command, Integer, Number, Table, TextList


@hookimpl
def declare_options(options):
    options.add("options-plugin", "enabled", Boolean(), False, "A flag.")
    options.add("options-plugin", "count", Integer(minimum=1), 3, "A count.")
    options.add("options-plugin", "ratio", Number(), 0.5, "A ratio.")
    options.add("options-plugin", "names", TextList(), [], "Some names.")
    options.add("options-plugin", "command", Command(), ["echo", "hi"], "A command.")
    options.add("options-plugin", "labels", Table(), {}, "A table.")
