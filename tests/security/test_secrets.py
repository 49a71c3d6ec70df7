"""The cookie secret, signed cookies, XSRF tokens and token hashing."""

from __future__ import annotations

import os
import time

import pytest

from kernel.security.cookie_secret import SecretError, load_cookie_secret
from kernel.security.signing import CookieSigner
from kernel.security.tokens import check_token, hash_token, new_token, token_prefix


def test_a_missing_secret_file_is_created_private(tmp_path):
    path = tmp_path / "secret"
    secret = load_cookie_secret(b"", path, environ={})
    assert len(secret) == 32
    assert os.stat(path).st_mode & 0o777 == 0o600
    assert load_cookie_secret(b"", path, environ={}) == secret  # read back, not remade


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o644])
def test_a_secret_file_others_can_read_is_refused(tmp_path, mode):
    path = tmp_path / "secret"
    path.write_text("ab" * 32)
    path.chmod(mode)
    with pytest.raises(SecretError, match=r"can be read by other users .*chmod 600"):
        load_cookie_secret(b"", path, environ={})


def test_the_environment_wins_over_the_file_and_config_wins_over_both(tmp_path):
    path = tmp_path / "secret"
    assert load_cookie_secret(b"", path, environ={"JPY_COOKIE_SECRET": "00ff"}) == b"\x00\xff"
    assert not path.exists()
    assert load_cookie_secret(b"cfg", path, environ={"JPY_COOKIE_SECRET": "00ff"}) == b"cfg"


def test_a_secret_that_is_not_hex_is_refused(tmp_path):
    with pytest.raises(SecretError, match="JPY_COOKIE_SECRET must be hex"):
        load_cookie_secret(b"", tmp_path / "s", environ={"JPY_COOKIE_SECRET": "not hex"})


def test_a_login_cookie_round_trips():
    signer = CookieSigner(b"k" * 32, max_age_seconds=60)
    assert signer.session_from_login(signer.login_value("session-1")) == "session-1"


def test_a_tampered_login_cookie_is_refused():
    signer = CookieSigner(b"k" * 32, max_age_seconds=60)
    value = signer.login_value("session-1")
    tampered = value[:-2] + ("A" if value[-2] != "A" else "B") + value[-1]
    assert signer.session_from_login(tampered) is None


def test_a_cookie_signed_with_another_secret_is_refused():
    ours = CookieSigner(b"k" * 32, max_age_seconds=60)
    theirs = CookieSigner(b"x" * 32, max_age_seconds=60)
    assert ours.session_from_login(theirs.login_value("session-1")) is None


def test_an_expired_login_cookie_is_refused():
    signer = CookieSigner(b"k" * 32, max_age_seconds=1)
    value = signer.login_value("session-1")
    time.sleep(2.1)
    assert signer.session_from_login(value) is None


def test_xsrf_tokens_must_match_be_ours_and_belong_to_the_session():
    signer = CookieSigner(b"k" * 32, max_age_seconds=60)
    other = CookieSigner(b"x" * 32, max_age_seconds=60)
    token = signer.new_xsrf("session-1")
    assert signer.xsrf_matches(token, token, "session-1")
    assert not signer.xsrf_matches(token, signer.new_xsrf("session-1"), "session-1")
    assert not signer.xsrf_matches(token, None, "session-1")
    forged = other.new_xsrf("session-1")
    assert not signer.xsrf_matches(forged, forged, "session-1")
    # Another session's token, or one from before the login, is no good.
    assert not signer.xsrf_matches(token, token, "session-2")
    anonymous = signer.new_xsrf(None)
    assert signer.xsrf_matches(anonymous, anonymous, None)
    assert not signer.xsrf_matches(anonymous, anonymous, "session-1")
    assert not signer.xsrf_matches(token, token, None)


def test_tokens_hash_with_salt_and_check_in_either_cost():
    token = new_token()
    assert len(token) == 32 and token_prefix(token) == token[:4]
    cheap, costly = hash_token(token), hash_token(token, rounds=16384)
    assert cheap != hash_token(token)  # salted
    assert costly.startswith("sha512:16384:")
    assert check_token(token, cheap) and check_token(token, costly)
    assert not check_token(token + "x", cheap)
    assert not check_token(token, "garbage")
