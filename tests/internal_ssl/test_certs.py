"""The internal-ssl certificate store: JupyterHub's layout, trust graph, reuse, renewal, errors."""

from __future__ import annotations

import datetime as dt
import re
import shutil
import stat
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import rsa

from kernel.testing.infra import singleuser_venv_file
from kernel.tls import CertFiles
from plugins.internal_ssl.certs import AUTHORITIES, CertificateError, CertificateStore
from tests.internal_ssl.conftest import FQDN, open_store
from tests.internal_ssl.helpers import (
    alt_names,
    bundle_names,
    certificate,
    fingerprint,
    handshake,
    make_authority,
    public_key,
    sign_leaf,
    snapshot,
    verifies,
)

PAIRS = ("hub-internal", "proxy-api", "proxy-client")
#: Who accepts whom, from JupyterHub's `internal_ssl_components_trust` (jupyterhub/app.py):
#: bundle -> the authorities whose certificates it accepts, in file order.
TRUST = {
    "hub-ca": ["hub-ca", "notebooks-ca", "proxy-api-ca", "proxy-client-ca", "services-ca"],
    "proxy-api-ca": ["hub-ca", "services-ca", "notebooks-ca"],
    "proxy-client-ca": ["hub-ca", "notebooks-ca"],
    "notebooks-ca": ["hub-ca", "proxy-client-ca"],
    "services-ca": ["hub-ca", "proxy-api-ca"],
}


def files_of(location: Path, name: str) -> tuple[Path, Path]:
    return location / name / f"{name}.key", location / name / f"{name}.crt"


# -- layout -------------------------------------------------------------------


def test_the_store_has_jupyterhubs_layout(pristine):
    names = [*AUTHORITIES, *PAIRS]
    expected = {f"{n}/{n}.{ext}" for n in names for ext in ("key", "crt")}
    expected |= {f"{ca}_trust.crt" for ca in AUTHORITIES}
    assert set(snapshot(pristine)) == expected


def test_folders_are_0700_keys_0600_and_certificates_0644(pristine):
    assert stat.S_IMODE(pristine.stat().st_mode) == 0o700
    for path in pristine.rglob("*"):
        mode = stat.S_IMODE(path.stat().st_mode)
        expected = 0o700 if path.is_dir() else 0o600 if path.suffix == ".key" else 0o644
        assert mode == expected, f"{path} has mode {mode:o}"


def test_loosened_modes_are_tightened_at_start_up(location):
    key = files_of(location, "hub-ca")[0]
    key.chmod(0o644)
    key.parent.chmod(0o755)
    open_store(location)
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert stat.S_IMODE(key.parent.stat().st_mode) == 0o700


@pytest.mark.parametrize("name", AUTHORITIES)
def test_authorities_are_self_signed_rsa_2048_sha256_for_five_years(pristine, name):
    cert = certificate(pristine / name / f"{name}.crt")
    assert cert.subject == cert.issuer
    assert cert.subject.rfc4514_string() == f"CN={name}"
    assert isinstance(cert.public_key(), rsa.RSAPublicKey)
    assert cert.public_key().key_size == 2048
    assert isinstance(cert.signature_hash_algorithm, hashes.SHA256)
    assert cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    lifetime = cert.not_valid_after_utc - dt.datetime.now(dt.UTC)
    assert dt.timedelta(days=5 * 365 - 1) < lifetime <= dt.timedelta(days=5 * 365)


def test_private_keys_are_in_certipys_format(pristine):
    assert (pristine / "hub-ca" / "hub-ca.key").read_text().startswith(
        "-----BEGIN RSA PRIVATE KEY-----")


# -- the trust graph ----------------------------------------------------------


@pytest.mark.parametrize("bundle", TRUST)
def test_each_trust_bundle_holds_jupyterhubs_authorities(pristine, bundle):
    assert bundle_names(pristine / f"{bundle}_trust.crt") == TRUST[bundle]


