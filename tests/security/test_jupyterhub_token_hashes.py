"""Tokens JupyterHub hashed (and `kernel import-db` copied) verify in kernelhub.

The hashes are made by the real JupyterHub 6.1.1 (``jupyterhub.utils.hash_token``
in the single-user venv), generated tokens with one round and provided ones
with JupyterHub's 16,384.
"""

from __future__ import annotations

import json
import subprocess

import pytest

from kernel.security.tokens import check_token, hash_token, jupyterhub_hash
from kernel.testing.infra import singleuser_venv_file

TOKENS = {"generated": ("0f1e2d3c4b5a69788796a5b4c3d2e1f0", 1),
          "provided": ("a-service-token-from-config", 16384)}


@pytest.fixture(scope="module")
def jupyterhub_hashes() -> dict[str, str]:
    python = singleuser_venv_file("python")
    program = ("import json, sys; from jupyterhub.utils import hash_token; "
               "tokens = json.load(sys.stdin); "
               "print(json.dumps({k: hash_token(t, rounds=r) for k, (t, r) in tokens.items()}))")
    done = subprocess.run([str(python), "-c", program], input=json.dumps(TOKENS), text=True,
                          capture_output=True, check=True, timeout=120)
    return json.loads(done.stdout)


@pytest.mark.parametrize("kind", TOKENS)
def test_a_token_jupyterhub_hashed_verifies_once_imported(jupyterhub_hashes, kind):
    token, _ = TOKENS[kind]
    assert check_token(token, jupyterhub_hash(jupyterhub_hashes[kind]))


@pytest.mark.parametrize("kind", TOKENS)
def test_another_token_does_not(jupyterhub_hashes, kind):
    token, _ = TOKENS[kind]
    assert not check_token(token + "x", jupyterhub_hash(jupyterhub_hashes[kind]))


def test_an_untagged_jupyterhub_hash_is_not_read_as_kernelhubs(jupyterhub_hashes):
    # Same text form, other salt encoding: the tag is what tells them apart.
    token, _ = TOKENS["generated"]
    assert not check_token(token, jupyterhub_hashes["generated"])


def test_kernelhubs_own_hashes_still_verify():
    assert check_token("kernelhub-token-1234", hash_token("kernelhub-token-1234", rounds=3))
