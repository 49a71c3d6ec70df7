"""hub.ini: strict parsing; every mistake names the file, line, section and key."""

from __future__ import annotations

import pytest

from kernel.config.errors import ConfigError
from kernel.config.loader import load
from kernel.hookcall import PluginError
from kernel.testing.hub import hub_app

BASE = "[hub]\nauthenticator_class = dummy\nspawner_class = simple\n"


def test_defaults_apply_when_a_key_is_left_out(load_ini):
    config = load_ini(BASE).config
    assert config.hub.port == 8000
    assert config.hub.base_url == "/"
    assert config.spawner.cmd == ["jupyterhub-singleuser"]
    assert not config.hub.is_set("port")


def test_values_are_typed(load_ini):
    config = load_ini(BASE + "port = 9000\ncleanup_servers = false\n"
                      "cookie_max_age_days = 0.5\nbase_url = jupyter\nlog_level = debug\n"
                      "[spawner]\nargs = --debug --name 'two words'\n"
                      "env_keep = PATH,\n  LANG\n").config
    assert config.hub.port == 9000
    assert config.hub.cleanup_servers is False
    assert config.hub.cookie_max_age_days == 0.5
    assert config.hub.base_url == "/jupyter/"
    assert config.hub.log_level == 10
    assert config.spawner.args == ["--debug", "--name", "two words"]
    assert config.spawner.env_keep == ["PATH", "LANG"]


def test_a_wrong_type_names_file_line_section_key_value_and_expectation(load_ini):
    with pytest.raises(ConfigError) as e:
        load_ini(BASE + "port = eighty\n")
    assert str(e.value).endswith('hub.ini:4 [hub] port: expected a whole number of at least 1, '
                                 'got "eighty"')


@pytest.mark.parametrize("value", ["yes", "on", "True!", ""])
def test_booleans_are_strict(load_ini, value):
    with pytest.raises(ConfigError, match=r"\[hub\] cleanup_servers: expected true or false"):
        load_ini(BASE + f"cleanup_servers = {value}\n")


def test_an_unknown_key_suggests_the_closest_option(load_ini):
    with pytest.raises(ConfigError, match=r"\[hub\] prot: unknown option; did you mean 'port'"):
        load_ini(BASE + "prot = 8000\n")


def test_a_key_in_the_wrong_section_names_the_right_one(load_ini):
    with pytest.raises(ConfigError, match=r"\[hub\] cmd: unknown option here; did you mean "
                                          r"\[spawner\] cmd"):
        load_ini(BASE + "cmd = jupyter lab\n")


def test_an_unknown_section_suggests_the_closest_section(load_ini):
    with pytest.raises(ConfigError, match=r"\[spawer\]: unknown section; did you mean "
                                          r"\[spawner\]"):
        load_ini(BASE + "[spawer]\ncmd = x\n")


def test_a_default_section_is_not_special(load_ini):
    with pytest.raises(ConfigError, match=r"\[DEFAULT\]: unknown section"):
        load_ini("[DEFAULT]\nport = 1\n" + BASE)


def test_an_unavailable_option_of_a_disabled_plugin_says_it_is_unavailable(load_ini):
    with pytest.raises(ConfigError, match=r"\[hub.external_ssl_authorities\]: cannot be set "
                                          r"in kernelhub: write one "
                                          r"\[external_ssl_authority:NAME\] section"):
        load_ini(BASE + "[hub.external_ssl_authorities]\nproxy-api-ca = x\n")
    with pytest.raises(ConfigError, match=r"\[hub\] internal_ssl: this option belongs to "
                                          r"plugin 'internal-ssl', which is not enabled"):
        load_ini(BASE + "internal_ssl = true\n")


def test_a_hub_option_of_a_disabled_builtin_plugin_says_to_enable_it(load_ini):
    with pytest.raises(ConfigError, match=r"\[hub\] statsd_host: this option belongs to "
                                          r"plugin 'statsd', which is not enabled; add "
                                          r"'statsd' to \[hub\] plugins"):
        load_ini(BASE + "statsd_host = localhost\n")


