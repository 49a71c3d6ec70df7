"""The `kernel` command line: generate-config, plugins, upgrade-db, and clean errors."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from kernel.config.loader import load
from kernel.db.migrations import SCHEMA_VERSION

V1_DUMP = Path(__file__).parent / "data" / "schema-v1.sql"


def kernel(*args: str, cwd: Path, input: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "kernel", *args], cwd=cwd, input=input,
                          capture_output=True, text=True, timeout=60)


def test_generate_config_writes_every_option_commented(tmp_path):
    result = kernel("generate-config", "-o", "hub.ini", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    text = (tmp_path / "hub.ini").read_text()
    for line in ("[hub]", "# port = 8000", "[spawner]", "# cmd = jupyterhub-singleuser",
                 "[pam]", "# service = login", "# [group:NAME]", "# [hub.api_tokens]"):
        assert line in text
    # Commented out, it is a valid hub.ini meaning "all defaults".
    assert load(tmp_path / "hub.ini").config.hub.port == 8000


def test_generate_config_asks_before_overwriting(tmp_path):
    (tmp_path / "hub.ini").write_text("keep me\n")
    result = kernel("generate-config", cwd=tmp_path, input="n\n")
    assert "exists. Overwrite it?" in result.stdout
    assert (tmp_path / "hub.ini").read_text() == "keep me\n"
    assert kernel("generate-config", "--yes", cwd=tmp_path).returncode == 0
    assert (tmp_path / "hub.ini").read_text().startswith("# kernelhub")


def test_answer_yes_in_hub_ini_skips_the_question(tmp_path):
    (tmp_path / "hub.ini").write_text("[hub]\nanswer_yes = true\nauthenticator_class = dummy\n"
                                      "spawner_class = simple\n")
    (tmp_path / "out.ini").write_text("old\n")
    result = kernel("generate-config", "-o", "out.ini", "-c", "hub.ini", cwd=tmp_path)
    assert result.returncode == 0 and "Wrote out.ini" in result.stdout


def test_plugins_lists_state_reason_hooks_and_options(tmp_path):
    (tmp_path / "hub.ini").write_text("[hub]\nauthenticator_class = dummy\n"
                                      "spawner_class = simple\n")
    output = kernel("plugins", cwd=tmp_path).stdout
    assert "dummy  (kernelhub" in output
    assert "active: [hub] authenticator_class" in output
    assert "inactive: not enabled in hub.ini" in output
    assert "hooks: authenticate, declare_options, hub_startup" in output
    assert "options: [dummy] password" in output
    assert "active: essential" in output


def test_a_config_error_is_one_clear_line_and_exit_status_2(tmp_path):
    (tmp_path / "hub.ini").write_text("[hub]\nport = eighty\n")
    result = kernel("serve", "-c", "hub.ini", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip() == ('kernel: hub.ini:2 [hub] port: expected a whole number of '
                                     'at least 1, got "eighty"')


def test_serve_refuses_an_old_database_and_says_how_to_upgrade(tmp_path):
    with sqlite3.connect(tmp_path / "old.sqlite") as connection:
        connection.executescript(V1_DUMP.read_text())
    (tmp_path / "hub.ini").write_text("[hub]\nauthenticator_class = dummy\n"
                                      "spawner_class = simple\ndb_url = sqlite:///old.sqlite\n"
                                      "cookie_secret_file = secret\n")
    result = kernel("serve", "-c", "hub.ini", cwd=tmp_path)
    assert result.returncode == 1
    assert "the database is at schema version 1" in result.stderr
    assert "run `kernel upgrade-db -c hub.ini` (or set [hub] upgrade_db = true)" in result.stderr

    upgraded = kernel("upgrade-db", "-c", "hub.ini", cwd=tmp_path)
    assert upgraded.returncode == 0, upgraded.stderr
    assert f"Upgraded to schema version {SCHEMA_VERSION}" in upgraded.stdout
    assert len(list(tmp_path.glob("old.sqlite.*.bak"))) == 1
    assert "up to date" in kernel("upgrade-db", "-c", "hub.ini", cwd=tmp_path).stdout


@pytest.mark.parametrize("mode", [0o644])
def test_serve_refuses_a_readable_cookie_secret(tmp_path, mode):
    secret = tmp_path / "secret"
    secret.write_text("ab" * 32)
    secret.chmod(mode)
    (tmp_path / "hub.ini").write_text("[hub]\nauthenticator_class = dummy\n"
                                      "spawner_class = simple\ncookie_secret_file = secret\n"
                                      "db_url = sqlite:///hub.sqlite\n")
    result = kernel("serve", "-c", "hub.ini", cwd=tmp_path)
    assert result.returncode == 1
    assert "can be read by other users (mode 644); run `chmod 600 secret`" in result.stderr


def test_token_prints_a_new_token_for_a_user_as_jupyterhub_token_does(tmp_path):
    import httpx

    from kernel.testing.hub import running_hub

    with running_hub(tmp_path / "hub", {"auth": {"admin_users": "alice"}}) as hub:
        result = kernel("token", "alice", "-c", "hub.ini", cwd=hub.directory)
        assert result.returncode == 0, result.stderr
        token = result.stdout.strip()
        me = httpx.get(f"{hub.url}hub/api/user", headers={"Authorization": f"token {token}"})
        assert me.status_code == 200 and me.json()["name"] == "alice"
        tokens = httpx.get(f"{hub.url}hub/api/users/alice/tokens",
                           headers={"Authorization": f"token {token}"}).json()
        assert [t["note"] for t in tokens["api_tokens"]] == ["command-line generated"]

        nobody = kernel("token", "nobody", "-c", "hub.ini", cwd=hub.directory)
        assert nobody.returncode == 1 and nobody.stderr.strip() == "No such user: nobody"


def test_generate_config_names_the_refused_jupyterhub_options_and_their_replacements(tmp_path):
    text = kernel("generate-config", "-o", "-", cwd=tmp_path).stdout
    for name, replacement in (("config_file", "kernel serve -c FILE"),
                              ("generate_config", "kernel generate-config"),
                              ("user_redirect_hook", "`redirect` hook"),
                              ("extra_handlers", "`web_routes` hook"),
                              ("extra_log_handlers", "`log` hook")):
        line = next((line for line in text.splitlines() if line.startswith(f"# {name}: ")),
                    None)
        assert line is not None, name
        assert replacement in " ".join(text.partition(line)[1:])[:300], name


def test_a_plugins_command_exists_when_the_config_named_with_c_enables_it(tmp_path):
    (tmp_path / "ssl.ini").write_text("[hub]\nauthenticator_class = dummy\n"
                                      "spawner_class = simple\nplugins = internal-ssl\n"
                                      "internal_ssl = true\n")
    result = kernel("generate-certs", "-c", "ssl.ini", cwd=tmp_path)  # no ./hub.ini here
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "internal-ssl").is_dir()


def test_help_shows_each_commands_whole_description(tmp_path):
    result = subprocess.run([sys.executable, "-m", "kernel", "--help"], cwd=tmp_path,
                            capture_output=True, text=True, timeout=60,
                            env={**os.environ, "COLUMNS": "80"})
    assert "..." not in result.stdout.partition("Commands:")[2]
    described = " ".join(result.stdout.split())
    assert "serve Start the hub (and its proxy) and serve until interrupted." in described
    assert ("generate-config Write a hub.ini with every option, commented, at its default."
            in described)
