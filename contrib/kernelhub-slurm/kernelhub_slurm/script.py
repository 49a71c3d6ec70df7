"""The batch script: the jinja2 template (built-in or the operator's file), filled in."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jinja2

BUILT_IN = Path(__file__).parent / "templates" / "slurm.sh.j2"


def load_template(path: str) -> jinja2.Template:
    """The operator's template file, or the built-in one when ``path`` is empty.

    An unknown variable is an error rather than an empty string, so a
    misspelled name in an operator's template fails the spawn with its name.
    """
    file = Path(path) if path else BUILT_IN
    try:
        text = file.read_text()
    except OSError as e:
        raise ValueError(f"cannot read the batch script template {file}: {e.strerror}; fix "
                         "[slurm] batch_script_file") from None
    environment = jinja2.Environment(undefined=jinja2.StrictUndefined, keep_trailing_newline=True,
                                     autoescape=False)  # a shell script, not HTML
    try:
        return environment.from_string(text)
    except jinja2.TemplateSyntaxError as e:
        raise ValueError(f"the batch script template {file} is not valid jinja2 (line "
                         f"{e.lineno}: {e.message}); fix [slurm] batch_script_file") from None


def render(template: jinja2.Template, variables: dict[str, Any]) -> str:
    try:
        return template.render(variables)
    except jinja2.UndefinedError as e:
        raise ValueError(f"the batch script template uses an unknown variable ({e.message}); "
                         "the variables are listed in kernelhub-slurm's README") from None