def test_the_section_of_a_disabled_role_plugin_says_to_choose_it(load_ini):
    with pytest.raises(ConfigError, match=r"\[simple\]: this section configures plugin "
                                          r"'simple', which is not enabled; choose it with "
                                          r"\[hub\] spawner_class = simple"):
        load_ini("[hub]\nauthenticator_class = dummy\nspawner_class = localprocess\n"
                 "[simple]\nhome_dir_template = /tmp/x\n")


def test_the_section_of_a_disabled_plugin_says_to_enable_it(load_ini):
    with pytest.raises(ConfigError, match="configures plugin 'options-plugin', which is not "
                                          "enabled; add 'options-plugin' to \\[hub\\] plugins"):
        load_ini(BASE + "[options-plugin]\ncount = 2\n")


def test_an_empty_section_of_a_disabled_plugin_is_harmless(load_ini):
    load_ini(BASE + "[pam]\n")


def test_a_jupyterhub_option_in_the_wrong_section_is_found_exactly(load_ini):
    with pytest.raises(ConfigError, match=r"\[hub\] allowed_users: unknown option here; did "
                                          r"you mean \[auth\] allowed_users"):
        load_ini(BASE + "allowed_users = alice\n")


def test_environment_variables_are_expanded(load_ini):
    config = load_ini(BASE + "db_url = ${DB}\nbase_url = ${PREFIX:-/lab/}\n"
                      "[dummy]\npassword = $${literal}\n",
                      environ={"DB": "sqlite:///x.sqlite"}).config
    assert config.hub.db_url == "sqlite:///x.sqlite"
    assert config.hub.base_url == "/lab/"
    assert config.section("dummy").password == "${literal}"


def test_a_missing_environment_variable_is_named(load_ini):
    with pytest.raises(ConfigError, match=r"hub.ini:4 \[hub\] db_url: the environment "
                                          r"variable DB_URL is not set"):
        load_ini(BASE + "db_url = ${DB_URL}\n")


def test_a_key_given_twice_is_refused_with_its_line(load_ini):
    with pytest.raises(ConfigError, match=r"hub.ini:5 \[hub\] port: the key appears twice"):
        load_ini(BASE + "port = 1\nport = 2\n")


def test_a_key_outside_any_section_is_refused(load_ini):
    with pytest.raises(ConfigError, match=r"hub.ini:1: every key must be inside a section"):
        load_ini("port = 8000\n" + BASE)


def test_a_table_written_inline_says_how_to_write_it(load_ini):
    with pytest.raises(ConfigError, match=r"\[hub\] api_tokens: this option is a table: write "
                                          r"it as a section \[hub.api_tokens\]"):
        load_ini(BASE + "api_tokens = abc\n")


def test_table_sections_fill_dict_options(load_ini):
    config = load_ini(BASE + "[hub.api_tokens]\n0123456789abcdef = alice\n"
                      "[spawner.environment]\nFOO = {username}-bar\n").config
    assert config.hub.api_tokens == {"0123456789abcdef": "alice"}
    assert config.spawner.environment == {"FOO": "{username}-bar"}


def test_keys_keep_their_case(load_ini):
    config = load_ini(BASE + "[spawner.environment]\nMixedCase = 1\n").config
    assert config.spawner.environment == {"MixedCase": "1"}


def test_deprecated_options_warn_and_carry_their_value_over(load_ini):
    config = load_ini(BASE + "admin_users = alice, bob\n").config
    assert config.auth.admin_users == ["alice", "bob"]
    assert any("[hub] admin_users is deprecated; use [auth] admin_users" in w
               for w in config.warnings)


