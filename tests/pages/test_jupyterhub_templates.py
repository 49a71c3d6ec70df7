"""Template folders written for JupyterHub 6 work unchanged: its template names (and the
``templates/`` prefix for the default pages), its block names, variables, ids and classes.

The folder under test is ``tests/data/jupyterhub_templates/``: a login page with a
banner and an extra field, a page.html with a nav item and a stylesheet, and a home page
using JupyterHub's variables.
"""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import jinja2
import pytest
from jinja2 import nodes

from tests.pages.conftest import (
    ROOT,
    log_in,
    module_hub,
    new_page,
    screenshot,
    sections,
)

OPERATOR_TEMPLATES = ROOT / "tests" / "data" / "jupyterhub_templates"
KERNELHUB_TEMPLATES = ROOT / "templates"
JUPYTERHUB_TEMPLATES = Path("/opt/kernelhub-singleuser/share/jupyterhub/templates")

#: The operator's stylesheet, as their web server would serve it.
SITE_CSS = "#login_submit { background-color: rgb(0, 100, 0); } #site-banner { font-weight: 700; }"

#: Every block JupyterHub 6.1.1's templates define, by template; each must be a block of
#: kernelhub's template of the same name (or of a template it extends). docs/pages.md
#: has the same table.
JUPYTERHUB_BLOCKS: dict[str, set[str]] = {
    "page.html": {"title", "stylesheet", "favicon", "scripts", "meta", "nav_bar", "logo",
                  "nav_bar_left_items", "service", "nav_bar_right_items", "theme_toggle",
                  "login_widget", "header", "announcement", "main", "footer", "script"},
    "login.html": {"login_widget", "main", "login", "login_container", "username_input",
                   "username_input_attrs", "password_input", "password_input_attrs",
                   "otp_input", "otp_input_attrs", "login_terms", "login_terms_text",
                   "script"},
    "home.html": {"main", "script"},
    "spawn.html": {"main", "heading", "script"},
    "spawn_pending.html": {"main", "message", "script"},
    "stop_pending.html": {"main", "message", "script"},
    "not_running.html": {"main", "heading", "message", "start_button", "script"},
    "token.html": {"main", "expiration_options", "token_row", "client_row", "script"},
    "error.html": {"login_widget", "main", "h1_error", "error_detail", "script"},
    "404.html": {"error_detail"},
    "oauth.html": {"login_widget", "main"},
    "accept-share.html": {"login_widget", "main"},
    "admin.html": {"main", "footer"},
    "logout.html": {"main"},
}
#: Blocks kernelhub does not have, and why (docs/pages.md says the same).
UNSUPPORTED_BLOCKS = {
    ("token.html", "token_row"): "token.js lists the tokens from the REST API",
    ("token.html", "client_row"): "token.js lists the applications from the REST API",
}


def blocks_of(name: str, folder: Path, *, follow: bool = True) -> set[str]:
    """The block names template ``name`` defines, with those of the templates it extends."""
    source = (folder / name).read_text()
    tree = jinja2.Environment().parse(source)
    found = {block.name for block in tree.find_all(nodes.Block)}
    if follow:
        for extends in tree.find_all(nodes.Extends):
            assert isinstance(extends.template, nodes.Const), f"{name}: dynamic extends"
            parent = re.sub(r"^(templates/|default:)", "", extends.template.value)
            found |= blocks_of(parent, folder)
    return found


@pytest.mark.parametrize("template", sorted(JUPYTERHUB_BLOCKS))
def test_kernelhub_templates_have_jupyterhubs_blocks(template):
    assert (KERNELHUB_TEMPLATES / template).is_file(), f"no templates/{template}"
    kernelhub = blocks_of(template, KERNELHUB_TEMPLATES)
    expected = {block for block in JUPYTERHUB_BLOCKS[template]
                if (template, block) not in UNSUPPORTED_BLOCKS}
    assert sorted(expected - kernelhub) == []


def test_the_block_table_is_jupyterhubs_own():
    """When JupyterHub is installed, the table above is what its templates define: an
    upgrade that adds a template or a block fails here until kernelhub has it."""
    if not JUPYTERHUB_TEMPLATES.is_dir():
        pytest.skip(f"JupyterHub's templates are not at {JUPYTERHUB_TEMPLATES}")
    defined = {path.name: blocks_of(path.name, JUPYTERHUB_TEMPLATES, follow=False)
               for path in JUPYTERHUB_TEMPLATES.glob("*.html")}
    assert defined == JUPYTERHUB_BLOCKS


# -- an operator's folder on a running hub ----------------------------------------------


