"""kernel.api, the plugin API: every name it promises is documented, and the running hub
keeps the promises its ``Hub`` protocol makes while the third-party plugins ask no more
of it (checked by mypy, as a plugin author's type checker would), and the plugin guide
opens with the tested sample plugin."""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap
from pathlib import Path

import kernel.api
from kernel.testing.infra import skip_or_fail

ROOT = Path(__file__).resolve().parent.parent


def test_every_public_name_is_in_the_module_index():
    index = kernel.api.__doc__ or ""
    undocumented = [name for name in kernel.api.__all__
                    if not re.search(rf"``{re.escape(name)}(\(|``)", index)]
    assert undocumented == []


def test_every_public_name_can_be_imported():
    missing = [name for name in kernel.api.__all__ if not hasattr(kernel.api, name)]
    assert missing == []


def mypy(*paths: Path) -> subprocess.CompletedProcess[str]:
    try:
        import mypy  # noqa: F401
    except ImportError:
        skip_or_fail("mypy is not installed (pip install -e '.[test]')")
    return subprocess.run([sys.executable, "-m", "mypy", "--no-incremental",
                           "--ignore-missing-imports", "--follow-imports=silent",
                           *map(str, paths)], cwd=ROOT, capture_output=True, text=True,
                          timeout=300)


def test_the_running_hub_is_what_the_hub_protocol_promises(tmp_path):
    snippet = tmp_path / "conforms.py"
    snippet.write_text(textwrap.dedent("""
        import kernel.api
        import kernel.hub

        def as_plugins_see_it(hub: kernel.hub.Hub) -> kernel.api.Hub:
            return hub
    """))
    result = mypy(snippet)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_third_party_plugins_type_check_against_kernel_api():
    result = mypy(ROOT / "contrib" / "kernelhub-jsonlog" / "kernelhub_jsonlog",
                  ROOT / "contrib" / "kernelhub-docker" / "kernelhub_docker",
                  ROOT / "contrib" / "kernelhub-slurm" / "kernelhub_slurm",
                  ROOT / "tests" / "sample_plugin" / "kernelhub_hello")
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_plugin_outside_the_repository_is_type_checked_against_the_installed_kernel_api(
        tmp_path):
    """kernel ships py.typed: without it, mypy skips an installed kernel.api and a plugin
    author's checker sees no type of it at all."""
    try:
        import mypy  # noqa: F401
    except ImportError:
        skip_or_fail("mypy is not installed (pip install -e '.[test]')")
    plugin = tmp_path / "counting.py"
    plugin.write_text(textwrap.dedent("""
        from kernel.api import Hub, StashKey

        COUNT = StashKey[int]()

        def count(hub: Hub) -> str:
            return hub.stash[COUNT]
    """))
    # Run where the repository is not the current folder: kernel is found installed.
    result = subprocess.run([sys.executable, "-m", "mypy", "--no-incremental",
                             "--hide-error-context", "--no-error-summary", str(plugin)],
                            cwd=tmp_path, capture_output=True, text=True, timeout=300)
    errors = [line.split(": error: ")[1] for line in result.stdout.splitlines()
              if ": error: " in line]
    assert errors == ['Incompatible return value type (got "int", expected "str")  '
                      '[return-value]'], result.stdout + result.stderr


def test_the_guide_opens_with_the_tested_sample_plugin_in_at_most_30_lines():
    guide = (ROOT / "docs" / "plugins.md").read_text()
    first_section = guide.split("\n## ")[1]
    assert first_section.startswith("Your first plugin\n")
    shown = first_section.split("```python\n")[1].split("```")[0]
    tested = (ROOT / "tests" / "sample_plugin" / "kernelhub_hello" / "__init__.py").read_text()
    assert shown == tested
    assert len(tested.splitlines()) <= 30
