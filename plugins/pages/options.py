"""The pages plugin's options: its templates, static files and logo, and its login page.

They keep JupyterHub's names in ``[hub]`` and ``[auth]``; they exist only
while the pages plugin is active.
"""

from __future__ import annotations

from kernel.config import OptionRegistry
from kernel.config.types import Boolean, Integer, Number, Table, Text, TextList, TypedTable

#: The jinja2.Environment arguments hub.ini can give. Python objects (loader, undefined,
#: finalize, bytecode_cache) cannot be written in hub.ini; autoescape and enable_async are
#: the hub's own choice, as its templates need them.
JINJA_ENVIRONMENT_OPTIONS = (
    *((name, Text()) for name in (
        "block_start_string", "block_end_string", "variable_start_string",
        "variable_end_string", "comment_start_string", "comment_end_string",
        "line_statement_prefix", "line_comment_prefix")),
    *((name, Boolean()) for name in (
        "trim_blocks", "lstrip_blocks", "keep_trailing_newline", "optimized", "auto_reload")),
    ("cache_size", Integer(minimum=-1)),
    ("extensions", TextList()),
)


def declare_page_options(o: OptionRegistry) -> None:
    o.add("hub", "data_files_path", Text(), "",
          "The folder holding kernelhub's templates/ and static/ (default: where they were "
          "installed).")
    o.add("hub", "template_paths", TextList(), [],
          "Folders searched for page templates before the built-in ones; a template there "
          "replaces the built-in page of the same name, and can extend it with "
          '{% extends "default:NAME.html" %}.')
    o.add("hub", "template_vars", Table(), {},
          "Extra variables for every template, `name = value` per line.")
    o.add("hub", "jinja_environment_options",
          TypedTable(fields=JINJA_ENVIRONMENT_OPTIONS, open=False), {},
          "Options for the jinja2 Environment, `name = value` per line (true/false for "
          "flags, a comma-separated list for extensions): "
          + ", ".join(name for name, _ in JINJA_ENVIRONMENT_OPTIONS) + ".")
    o.add("hub", "logo_file", Text(), "",
          "An image file shown as the logo in the page banner instead of kernelhub's.")
    o.add("hub", "implicit_spawn_seconds", Number(minimum=0), 0.0,
          "On the page saying a server is not running, start it after this many "
          "seconds as if Start was pressed. 0: wait for the button.")
    o.add("auth", "login_service", Text(), "",
          "The name of an external login service (e.g. GitHub): the login page then "
          "shows a 'Sign in with ...' button leading to [auth] login_url instead of "
          "the password form.")
    o.add("auth", "login_url", Text(), "",
          "Where a login with the external service starts: a path under the hub "
          "(e.g. oauth_login, served by the authenticator plugin) or a full URL.")
