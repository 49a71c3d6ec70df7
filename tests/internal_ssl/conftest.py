"""A certificate store made once per module and copied into each test's own folder."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from plugins.internal_ssl.certs import CertificateStore

FQDN = "hub.internal.test"
TRUSTED = ["DNS:hub.example.org", "IP:10.0.0.1"]


def open_store(location: Path, *, recreate: bool = False, **options: Any) -> CertificateStore:
    """The store at ``location`` as the tests' hub configures it, prepared."""
    options = {"fqdn": FQDN, "trusted_alt_names": TRUSTED, **options}
    return CertificateStore(location, **options).prepare(recreate=recreate)


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Path:
    location = tmp_path_factory.mktemp("pristine") / "internal-ssl"
    open_store(location)
    return location


@pytest.fixture
def location(pristine: Path, tmp_path: Path) -> Path:
    """A copy of the module's store (modes kept), for this test to change."""
    copy = tmp_path / "internal-ssl"
    shutil.copytree(pristine, copy)
    return copy


@pytest.fixture
def store(location: Path) -> CertificateStore:
    return open_store(location)