@pytest.fixture(scope="module")
def hub(tmp_path_factory):
    yield from module_hub(tmp_path_factory, sections(
        hub={"template_paths": str(OPERATOR_TEMPLATES), "redirect_to_server": "false",
             "named_server_limit_per_user": "3"}))


def test_the_login_page_extends_the_default_with_a_banner_and_a_field(hub):
    page = httpx.get(f"{hub.url}hub/login").text
    assert "Example Lab computing: sign in with your lab account" in page
    assert '<input id="department_input" name="department"' in page
    # The rest of the default login page, with JupyterHub's ids, is still there.
    for marker in ('id="username_input"', 'id="password_input"', 'id="login_submit"',
                   'name="_xsrf"', 'id="login-main"'):
        assert marker in page
    # The stylesheet the operator's page.html adds comes after kernelhub's own.
    assert re.search(r'css/style\.css\?v=\w+">.*<link rel="stylesheet" id="site-stylesheet" '
                     r'href="/site-assets/site\.css">', page, re.S)


def test_a_failed_login_shows_jupyterhubs_login_error(hub):
    client = hub.client()
    answer = client.post("hub/login", data={"username": "ivan", "password": "wrong",
                                            "department": "x", "_xsrf": client.xsrf()})
    assert answer.status_code == 403
    assert re.search(r'<p class="[^"]*\blogin_error\b[^"]*"[^>]*>Invalid username or password.',
                     answer.text)
    assert "Example Lab computing" in answer.text


def test_the_home_page_uses_jupyterhubs_variables_and_ids(hub):
    client = hub.client()
    client.login("jack")
    page = client.get("hub/home").text
    assert re.search(r'<p id="lab-greeting">Hello jack\.\s*<a id="lab-my-server" '
                     r'href="/hub/spawn/jack">Start My Server</a>', page)
    assert '<code id="lab-server-url">/user/jack/</code>' in page
    assert "You may have 3 named servers;\n    you have 0." in page
    assert '<a id="lab-tokens" href="/hub/token">' in page
    assert 'id="lab-admin"' not in page  # jack does not hold admin-ui
    assert re.search(r'<form id="lab-form" method="post" action="/hub/spawn">'
                     r'<input type="hidden" name="_xsrf" value="[^"]+"></form>', page)
    # The default home page under it, with JupyterHub's ids and classes.
    for marker in ('id="start"', 'class="home-server-row"', 'data-server-name=""',
                   "new-server-name", "new-server-btn", "server-table"):
        assert marker in page
    # The nav item from the operator's page.html, after kernelhub's own.
    assert re.search(r'>Token</a></li>.*<li class="nav-item"><a class="nav-link" id="lab-docs"',
                     page, re.S)
    assert 'id="login_widget"' in page and 'id="logout"' in page


def test_an_admin_sees_what_parsed_scopes_allows(hub):
    client = hub.client()
    client.login("admin")
    assert '<a id="lab-admin" href="/hub/admin">Admin</a>' in client.get("hub/home").text


def test_jupyterhubs_names_for_other_pages(hub):
    client = hub.client()
    client.login("kate")
    # No 404.html in the operator's folder: kernelhub's, which extends error.html.
    missing = client.get("hub/no-such-page")
    assert missing.status_code == 404 and 'class="card narrow error-page error"' in missing.text
    not_running = client.get("hub/user/kate/lab")
    assert not_running.status_code == 424 and 'id="start"' in not_running.text


def test_logging_in_through_the_customised_page(hub, browser):
    page = new_page(browser, hub)
    page.context.route("**/site-assets/site.css",
                       lambda route: route.fulfill(body=SITE_CSS, content_type="text/css"))
    page.goto("hub/login")
    assert page.locator("#site-banner").is_visible()
    # The operator's CSS, aimed at JupyterHub's id, styles kernelhub's button.
    assert page.eval_on_selector(
        "#login_submit", "b => getComputedStyle(b).backgroundColor") == "rgb(0, 100, 0)"
    page.fill("#username_input", "lena")
    page.fill("#password_input", "test-password")
    page.fill("#department_input", "physics")
    screenshot(page, "jupyterhub-templates-login")
    posted = page.expect_request(lambda r: r.method == "POST" and "/hub/login" in r.url)
    with posted as sent, page.expect_navigation():
        page.click("#login_submit")
    assert "department=physics" in (sent.value.post_data or "")
    assert page.url.endswith("/hub/home")
    assert page.locator("#lab-greeting").get_attribute("data-jh-user") == "lena"
    assert page.locator("#lab-docs").is_visible()
    screenshot(page, "jupyterhub-templates-home")
    page.context.close()


def test_log_in_helper_still_works_with_the_operators_login_page(hub, browser):
    page = new_page(browser, hub)
    log_in(page, "mia")
    assert page.url.endswith("/hub/home")
    page.context.close()