@pytest.fixture(scope="module")
def signed_by(pristine, tmp_path_factory) -> dict[str, Path]:
    """One certificate signed by each authority: the store's own where it has one."""
    store = open_store(pristine)
    server = store.issue("trust-graph", kind="server").cert
    services_ca = files_of(pristine, "services-ca")
    other = sign_leaf(*services_ca, tmp_path_factory.mktemp("leaf") / "a-service.crt")
    return {"hub-ca": store.hub.cert, "proxy-api-ca": store.proxy_api.cert,
            "proxy-client-ca": store.proxy_client.cert, "notebooks-ca": server,
            "services-ca": other}


@pytest.mark.parametrize("bundle", TRUST)
@pytest.mark.parametrize("authority", AUTHORITIES)
def test_a_bundle_accepts_exactly_the_authorities_of_the_trust_graph(
        pristine, signed_by, bundle, authority):
    accepted = verifies(signed_by[authority], pristine / f"{bundle}_trust.crt")
    assert accepted == (authority in TRUST[bundle])


@pytest.mark.parametrize("pair, signer", [("hub-internal", "hub-ca"),
                                          ("proxy-api", "proxy-api-ca"),
                                          ("proxy-client", "proxy-client-ca")])
def test_each_pair_is_signed_by_its_authority_and_given_that_authoritys_bundle(
        store, pair, signer):
    files = {"hub-internal": store.hub, "proxy-api": store.proxy_api,
             "proxy-client": store.proxy_client}[pair]
    assert files == CertFiles(*files_of(store.location, pair),
                              ca=store.location / f"{signer}_trust.crt")
    assert certificate(files.cert).issuer.rfc4514_string() == f"CN={signer}"


@pytest.fixture(scope="module")
def parties(pristine) -> dict[str, CertFiles]:
    store = open_store(pristine)
    return {"hub": store.hub, "proxy_api": store.proxy_api, "proxy_client": store.proxy_client,
            "alice": store.issue("alice", kind="server"),
            "bob": store.issue("bob", kind="server"),
            "service": store.issue("announcement", kind="service")}


@pytest.mark.parametrize("client, server, connects", [
    ("hub", "proxy_api", True),  # the hub drives the proxy's REST API
    ("proxy_client", "hub", True),  # the proxy forwards /hub/ to the hub
    ("proxy_client", "alice", True),  # ... and /user/alice/ to her server
    ("proxy_client", "service", True),  # ... and /services/NAME/ to a managed service
    ("hub", "alice", True),  # the hub waits for a server to answer
    ("alice", "hub", True),  # a server calls the hub's API (OAuth, activity)
    ("hub", "service", True),
    ("service", "hub", True),  # a service calls the hub's API
    ("bob", "alice", False),  # one user's server refuses another's
    ("proxy_api", "alice", False),  # the proxy's API certificate is no client of servers
    ("alice", "proxy_api", False),  # servers do not trust the proxy's API
])
def test_mutual_tls_between_the_parties_follows_the_trust_graph(
        parties, client, server, connects):
    assert handshake(parties[client], parties[server]) is connects


# -- names --------------------------------------------------------------------


def test_the_hub_certificate_names_localhost_this_host_and_the_trusted_names(store):
    assert alt_names(store.hub.cert) == ["IP:127.0.0.1", "IP:::1", "DNS:localhost",
                                         f"DNS:{FQDN}", "DNS:hub.example.org", "IP:10.0.0.1"]


def test_the_proxy_certificates_name_localhost_and_the_trusted_names(store):
    for files in (store.proxy_api, store.proxy_client):
        assert alt_names(files.cert) == ["IP:127.0.0.1", "IP:::1", "DNS:localhost",
                                         "DNS:hub.example.org", "IP:10.0.0.1"]


def test_the_subdomain_host_is_named_in_the_hub_certificate(location):
    store = open_store(location, subdomain_host="https://hub.example.org:8443")
    assert "DNS:hub.example.org" in alt_names(store.hub.cert)


def test_a_bad_trusted_alt_name_is_refused_naming_it():
    with pytest.raises(ValueError, match=re.escape('"hub.example.org": expected DNS:name')):
        CertificateStore("unused", trusted_alt_names=["hub.example.org"], fqdn=FQDN)


# -- issue --------------------------------------------------------------------