def test_the_new_name_wins_over_a_deprecated_one(load_ini):
    config = load_ini(BASE + "admin_users = old\n[auth]\nadmin_users = new\n").config
    assert config.auth.admin_users == ["new"]


def test_an_unavailable_option_explains_what_to_do_instead(load_ini):
    with pytest.raises(ConfigError, match=r"\[hub\] user_redirect_hook: cannot be set in "
                                          r"kernelhub: .*implement the `redirect` hook"):
        load_ini(BASE + "user_redirect_hook = mymodule.hook\n")


def test_collection_sections_are_one_item_each(load_ini):
    config = load_ini(BASE + "[group:physics]\nusers = alice, bob\n[group:maths]\n").config
    groups = config.collection("group")
    assert list(groups) == ["physics", "maths"]
    assert groups["physics"].users == ["alice", "bob"]
    assert groups["maths"].users == []
    assert groups["maths"].properties is None  # unset: start-up leaves them as they are


def test_group_properties_are_a_json_object(load_ini):
    config = load_ini(BASE + '[group:physics]\nproperties = {"building": "A", "floor": 2}\n'
                      ).config
    assert config.collection("group")["physics"].properties == {"building": "A", "floor": 2}
    for text in ('["A"]', "building = A", "{"):
        with pytest.raises(ConfigError, match=r"\[group:physics\] properties: expected a JSON "
                                              r"object"):
            load_ini(BASE + f"[group:physics]\nproperties = {text}\n")


def test_an_unknown_key_in_a_collection_section_is_refused(load_ini):
    with pytest.raises(ConfigError, match=r"\[group:physics\] user: unknown option; did you "
                                          r"mean 'users'"):
        load_ini(BASE + "[group:physics]\nuser = alice\n")


def test_plugin_sections_are_validated_with_the_plugins_declarations(load_ini):
    config = load_ini(BASE + "plugins = options-plugin\n[options-plugin]\nenabled = true\n"
                      "count = 7\nnames = a, b\n[options-plugin.labels]\nteam = red\n").config
    section = config.section("options-plugin")
    assert (section.enabled, section.count, section.ratio, section.names) == \
        (True, 7, 0.5, ["a", "b"])
    assert section.labels == {"team": "red"}
    with pytest.raises(ConfigError, match=r"\[options-plugin\] count: expected a whole number "
                                          r"of at least 1, got \"0\""):
        load_ini(BASE + "plugins = options-plugin\n[options-plugin]\ncount = 0\n")


def test_an_unreadable_file_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match=r"missing.ini: cannot read the config file"):
        load(tmp_path / "missing.ini")


def test_no_file_means_the_defaults(installed):
    loaded = load(None, installed=installed)
    assert loaded.plugins.roles == {"authenticator_class": "pam",
                                    "spawner_class": "localprocess",
                                    "proxy_class": "kernel-proxy"}


def test_a_table_with_known_keys_types_them_and_warns_about_the_rest(load_ini):
    config = load_ini(BASE + "[hub.tornado_settings]\nslow_spawn_timeout = 2.5\n"
                      "xsrf_cookies = true\n").config
    assert config.hub.tornado_settings == {"slow_spawn_timeout": 2.5}
    assert any("[hub.tornado_settings] xsrf_cookies is ignored: kernelhub understands "
               "slow_spawn_timeout, slow_stop_timeout" in w for w in config.warnings)
    with pytest.raises(ConfigError, match=r"\[hub.tornado_settings\] slow_stop_timeout: "
                                          r"expected a number of at least 0"):
        load_ini(BASE + "[hub.tornado_settings]\nslow_stop_timeout = soon\n")


