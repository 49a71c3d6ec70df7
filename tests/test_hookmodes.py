"""Call modes: what a spec may declare, and a spec that declares none."""

from __future__ import annotations

import pytest

from kernel.hookmodes import each, mode_of, single


def test_a_plain_function_each_hook_must_be_strict():
    with pytest.raises(ValueError, match="must be strict"):
        each(strict=False, awaits=False)


def test_a_role_chosen_by_an_option_names_its_default_plugin():
    with pytest.raises(ValueError, match=r"chosen by \[hub\] spawner_class needs a default"):
        single("spawner", chosen_by="spawner_class")


def test_a_spec_without_a_call_mode_is_named_when_called():
    def orphan() -> None:
        """A spec someone forgot to give a mode."""

    with pytest.raises(TypeError, match="hook spec 'orphan' declares no call mode"):
        mode_of(orphan)
