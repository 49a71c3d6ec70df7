"""`kernel generate-certs`: JupyterHub's --generate-certs, as a command of the plugin."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from plugins.internal_ssl.certs import AUTHORITIES
from tests.internal_ssl.helpers import alt_names, fingerprint

HUB_INI = "[hub]\nplugins = internal-ssl\n"


def generate_certs(cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "kernel", "generate-certs", "-c", "hub.ini"],
                          cwd=cwd, capture_output=True, text=True, timeout=60)


def test_generate_certs_creates_the_store_then_keeps_it(tmp_path):
    (tmp_path / "hub.ini").write_text(HUB_INI)
    created = generate_certs(tmp_path)
    assert created.returncode == 0, created.stderr
    store = tmp_path / "internal-ssl"  # [hub] internal_certs_location's default
    assert f"Certificates written to {store}" in created.stdout
    assert "internal_ssl = true" in created.stderr  # it is not on in this hub.ini
    for name in (*AUTHORITIES, "hub-internal", "proxy-api", "proxy-client"):
        assert (store / name / f"{name}.key").is_file()
    before = fingerprint(store / "hub-ca" / "hub-ca.crt")
    kept = generate_certs(tmp_path)
    assert kept.returncode == 0, kept.stderr
    assert "created" not in kept.stdout
    assert fingerprint(store / "hub-ca" / "hub-ca.crt") == before


def test_generate_certs_reports_a_bad_file_without_a_traceback(tmp_path):
    (tmp_path / "hub.ini").write_text(HUB_INI)
    assert generate_certs(tmp_path).returncode == 0
    (tmp_path / "internal-ssl" / "hub-ca" / "hub-ca.key").unlink()
    result = generate_certs(tmp_path)
    assert result.returncode == 1
    assert "hub-ca.key: is missing" in result.stderr
    assert "Traceback" not in result.stderr


def test_generate_certs_reads_the_location_and_names_from_hub_ini(tmp_path):
    (tmp_path / "hub.ini").write_text(HUB_INI + "internal_certs_location = secrets/tls\n"
                                      "trusted_alt_names = DNS:hub.example.org\n")
    result = generate_certs(tmp_path)
    assert result.returncode == 0, result.stderr
    hub = tmp_path / "secrets" / "tls" / "hub-internal" / "hub-internal.crt"
    assert "DNS:hub.example.org" in alt_names(hub)