def test_a_collection_item_takes_tables_of_its_own_before_or_after_it(load_ini):
    services = load_ini(BASE + "[service:cull.environment]\nA = 1\n"
                               "[service:cull]\ncommand = python -m culler --timeout=60\n"
                               "[service:cull.info]\nowner = it\n"
                               "[service:my.site]\nurl = http://127.0.0.1:9\n"
                        ).config.collection("service")
    assert services["cull"].environment == {"A": "1"}
    assert services["cull"].info == {"owner": "it"}
    assert services["cull"].command == ["python", "-m", "culler", "--timeout=60"]
    # A dot in a name is part of the name unless what follows is one of its tables.
    assert services["my.site"].url == "http://127.0.0.1:9"
    assert services["cull"].is_set("environment") and not services["cull"].is_set("url")


def test_a_deprecated_collection_key_warns_with_its_replacement(load_ini):
    config = load_ini(BASE + "[service:old]\nurl = http://127.0.0.1:9\nadmin = true\n").config
    assert config.collection("service")["old"].admin is True
    assert any("[service:old] admin is deprecated; list the service in a role" in w
               for w in config.warnings)


def test_running_a_service_needs_the_services_plugin(load_ini):
    with pytest.raises(ConfigError, match=r"\[service:cull\] command: this option belongs to "
                                          r"plugin 'services', which is not enabled"):
        load_ini(BASE + "plugins = no:services\n[service:cull]\ncommand = culler\n")
    external = load_ini(BASE + "plugins = no:services\n"
                               "[service:site]\nurl = http://127.0.0.1:9\n").config
    assert external.collection("service")["site"].url == "http://127.0.0.1:9"




def test_an_external_proxy_without_its_token_stops_the_hub_before_start_up(tmp_path):
    # The proxy plugin raises it while the hub is built, naming the option.
    with pytest.raises(PluginError, match=r"\[proxy\] auth_token: a proxy the hub does not "
                                          r"start needs the token"):
        hub_app(tmp_path, {"proxy": {"should_start": "false"}})


# -- JupyterHub options that behave as in JupyterHub ----------------------------------------


@pytest.mark.parametrize(("text", "size"), [("2G", 2 * 1024**3), ("1.5G", 1536 * 1024**2),
                                            ("512M", 512 * 1024**2), ("100K", 102400),
                                            ("1T", 1024**4), ("4096", 4096)])
def test_memory_sizes_are_bytes_as_jupyterhubs_byte_specification(load_ini, text, size):
    spawner = load_ini(BASE + f"[spawner]\nmem_limit = {text}\nmem_guarantee = {text}\n"
                       ).config.spawner
    assert spawner.mem_limit == size and spawner.mem_guarantee == size


def test_memory_sizes_are_unset_by_default(load_ini):
    assert load_ini(BASE).config.spawner.mem_limit is None


@pytest.mark.parametrize("text", ["lots", "2GB", "-1G", "2g", "nanG", "1.5", "infT"])
def test_a_nonsense_memory_size_is_a_config_error(load_ini, text):
    with pytest.raises(ConfigError, match=r"\[spawner\] mem_limit: expected a size in bytes "
                                          r"such as 512M"):
        load_ini(BASE + f"[spawner]\nmem_limit = {text}\n")


def test_db_kwargs_of_the_drivers_are_typed_and_others_stay_text(load_ini):
    kwargs = load_ini(BASE + "[hub.db_kwargs]\ntimeout = 30\nconnect_timeout = 5\n"
                      "autocommit = true\npassword = 1234\nsslmode = require\n"
                      ).config.hub.db_kwargs
    assert kwargs == {"timeout": 30.0, "connect_timeout": 5, "autocommit": True,
                      "password": "1234", "sslmode": "require"}


def test_a_wrongly_typed_db_kwarg_is_a_config_error(load_ini):
    with pytest.raises(ConfigError, match=r"\[hub.db_kwargs\] timeout: expected a number of "
                                          r'at least 0, got "soon"'):
        load_ini(BASE + "[hub.db_kwargs]\ntimeout = soon\n")