def test_a_server_certificate_is_user_name_signed_by_notebooks_ca(store):
    files = store.issue("alice", kind="server", alt_names=["DNS:node7.cluster", "IP:10.1.2.3"])
    assert files == CertFiles(*files_of(store.location, "user-alice"),
                              ca=store.location / "notebooks-ca_trust.crt")
    assert certificate(files.cert).issuer.rfc4514_string() == "CN=notebooks-ca"
    assert alt_names(files.cert) == ["DNS:localhost", "IP:127.0.0.1", "DNS:node7.cluster",
                                     "IP:10.1.2.3"]
    assert stat.S_IMODE(files.key.stat().st_mode) == 0o600


def test_a_service_certificate_is_service_name_signed_by_notebooks_ca(store):
    files = store.issue("announcement", kind="service")
    assert files == CertFiles(*files_of(store.location, "service-announcement"),
                              ca=store.location / "notebooks-ca_trust.crt")
    assert certificate(files.cert).issuer.rfc4514_string() == "CN=notebooks-ca"


def test_issuing_again_replaces_the_pair(store):
    first = store.issue("alice", kind="server")
    before = fingerprint(first.cert)
    assert store.issue("alice", kind="server") == first
    assert fingerprint(first.cert) != before


def test_concurrent_issues_for_one_name_leave_a_matching_pair(store):
    with ThreadPoolExecutor(4) as pool:
        issued = list(pool.map(lambda _: store.issue("alice", kind="server"), range(6)))
    assert handshake(issued[0], store.proxy_client)  # raises if key and cert were mixed


@pytest.mark.parametrize("name, folder", [("alice/", "user-alice"),
                                          ("alice/gpu", "user-alice:gpu")])
def test_a_server_may_be_named_as_the_rest_api_names_it(store, name, folder):
    files = store.issue(name, kind="server")
    assert files.cert == store.location / folder / f"{folder}.crt"
    assert certificate(files.cert).subject.rfc4514_string() == f"CN={folder}"


@pytest.mark.parametrize("name, kind", [("alice", "user"), ("../hub-ca", "service"),
                                        ("alice/gpu/x", "server"), ("/gpu", "server"),
                                        ("", "server")])
def test_issue_refuses_an_unknown_kind_or_a_name_that_is_no_folder(store, name, kind):
    with pytest.raises(ValueError):
        store.issue(name, kind=kind)


# -- reuse, recreate, renewal ---------------------------------------------------


def test_a_second_start_keeps_every_file(location):
    before = snapshot(location)
    store = open_store(location)
    assert snapshot(location) == before
    assert set(store.actions.values()) == {"kept"}


def test_recreate_replaces_every_certificate_and_keeps_the_authorities_keys(location):
    server = open_store(location).issue("alice", kind="server")
    before = {n: fingerprint(files_of(location, n)[1]) for n in (*AUTHORITIES, *PAIRS)}
    keys = {n: public_key(files_of(location, n)[1]) for n in (*AUTHORITIES, *PAIRS)}
    # What a running server holds: its certificate and its bundle (copied at spawn).
    old_bundle, old_cert = location / "old-bundle.crt", location / "old-server.crt"
    shutil.copyfile(server.ca, old_bundle)
    shutil.copyfile(server.cert, old_cert)
    store = open_store(location, recreate=True)
    for name, old in before.items():
        assert fingerprint(files_of(location, name)[1]) != old, name
    for name in PAIRS:
        assert public_key(files_of(location, name)[1]) != keys[name], name
    for name in AUTHORITIES:
        assert public_key(files_of(location, name)[1]) == keys[name], name
    assert not (location / "user-alice").exists()
    assert set(store.actions.values()) == {"recreated"}
    # A server started before keeps trusting the new hub certificate, and is trusted.
    assert verifies(store.hub.cert, old_bundle)
    assert verifies(old_cert, store.hub.ca)


def test_a_certificate_about_to_expire_is_renewed_by_its_kept_authority(location):
    shutil.rmtree(location / "hub-internal")
    open_store(location, validity=dt.timedelta(days=10))
    authorities = {n: fingerprint(files_of(location, n)[1]) for n in AUTHORITIES}
    store = open_store(location)
    assert store.actions["hub-internal"] == "renewed"
    left = certificate(store.hub.cert).not_valid_after_utc - dt.datetime.now(dt.UTC)
    assert left > dt.timedelta(days=5 * 365 - 1)
    assert {n: fingerprint(files_of(location, n)[1]) for n in AUTHORITIES} == authorities
    assert verifies(store.hub.cert, store.hub.ca)


