"""User names made or changed through the API are normalised as a login normalises them,
so that the API cannot make a second account for a person who logs in as ``bob``,
nor an account whose name passes for someone else's.

JupyterHub 6.1.1 lower-cases names in a bulk POST and a rename, but not in
``POST /users/NAME``; kernelhub normalises all three (NFKC, lower case).
"""

from __future__ import annotations

from tests.api.helpers import assert_error, unique

FULL_WIDTH = str.maketrans({c: chr(ord(c) - 0x21 + 0xFF01) for c in "abcdefghijklmnopqrstuvwxyz"})


def test_a_new_user_s_name_is_lower_cased(api):
    name = unique("bob")
    created = api.post(f"users/{name.upper()}")
    assert created.status_code == 201, created.text
    assert created.json()["name"] == name
    assert_error(api.post(f"users/{name.capitalize()}"), 409, f"User {name} already exists")


def test_full_width_letters_stand_for_the_plain_ones(api):
    name = unique("eve")
    assert api.post(f"users/{name}").status_code == 201
    lookalike = name.translate(FULL_WIDTH)
    assert lookalike != name
    assert_error(api.post(f"users/{lookalike}"), 409, f"User {name} already exists")


def test_a_name_mixing_latin_and_cyrillic_letters_is_refused(api):
    name = unique("bob")
    assert api.post(f"users/{name}").status_code == 201
    spoof = name.replace("o", "\u043e", 1)  # CYRILLIC SMALL LETTER O
    assert_error(api.post(f"users/{spoof}"), 400, "cannot mix Latin, Greek and Cyrillic")
    assert api.post(f"users/{unique('борис')}").status_code == 201  # one script is fine


def test_bulk_creation_normalises_and_leaves_out_who_exists(api):
    carol, dave = unique("carol"), unique("dave")
    assert api.post(f"users/{carol}").status_code == 201
    created = api.post("users", json={"usernames": [carol.upper(), dave.upper(), dave]})
    assert created.status_code == 201, created.text
    assert [u["name"] for u in created.json()] == [dave]


def test_a_rename_is_normalised_and_refused_onto_a_name_that_stands_for_someone(api):
    frank, grace = unique("frank"), unique("grace")
    for name in (frank, grace):
        assert api.post(f"users/{name}").status_code == 201
    assert_error(api.patch(f"users/{frank}", json={"name": grace.upper()}), 400,
                 f"User {grace} already exists")
    renamed = api.patch(f"users/{frank}", json={"name": f"{frank}-NEW"})
    assert renamed.json()["name"] == f"{frank}-new"
    same = api.patch(f"users/{frank}-new", json={"name": f"{frank.upper()}-NEW"})
    assert same.status_code == 200 and same.json()["name"] == f"{frank}-new"