def test_sqlite_opens_with_a_timeout_from_db_kwargs(load_ini, tmp_path):
    from kernel.db.database import Database

    options = load_ini(BASE + f"db_url = sqlite:///{tmp_path / 'hub.sqlite'}\n"
                       "[hub.db_kwargs]\ntimeout = 30\n").config.hub
    db = Database(options.db_url, options.db_kwargs)
    try:
        assert db.call(lambda: db.peewee.execute_sql("select 1").fetchone()) == (1,)
    finally:
        db.close()


def test_jinja_environment_options_are_typed(load_ini):
    options = load_ini(BASE + "[hub.jinja_environment_options]\ntrim_blocks = true\n"
                       "cache_size = 10\nextensions = jinja2.ext.loopcontrols\n"
                       ).config.hub.jinja_environment_options
    assert options == {"trim_blocks": True, "cache_size": 10,
                       "extensions": ["jinja2.ext.loopcontrols"]}


def test_an_unknown_jinja_environment_option_is_a_config_error(load_ini):
    with pytest.raises(ConfigError, match=r"\[hub.jinja_environment_options\] trim_block: "
                                          r"unknown key; known keys are .*trim_blocks"):
        load_ini(BASE + "[hub.jinja_environment_options]\ntrim_block = true\n")


def test_hub_connect_port_is_the_port_servers_reach_the_hub_on(load_ini):
    from kernel.urls import hub_urls

    config = load_ini(BASE + "hub_port = 8081\nhub_connect_port = 9081\n").config
    assert hub_urls(config).hub_connect == "http://127.0.0.1:9081"
    assert "hub_connect_port is deprecated; use [hub] hub_connect_url" in config.warnings[0]
    config = load_ini(BASE + "hub_connect_port = 9081\n"
                      "hub_connect_url = http://hub.internal:7000\n").config
    assert hub_urls(config).hub_connect == "http://hub.internal:7000"


@pytest.mark.parametrize(("keys", "api_url"), [
    ("proxy_api_ip = 10.0.0.5\nproxy_api_port = 9001\n", "http://10.0.0.5:9001"),
    ("proxy_api_port = 9001\n", "http://127.0.0.1:9001"),
    ("port = 9000\nproxy_api_ip = 10.0.0.5\n", "http://10.0.0.5:9001"),
])
def test_proxy_api_ip_and_port_set_the_proxy_api_url_as_in_jupyterhub(load_ini, keys, api_url):
    config = load_ini(BASE + keys).config
    assert config.proxy.api_url == api_url
    assert any("use [proxy] api_url" in warning for warning in config.warnings)


def test_an_explicit_proxy_api_url_wins_over_proxy_api_port(load_ini):
    config = load_ini(BASE + "proxy_api_port = 9001\n[proxy]\napi_url = http://127.0.0.1:7001\n"
                      ).config
    assert config.proxy.api_url == "http://127.0.0.1:7001"


@pytest.mark.parametrize("option", ["bind_url", "hub_bind_url"])
@pytest.mark.parametrize("scheme", ["unix+http", "http+unix"])
def test_a_unix_socket_url_is_refused_at_config_time(load_ini, option, scheme):
    with pytest.raises(ConfigError, match=rf"\[hub\] {option}: a Unix socket cannot be used: "
                                          r"kernelhub listens and connects over TCP only"):
        load_ini(BASE + f"{option} = {scheme}://%2Fsrv%2Fhub.sock\n")


def test_the_api_page_limits_are_options(load_ini):
    hub = load_ini(BASE + "api_page_default_limit = 20\napi_page_max_limit = 500\n").config.hub
    assert (hub.api_page_default_limit, hub.api_page_max_limit) == (20, 500)


def test_the_readmes_demo_listens_on_this_machine_only():
    from pathlib import Path

    from kernel.urls import hub_urls

    demo = load(Path(__file__).parent.parent / "hub.ini", environ={})
    urls = hub_urls(demo.config)
    assert (urls.public_ip, urls.hub_bind_ip) == ("127.0.0.1", "127.0.0.1")
