"""Typed configuration keys: an option's declaration is the key its value is read with.

``hub.config[KEY]`` returns what the option's type parses to, and a type checker
knows it: the last test runs mypy over a plugin-style snippet.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from kernel.testing.infra import skip_or_fail
from plugins import pam

ROOT = Path(__file__).resolve().parent.parent
PAM_HUB = "[hub]\nauthenticator_class = pam\nspawner_class = simple\n"


def test_a_key_reads_its_option_with_the_declared_type(load_ini):
    config = load_ini(PAM_HUB + "[pam]\nservice = sshd\nadmin_groups = wheel, staff\n"
                      "check_account = false\n").config
    assert config[pam.SERVICE] == "sshd"
    assert config[pam.ADMIN_GROUPS] == ["wheel", "staff"]
    assert config[pam.CHECK_ACCOUNT] is False
    assert config[pam.OPEN_SESSIONS] is False  # the declared default


def test_a_key_of_a_plugin_that_is_not_enabled_says_so(load_ini):
    config = load_ini("[hub]\nauthenticator_class = dummy\nspawner_class = simple\n").config
    with pytest.raises(KeyError, match=r"no section \[pam\] is declared"):
        config[pam.SERVICE]


def test_a_collection_option_is_read_per_item(load_ini):
    config = load_ini(PAM_HUB + "[group:physics]\nusers = ada\n").config
    users = config.registry.get("group:*", "users")
    with pytest.raises(TypeError, match=r"config.collection\('group'\)\[NAME\]"):
        config[users]
    assert config.collection("group")["physics"][users] == ["ada"]


def test_the_declared_type_is_what_a_type_checker_sees(tmp_path):
    try:
        import mypy  # noqa: F401
    except ImportError:
        skip_or_fail("mypy is not installed (pip install -e '.[test]')")
    snippet = tmp_path / "reads_config.py"
    snippet.write_text(textwrap.dedent("""
        from collections.abc import Iterable
        from typing import assert_type

        from kernel.config import Config, Option, OptionRegistry
        from kernel.config.types import Boolean, ByteSize, Integer, TextList

        RETRIES = Option("mine", "retries", Integer(minimum=0), 3, "How often to retry.")
        HOSTS = Option("mine", "hosts", TextList(), [], "Where to send.")

        def send_to(hosts: Iterable[str]) -> None: ...

        def reads(config: Config, options: OptionRegistry) -> None:
            assert_type(config[RETRIES], int)
            assert_type(config[HOSTS], list[str])
            send_to(config[HOSTS])  # a list[str] where an Iterable[str] is expected
            sorted(config[HOSTS])
            assert_type(config[options.add("mine", "debug", Boolean())], bool)
            assert_type(config[options.add("mine", "quota", ByteSize())], int | None)
            assert_type(config[options.add("mine", "label")], str)
    """))
    result = subprocess.run([sys.executable, "-m", "mypy", "--no-incremental",
                             "--ignore-missing-imports", "--follow-imports=silent",
                             str(snippet)], cwd=ROOT, capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
