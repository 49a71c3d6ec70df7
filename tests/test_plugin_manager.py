"""The plugin manager: hub.ini is an allowlist, call order follows it, roles have one provider."""

from __future__ import annotations

import sys

import pytest

from kernel.config.errors import ConfigError
from kernel.events import Event
from kernel.hookcall import HookRunner
from kernel.plugin_manager import DEFAULT_PLUGINS, ESSENTIAL_PLUGINS
from tests.fake_plugins import recorder

BASE = "[hub]\nauthenticator_class = dummy\nspawner_class = simple\n"


def test_a_plugin_that_is_not_enabled_is_never_imported(load_ini):
    sys.modules.pop("tests.fake_plugins.import_fails", None)
    loaded = load_ini(BASE)
    assert "tests.fake_plugins.import_fails" not in sys.modules
    assert loaded.plugins.manager.is_blocked("import-fails")
    assert not loaded.plugins.infos["import-fails"].active


def test_enabling_a_plugin_that_fails_to_import_names_it(load_ini):
    with pytest.raises(ConfigError, match=r"plugin 'import-fails' \(tests.fake_plugins."
                                          r"import_fails, .*\) failed to import: RuntimeError"):
        load_ini(BASE + "plugins = import-fails\n")


def test_only_enabled_plugins_are_registered(load_ini):
    loaded = load_ini(BASE)
    registered = {name for name, plugin in loaded.plugins.manager.list_name_plugin()
                  if plugin is not None}
    assert registered == {"dummy", "simple", "kernel-proxy", *DEFAULT_PLUGINS,
                          *ESSENTIAL_PLUGINS}
    assert loaded.plugins.manager.is_blocked("pam")
    assert loaded.plugins.manager.is_blocked("localprocess")


@pytest.mark.parametrize("order", [["first", "second", "third"], ["third", "first", "second"]])
def test_hooks_are_called_in_the_order_hub_ini_lists_the_plugins(load_ini, order):
    loaded = load_ini(BASE + f"plugins = {', '.join(order)}\n")
    recorder.CALLS.clear()
    HookRunner(loaded.plugins.manager).log(event=Event("ping"))
    assert [name for name, _ in recorder.CALLS] == order
    assert loaded.plugins.order[:3] == order


def test_two_plugins_providing_the_spawner_is_an_error_naming_both(load_ini):
    with pytest.raises(ConfigError) as e:
        load_ini(BASE + "plugins = second-spawner\n")
    message = str(e.value)
    assert "plugins 'simple' and 'second-spawner' both provide the spawner" in message
    assert "[hub] spawner_class" in message


def test_a_role_plugin_that_does_not_do_the_job_is_an_error(load_ini):
    with pytest.raises(ConfigError, match=r"\[hub\] authenticator_class: plugin 'simple' is "
                                          r"not an authenticator"):
        load_ini("[hub]\nauthenticator_class = simple\nspawner_class = simple\n")


def test_default_names_the_built_in_choice(load_ini):
    loaded = load_ini("[hub]\nauthenticator_class = dummy\nspawner_class = default\n")
    assert loaded.plugins.roles["spawner_class"] == "localprocess"


def test_a_misspelled_hook_is_caught_at_start_up(load_ini):
    with pytest.raises(ConfigError, match=r"plugin 'misspelled' implements 'authenticat', "
                                          r"which is not a kernelhub hook; did you mean "
                                          r"'authenticate'"):
        load_ini(BASE + "plugins = misspelled\n")


def test_hook_wrappers_are_refused(load_ini):
    with pytest.raises(ConfigError, match="declares 'web_routes' as a wrapper"):
        load_ini(BASE + "plugins = wrapper\n")


def test_essential_plugins_cannot_be_disabled(load_ini):
    with pytest.raises(ConfigError, match="plugin 'pages' is essential and cannot be disabled"):
        load_ini(BASE + "plugins = no:pages\n")


def test_a_plugin_that_is_not_installed_names_the_package_to_install(load_ini):
    with pytest.raises(ConfigError) as e:
        load_ini(BASE + "plugins = shibboleth\n")
    assert "plugin 'shibboleth' is not installed" in str(e.value)
    assert "pip install kernelhub-shibboleth" in str(e.value)


def test_a_near_miss_plugin_name_is_suggested(load_ini):
    with pytest.raises(ConfigError, match=r"plugin 'dumy' is not installed; did you mean "
                                          r"'dummy'"):
        load_ini("[hub]\nauthenticator_class = dumy\nspawner_class = simple\n")


def test_plugin_infos_say_why_a_plugin_is_active(load_ini):
    infos = load_ini(BASE + "plugins = first\n").plugins.infos
    assert infos["first"].reason == "[hub] plugins"
    assert infos["simple"].reason == "[hub] spawner_class"
    assert infos["pages"].reason == "essential"
    assert infos["pam"].reason == "not enabled in hub.ini"
    assert "spawn" in infos["simple"].hooks


def test_a_jupyterhub_class_name_gets_the_plugin_name(load_ini):
    with pytest.raises(ConfigError, match=r"chooses plugins by name, not by Python class: "
                                          r"write 'dummy' for jupyterhub.auth.Dummy"):
        load_ini("[hub]\nauthenticator_class = jupyterhub.auth.DummyAuthenticator\n"
                 "spawner_class = simple\n")


def test_enabling_and_disabling_the_same_plugin_is_an_error(load_ini):
    with pytest.raises(ConfigError, match="plugin 'first' is both enabled and disabled"):
        load_ini(BASE + "plugins = first, no:first\n")


def test_disabling_the_chosen_authenticator_is_an_error(load_ini):
    with pytest.raises(ConfigError, match=r"no:dummy disables the plugin \[hub\] "
                                          r"authenticator_class chooses"):
        load_ini(BASE + "plugins = no:dummy\n")
