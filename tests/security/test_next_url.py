"""`next=` never sends a browser off the hub: the open-redirect table."""

from __future__ import annotations

import pytest

from kernel.security.next_url import safe_next_url

REFUSED = [
    "https://evil.example/",
    "http://evil.example/hub/",
    "//evil.example/",
    "///evil.example/",
    "/\\evil.example/",
    "\\\\evil.example/",
    "/%2F%2Fevil.example/",
    "/%2f%2fevil.example/",
    "/%252F%252Fevil.example/",
    "/%5Cevil.example/",
    "/\t/evil.example/",
    "/\n/evil.example/",
    "/%09/evil.example/",
    "javascript:alert(1)",
    "evil.example",
    "hub/home",
    "/other-site/on/same/host",  # outside base_url /jupyter/
    "",
    None,
]

ALLOWED = [
    "/jupyter/hub/home",
    "/jupyter/user/alice/lab?reset",
    "/jupyter/user/alice/tree/a%20b.ipynb#cell-3",
    "/jupyter/",
]


@pytest.mark.parametrize("next_url", REFUSED)
def test_an_unsafe_next_url_is_refused(next_url):
    assert safe_next_url(next_url, "/jupyter/") is None


@pytest.mark.parametrize("next_url", ALLOWED)
def test_a_path_under_base_url_is_kept(next_url):
    assert safe_next_url(next_url, "/jupyter/") == next_url


def test_the_table_is_long_enough():
    assert len(REFUSED) >= 15