def test_an_authority_about_to_expire_is_renewed_with_its_key_so_what_it_signed_stays_valid(
        tmp_path):
    location = tmp_path / "internal-ssl"
    old = open_store(location, validity=dt.timedelta(days=10))
    server = old.issue("alice", kind="server")
    keys = {n: public_key(files_of(location, n)[1]) for n in AUTHORITIES}
    store = open_store(location)
    assert {n: store.actions[n] for n in AUTHORITIES} == dict.fromkeys(AUTHORITIES, "renewed")
    assert {n: public_key(files_of(location, n)[1]) for n in AUTHORITIES} == keys
    assert verifies(server.cert, store.hub.ca)  # signed before the renewal
    assert handshake(server, store.proxy_client)


def test_changing_the_trusted_alt_names_reissues_the_hub_and_proxy_certificates(location):
    authorities = {n: fingerprint(files_of(location, n)[1]) for n in AUTHORITIES}
    store = open_store(location, trusted_alt_names=["DNS:jupyter.example.org"])
    assert {n: store.actions[n] for n in PAIRS} == dict.fromkeys(PAIRS, "reissued")
    assert alt_names(store.hub.cert)[-1] == "DNS:jupyter.example.org"
    assert {n: fingerprint(files_of(location, n)[1]) for n in AUTHORITIES} == authorities


def test_a_deleted_authority_is_made_again_and_what_it_signs_reissued(location):
    shutil.rmtree(location / "hub-ca")
    store = open_store(location)
    assert store.actions["hub-ca"] == "created"
    assert store.actions["hub-internal"] == "reissued"
    assert store.actions["proxy-api"] == "kept"
    assert verifies(store.hub.cert, store.hub.ca)


