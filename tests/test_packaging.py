"""The wheel carries everything a hub needs: both packages, templates, static files, plugins,
and the py.typed marker that lets plugin authors' type checkers read kernel.api's types."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).parent.parent


def test_the_wheel_ships_templates_static_files_and_entry_points(tmp_path):
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps",
                    "--wheel-dir", str(tmp_path), str(ROOT)], check=True, timeout=300)
    wheel = next(tmp_path.glob("kernelhub-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    data = "kernelhub-0.1.0.data/data/share/kernelhub/"
    for template in (ROOT / "templates").glob("*.html"):
        assert f"{data}templates/{template.name}" in names
    assert f"{data}static/css/style.css" in names
    assert "kernel/hookspecs/hub.py" in names and "plugins/pages/login.py" in names
    assert "kernel/py.typed" in names
    entry_points = zipfile.ZipFile(wheel).read(
        next(n for n in names if n.endswith("entry_points.txt"))).decode()
    for plugin in ("pam", "dummy", "localprocess", "simple", "kernel-proxy", "pages",
                   "rest-api"):
        assert f"\n{plugin} = " in entry_points
    assert "kernel = kernel.cli:main" in entry_points
