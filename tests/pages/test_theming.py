"""Theming as JupyterHub has it: template_paths (an override extending the default page),
template_vars, logo_file, and static files versioned for caching."""

from __future__ import annotations

import re

import httpx
import pytest

from tests.pages.conftest import log_in, module_hub, new_page, screenshot, sections

HOME_OVERRIDE = """{% extends "default:home.html" %}
{% block main %}
<p class="alert warning" id="site-notice">Welcome to {{ site_name }}: servers stop after a day.</p>
{{ super() }}
{% endblock %}
"""

#: The operator's logo.
LOGO = (b'<svg xmlns="http://www.w3.org/2000/svg" width="150" height="32" viewBox="0 0 150 32">'
        b'<rect width="150" height="32" rx="6" fill="#1d3f72"/>'
        b'<text x="75" y="21" text-anchor="middle" font-family="sans-serif" font-size="15" '
        b'fill="#fff">Example University</text></svg>')


@pytest.fixture(scope="module")
def hub(tmp_path_factory):
    templates = tmp_path_factory.mktemp("templates")
    (templates / "home.html").write_text(HOME_OVERRIDE)
    logo = tmp_path_factory.mktemp("logo") / "our-logo.svg"
    logo.write_bytes(LOGO)
    yield from module_hub(tmp_path_factory, sections(
        hub={"template_paths": str(templates), "logo_file": str(logo),
             "redirect_to_server": "false"},
        **{"hub.template_vars": {"site_name": "Example University",
                                 "announcement_login": "Maintenance on <b>Sunday</b>."}}))


def test_a_template_override_extends_the_default_page(hub, browser):
    page = new_page(browser, hub)
    log_in(page, "helen")
    assert page.locator("#site-notice").inner_text() == (
        "Welcome to Example University: servers stop after a day.")
    # The default page is still there, under the addition.
    assert page.locator("table.servers").is_visible()
    screenshot(page, "theming-home-override")
    page.context.close()


def test_template_vars_reach_the_pages(hub):
    login = httpx.get(f"{hub.url}hub/login")
    assert '<div class="announcement" role="note">Maintenance on <b>Sunday</b>.</div>' in (
        login.text)


def test_logo_file_replaces_the_logo(hub, browser):
    assert httpx.get(f"{hub.url}hub/logo").content == LOGO
    page = new_page(browser, hub)
    page.goto("hub/login")
    logo = page.locator(".brand img")
    assert logo.get_attribute("src") == "/hub/logo"
    assert page.evaluate("document.querySelector('.brand img').naturalWidth") == 150
    page.context.close()


def test_static_files_are_versioned_by_their_content(hub):
    page = httpx.get(f"{hub.url}hub/login").text
    urls = re.findall(r'(?:href|src)="(/hub/static/[^"]+)"', page)
    assert urls and all(re.search(r"\?v=[0-9a-f]{12}$", url) for url in urls)
    for url in urls:
        assert httpx.get(f"{hub.url}{url.lstrip('/')}").status_code == 200