def test_a_store_jupyterhub_made_is_kept_as_it_is(tmp_path):
    jupyterhub = singleuser_venv_file("jupyterhub")
    made = subprocess.run([str(jupyterhub), "--generate-certs"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)
    assert made.returncode == 0, made.stderr
    location = tmp_path / "internal-ssl"
    theirs = {name: data for name, (data, _) in snapshot(location).items()}
    store = CertificateStore(location).prepare()  # this host's name, as JupyterHub used
    assert set(store.actions.values()) == {"kept"}
    assert {name: data for name, (data, _) in snapshot(location).items()} == theirs
    assert handshake(store.hub, store.proxy_api)


# -- errors ---------------------------------------------------------------------


def _remove_key(location: Path) -> None:
    files_of(location, "hub-internal")[0].unlink()


def _garble_certificate(location: Path) -> None:
    files_of(location, "proxy-api")[1].write_text("not a certificate\n")


def _make_unreadable(location: Path) -> None:
    cert = files_of(location, "notebooks-ca")[1]
    cert.unlink()
    cert.mkdir()  # unreadable even for root


def _swap_key(location: Path) -> None:
    shutil.copy(files_of(location, "proxy-client")[0], files_of(location, "hub-internal")[0])


def _foreign_pair(location: Path) -> None:
    for source, target in zip(files_of(location, "proxy-api"), files_of(location, "hub-internal"),
                              strict=True):
        shutil.copy(source, target)


def _leaf_as_authority(location: Path) -> None:
    for source, target in zip(files_of(location, "hub-internal"), files_of(location, "hub-ca"),
                              strict=True):
        shutil.copy(source, target)


@pytest.mark.parametrize("damage, culprit, problem", [
    (_remove_key, "hub-internal/hub-internal.key", "is missing, but hub-internal.crt is there"),
    (_garble_certificate, "proxy-api/proxy-api.crt", "is not a PEM certificate"),
    (_make_unreadable, "notebooks-ca/notebooks-ca.crt", "cannot be read"),
    (_swap_key, "hub-internal/hub-internal.key", "does not match the certificate"),
    (_foreign_pair, "hub-internal/hub-internal.crt", "is not signed by hub-ca"),
    (_leaf_as_authority, "hub-ca/hub-ca.crt", "is not a certificate authority"),
])
def test_a_bad_file_is_an_error_naming_it_and_what_to_do(location, damage, culprit, problem):
    damage(location)
    with pytest.raises(CertificateError) as caught:
        open_store(location)
    message = str(caught.value)
    assert message.startswith(f"{location / culprit}: {problem}")
    assert "recreate_internal_certs" in message
    assert caught.value.path == location / culprit


# -- external authorities ---------------------------------------------------------


def test_an_external_authority_signs_in_place_of_the_stores_own_and_is_never_written(
        location, tmp_path):
    key, cert = make_authority(tmp_path / "proxy", "their-proxy-ca")
    external = {"proxy-api-ca": {"key": str(key), "cert": str(cert)}}
    theirs, own = snapshot(tmp_path / "proxy"), snapshot(location / "proxy-api-ca")
    store = open_store(location, external_authorities=external)
    assert store.actions["proxy-api-ca"] == "external"
    assert store.actions["proxy-api"] == "reissued"
    assert certificate(store.proxy_api.cert).issuer.rfc4514_string() == "CN=their-proxy-ca"
    for bundle in ("hub-ca", "services-ca"):
        assert "their-proxy-ca" in bundle_names(location / f"{bundle}_trust.crt")
    assert handshake(store.hub, store.proxy_api)
    assert snapshot(location / "proxy-api-ca") == own  # the store's own one is left alone
    open_store(location, external_authorities=external, recreate=True)
    assert snapshot(location / "proxy-api-ca") == own  # not re-signed: it is not used
    assert snapshot(tmp_path / "proxy") == theirs


def test_recreate_keeps_the_files_of_an_external_authority_inside_the_store(location):
    key, cert = make_authority(location / "theirs", "their-proxy-ca")
    external = {"proxy-api-ca": {"key": str(key), "cert": str(cert)}}
    theirs = snapshot(location / "theirs")
    store = open_store(location, external_authorities=external, recreate=True)
    assert snapshot(location / "theirs") == theirs
    assert store.actions["hub-ca"] == "recreated"


def test_an_external_authority_without_its_key_is_trusted_but_cannot_sign(location, tmp_path):
    _, cert = make_authority(tmp_path / "proxy", "their-proxy-ca")
    store = open_store(location, external_authorities={"proxy-api-ca": {"cert": str(cert)}})
    assert "their-proxy-ca" in bundle_names(location / "hub-ca_trust.crt")
    assert store.actions["proxy-api"] == "unavailable"
    with pytest.raises(CertificateError, match="without its key") as caught:
        store.proxy_api  # noqa: B018
    assert caught.value.path == cert
    assert store.hub.cert.exists()


def test_an_external_authority_of_another_name_is_trusted_by_the_hub_only(location, tmp_path):
    _, cert = make_authority(tmp_path / "ext", "external-ca")
    open_store(location, external_authorities={"external-ca": {"cert": str(cert)}})
    for bundle in TRUST:
        assert ("external-ca" in bundle_names(location / f"{bundle}_trust.crt")) == (
            bundle == "hub-ca")


def test_external_authority_errors_name_the_file(location, tmp_path):
    key, cert = make_authority(tmp_path / "ext", "external-ca")
    _, not_ca = make_authority(tmp_path / "ext", "a-server", ca=False)
    other_key, _ = make_authority(tmp_path / "ext", "other-ca")
    cases = [({"cert": str(not_ca)}, not_ca, "is not a certificate authority"),
             ({"key": str(other_key), "cert": str(cert)}, other_key, "does not match"),
             ({"cert": str(tmp_path / "gone.crt")}, tmp_path / "gone.crt", "does not exist")]
    for files, culprit, problem in cases:
        with pytest.raises(CertificateError, match=problem) as caught:
            open_store(location, external_authorities={"notebooks-ca": files})
        assert caught.value.path == culprit
        assert "external_ssl_authorities" in str(caught.value)
    with pytest.raises(CertificateError, match="needs a cert"):
        open_store(location, external_authorities={"notebooks-ca": {"key": str(key)}})
