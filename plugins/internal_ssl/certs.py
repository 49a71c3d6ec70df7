"""The internal-ssl certificate store: JupyterHub's authorities, trust bundles and certificates.

The store is a folder (``[hub] internal_certs_location``) laid out as
JupyterHub's certipy store, so that tools written for JupyterHub find their
files (the idle culler reads ``hub-internal/hub-internal.{key,crt}`` and
``hub-ca/hub-ca.crt``)::

    internal-ssl/                        folders 0700, keys 0600, certificates 0644
        hub-ca/hub-ca.key, hub-ca.crt    the five authorities: hub-ca, notebooks-ca,
        notebooks-ca/ ...                proxy-api-ca, proxy-client-ca, services-ca
        hub-internal/ proxy-api/ proxy-client/   the hub's and the proxy's pairs
        user-NAME/ service-NAME/         issued to servers and managed services
        hub-ca_trust.crt ...             one trust bundle per authority

Authorities are RSA 2048, SHA-256, valid 5 years, as certipy makes them. The
bundle ``<authority>_trust.crt`` holds the certificates of the authorities
whose certificates are accepted by the owner of a certificate ``<authority>``
signed. The graph is JupyterHub's ``internal_ssl_components_trust``
(``JupyterHub.init_internal_ssl``, jupyterhub/app.py), whose lists certipy's
``trust_from_graph`` writes into ``<component>_trust.crt``:

    hub-ca_trust.crt           hub-ca notebooks-ca proxy-api-ca proxy-client-ca services-ca
                               (and every external authority)
    proxy-api-ca_trust.crt     hub-ca services-ca notebooks-ca
    proxy-client-ca_trust.crt  hub-ca notebooks-ca
    notebooks-ca_trust.crt     hub-ca proxy-client-ca
    services-ca_trust.crt      hub-ca proxy-api-ca

The hub verifies its peers with the hub-ca bundle; the proxy's API and
client use theirs (``--api-ssl-ca``, ``--client-ssl-ca``, jupyterhub/proxy.py).
``Spawner.create_certs`` signs servers *and* managed services with
notebooks-ca and gives them its bundle (spawner.py, services/service.py): the
proxy's client bundle lacks services-ca, so a service signed by it could not
be reached through the proxy. This store does the same, naming a service's
pair ``service-NAME`` where JupyterHub shares one ``user-service``.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import logging
import os
import shutil
import socket
import tempfile
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar
from urllib.parse import urlparse

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from kernel.tls import CertFiles

log = logging.getLogger("kernelhub.internal-ssl")
_E = TypeVar("_E", bound=x509.ExtensionType)

AUTHORITIES = ("hub-ca", "notebooks-ca", "proxy-api-ca", "proxy-client-ca", "services-ca")
#: bundle -> the authorities it holds (hub-ca's also holds the external ones).
TRUST_GRAPH: dict[str, tuple[str, ...]] = {
    "hub-ca": AUTHORITIES,
    "proxy-api-ca": ("hub-ca", "services-ca", "notebooks-ca"),
    "proxy-client-ca": ("hub-ca", "notebooks-ca"),
    "notebooks-ca": ("hub-ca", "proxy-client-ca"),
    "services-ca": ("hub-ca", "proxy-api-ca"),
}
KEY_SIZE = 2048
VALIDITY = dt.timedelta(days=5 * 365)
#: A certificate that expires sooner than this is renewed at start-up.
RENEW_WITHIN = dt.timedelta(days=30)
#: Certificates start this long before they are made, for peers whose clock is behind.
CLOCK_SKEW = dt.timedelta(minutes=5)
#: Names in the hub's and the proxy's certificates (JupyterHub's default_alt_names).
LOCAL_NAMES = ("IP:127.0.0.1", "IP:::1", "DNS:localhost")
#: Names ``issue`` adds (JupyterHub's ``Spawner.ssl_alt_names_include_local``).
ISSUED_LOCAL_NAMES = ("DNS:localhost", "IP:127.0.0.1")
#: ``issue`` kind -> (folder prefix, signing authority).
ISSUED = {"server": ("user-", "notebooks-ca"), "service": ("service-", "notebooks-ca")}
RECREATE = "or set `[hub] recreate_internal_certs = true` to replace every internal certificate"
EXTERNAL = "fix external_ssl_authorities in hub.ini"


class CertificateError(Exception):
    """A file of the certificate store is missing, unreadable or does not fit the others."""

    def __init__(self, path: Path | str, problem: str, remedy: str = RECREATE) -> None:
        super().__init__(f"{path}: {problem}; {remedy}")
        #: The file at fault (or the external authority, when no file is named).
        self.path = path


@dataclass(frozen=True)
class _Pair:
    """A certificate of the store, and the authority that signs it (whose bundle it gets)."""

    name: str
    signer: str


@dataclass(frozen=True)
class _Authority:
    name: str
    cert: x509.Certificate
    key: rsa.RSAPrivateKey | None  # None: an external authority given without its key
    cert_path: Path
    replaced: bool  # made in this run, or external: what it signed before is not trusted


class CertificateStore:
    """The internal-ssl certificates on disk; an ``InternalTLS`` once prepared.

    ``prepare`` creates what is missing, keeps what is there, renews what
    expires within ``RENEW_WITHIN`` and re-issues a certificate whose names
    changed. ``issue`` signs a fresh pair for a server or a service.
    ``external_authorities`` is JupyterHub's ``{name: {"key", "cert", "ca"}}``;
    ``fqdn`` defaults to this host's; ``validity`` is for tests.
    """

    def __init__(self, location: str | Path = "internal-ssl", *,
                 trusted_alt_names: Iterable[str] = (), subdomain_host: str = "",
                 external_authorities: Mapping[str, Mapping[str, str]] | None = None,
                 fqdn: str | None = None, validity: dt.timedelta = VALIDITY) -> None:
        self.location = Path(location).absolute()
        self.validity = validity
        self.external = {name: dict(files) for name, files in (external_authorities or {}).items()}
        local = list(LOCAL_NAMES)
        if subdomain_host:
            local.append(f"DNS:{urlparse(subdomain_host).hostname or subdomain_host}")
        trusted = list(trusted_alt_names)
        fqdn = socket.getfqdn() if fqdn is None else fqdn
        #: As JupyterHub: only the hub's certificate carries this host's name.
        self._wanted = {
            _Pair("hub-internal", "hub-ca"): _names([*local, f"DNS:{fqdn}", *trusted]),
            _Pair("proxy-api", "proxy-api-ca"): _names([*local, *trusted]),
            _Pair("proxy-client", "proxy-client-ca"): _names([*local, *trusted]),
        }
        self._authorities: dict[str, _Authority] = {}
        self._pairs: dict[str, CertFiles | CertificateError] = {}
        self._write_lock = threading.Lock()
        #: name -> what ``prepare`` did: created, kept, renewed, reissued, external, unavailable
        self.actions: dict[str, str] = {}

    def prepare(self, *, recreate: bool = False) -> CertificateStore:
        """Bring the store up to date and return it.

        ``recreate`` issues every certificate anew: each authority's certificate
        is re-signed with the authority's own key (so servers started before
        still trust the hub and the proxy, and are trusted, until they
        restart), and every other pair gets a new key; the pairs issued to
        servers and services are deleted. To replace the authorities' keys
        too, delete the folder: then every server must be restarted.
        """
        if recreate:
            self._remove_issued()
        _make_folder(self.location)
        for name in AUTHORITIES:
            if name not in self.external:
                self._authorities[name] = self._internal_authority(name, recreate=recreate)
        for name, files in self.external.items():
            self._authorities[name] = self._external_authority(name, files)
        for bundle, names in TRUST_GRAPH.items():
            if bundle == "hub-ca":
                names = (*names, *(n for n in self.external if n not in AUTHORITIES))
            pem = b"".join(_pem(self._authorities[n].cert) for n in names)
            _write_if_changed(self.bundle(bundle), pem)
        for pair, alt_names in self._wanted.items():
            self._pairs[pair.name] = self._component(pair, alt_names, recreate=recreate)
        return self

    # -- InternalTLS ----------------------------------------------------------

    @property
    def hub(self) -> CertFiles:
        return self._pair("hub-internal")

    @property
    def proxy_api(self) -> CertFiles:
        return self._pair("proxy-api")

    @property
    def proxy_client(self) -> CertFiles:
        return self._pair("proxy-client")

    def issue(self, name: str, *, kind: str, alt_names: Iterable[str] = (),
              include_local: bool = True) -> CertFiles:
        """A new pair for a server or a managed service, replacing the previous one.

        A server is named by its user (``alice``, in ``user-alice`` as JupyterHub
        names it) or as the REST API names it (``alice/`` is the same; the named
        server ``alice/gpu`` gets ``user-alice:gpu``); a service by its name
        (``service-NAME``). ``alt_names`` are ``DNS:host``/``IP:addr``;
        ``include_local`` adds localhost and 127.0.0.1.
        """
        if kind not in ISSUED:
            raise ValueError(f"kind must be one of {', '.join(ISSUED)}, got {kind!r}")
        prefix, signer = ISSUED[kind]
        base, _, server = name.partition("/") if kind == "server" else (name, "", "")
        if not base or "/" in base or "/" in server or "\0" in name:
            raise ValueError(f"cannot name a certificate folder after {name!r}")
        pair = _Pair(prefix + (f"{base}:{server}" if server else base), signer)
        names = _names([*(ISSUED_LOCAL_NAMES if include_local else ()), *alt_names])
        authority = self._authorities[signer]
        if authority.key is None:
            raise _no_key(pair, authority)
        return self._sign(pair, names, authority)

    def bundle(self, authority: str) -> Path:
        """The trust bundle given with the certificates ``authority`` signs."""
        return self.location / f"{authority}_trust.crt"

    # -- start-up -------------------------------------------------------------

    def _remove_issued(self) -> None:
        """Delete the pairs issued to servers and services (recreate_internal_certs)."""
        if not self.location.is_dir():
            return
        prefixes = tuple(prefix for prefix, _ in ISSUED.values())
        for entry in self.location.iterdir():
            if entry.is_dir() and not entry.is_symlink() and entry.name.startswith(prefixes):
                shutil.rmtree(entry)
        log.info("Issuing every internal certificate in %s anew (recreate_internal_certs)",
                 self.location)

    def _internal_authority(self, name: str, *, recreate: bool) -> _Authority:
        key_path, cert_path = self._paths(name)
        found = _read_pair(key_path, cert_path)
        if found is None:
            key = _new_key()
            cert = self._self_signed(name, key)
            self._write_pair(name, key, cert)
            self._did(name, "created")
            return _Authority(name, cert, key, cert_path, replaced=True)
        key, cert = found
        if not _is_authority(cert):
            raise CertificateError(cert_path, "is not a certificate authority (no CA:TRUE "
                                   "basic constraint)", f"delete the folder {cert_path.parent} "
                                   f"to make a new {name}, {RECREATE}")
        if recreate or self._expiring(cert):
            # Same key and subject: what it signed stays valid, under the new certificate too.
            cert = self._self_signed(name, key)
            self._write_pair(name, None, cert)
            self._did(name, "recreated" if recreate else "renewed")
        else:
            self._did(name, "kept")
        return _Authority(name, cert, key, cert_path, replaced=False)

    def _external_authority(self, name: str, files: dict[str, str]) -> _Authority:
        if set(files) - {"key", "cert", "ca"} or not files.get("cert"):
            raise CertificateError(f"external authority {name}", "needs a cert, and may have "
                                   f"a key and a ca; got {', '.join(files) or 'nothing'}",
                                   EXTERNAL)
        cert_path = Path(files["cert"])
        cert = _read_cert(cert_path, EXTERNAL)
        if not _is_authority(cert):
            raise CertificateError(cert_path, f"the external authority {name} is not a "
                                   "certificate authority (no CA:TRUE basic constraint)",
                                   EXTERNAL)
        expires = f"{cert.not_valid_after_utc:%Y-%m-%d}"
        if cert.not_valid_after_utc <= _now():
            raise CertificateError(cert_path, f"the external authority {name} expired on "
                                   f"{expires}", "renew it, " + EXTERNAL)
        if self._expiring(cert):
            log.warning("%s: the external authority %s expires on %s; renew it",
                        cert_path, name, expires)
        if files.get("ca"):
            _read_cert(Path(files["ca"]), EXTERNAL)
        key = None
        if files.get("key"):
            key = _read_key(Path(files["key"]), EXTERNAL)
            _check_match(key, cert, Path(files["key"]), cert_path, EXTERNAL)
        self._did(name, "external")
        return _Authority(name, cert, key, cert_path, replaced=True)

    def _component(self, pair: _Pair, names: list[x509.GeneralName], *,
                   recreate: bool) -> CertFiles | CertificateError:
        key_path, cert_path = self._paths(pair.name)
        authority = self._authorities[pair.signer]
        found = _read_pair(key_path, cert_path)
        cert = found[1] if found else None
        signed = cert is not None and _signed_by(cert, authority.cert)
        if cert is None:
            action = "created"
        elif not signed:
            if not authority.replaced:
                raise CertificateError(
                    cert_path, f"is not signed by {pair.signer} ({authority.cert_path})",
                    f"delete the folder {cert_path.parent} to have it re-issued, {RECREATE}")
            action = "reissued"
        elif recreate:
            action = "recreated"
        elif self._expiring(cert):
            action = "renewed"
        elif set(_alt_names(cert)) != set(names):
            action = "reissued"
        else:
            action = "kept"
        if action != "kept" and authority.key is None:
            if not (signed and cert is not None and cert.not_valid_after_utc > _now()):
                self._did(pair.name, "unavailable")
                return _no_key(pair, authority)
            log.warning("%s: cannot renew it without the key of %s; keeping it",
                        cert_path, pair.signer)
            action = "kept"
        self._did(pair.name, action)
        if action == "kept":
            return self._files(pair)
        return self._sign(pair, names, authority)

    def _did(self, name: str, action: str) -> None:
        self.actions[name] = action
        if action != "kept":
            log.info("internal-ssl: %s %s", action, name)

    # -- signing and writing --------------------------------------------------

    def _sign(self, pair: _Pair, names: list[x509.GeneralName],
              authority: _Authority) -> CertFiles:
        assert authority.key is not None
        key = _new_key()
        issuer_key = authority.key.public_key()
        cert = (self._builder(pair.name, authority.cert.subject, key)
                .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
                .add_extension(_EKU, critical=True)
                .add_extension(x509.SubjectAlternativeName(names), critical=False)
                .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key),
                               critical=False)
                .sign(authority.key, hashes.SHA256()))
        with self._write_lock:  # two issues for one name never mix their keys and certs
            self._write_pair(pair.name, key, cert)
        return self._files(pair)

    def _self_signed(self, name: str, key: rsa.RSAPrivateKey) -> x509.Certificate:
        usage = x509.KeyUsage(digital_signature=False, content_commitment=False,
                              key_encipherment=False, data_encipherment=False,
                              key_agreement=False, key_cert_sign=True, crl_sign=True,
                              encipher_only=False, decipher_only=False)
        public = key.public_key()
        return (self._builder(name, _common_name(name), key)
                .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
                .add_extension(usage, critical=True)
                .add_extension(_EKU, critical=True)
                .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
                .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(public),
                               critical=False)
                .sign(key, hashes.SHA256()))

    def _builder(self, name: str, issuer: x509.Name,
                 key: rsa.RSAPrivateKey) -> x509.CertificateBuilder:
        now = _now()
        return (x509.CertificateBuilder()
                .subject_name(_common_name(name))
                .issuer_name(issuer)
                .public_key(key.public_key())
                .serial_number(x509.random_serial_number())
                .not_valid_before(now - CLOCK_SKEW)
                .not_valid_after(now + self.validity))

    def _write_pair(self, name: str, key: rsa.RSAPrivateKey | None,
                    cert: x509.Certificate) -> None:
        key_path, cert_path = self._paths(name)
        _make_folder(key_path.parent)
        if key is not None:  # certipy's format: "BEGIN RSA PRIVATE KEY"
            _write_atomically(key_path, key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                serialization.NoEncryption()), 0o600)
        _write_atomically(cert_path, _pem(cert), 0o644)

    def _paths(self, name: str) -> tuple[Path, Path]:
        folder = self.location / name
        return folder / f"{name}.key", folder / f"{name}.crt"

    def _files(self, pair: _Pair) -> CertFiles:
        key, cert = self._paths(pair.name)
        return CertFiles(key=key, cert=cert, ca=self.bundle(pair.signer))

    def _pair(self, name: str) -> CertFiles:
        files = self._pairs[name]
        if isinstance(files, CertificateError):
            raise files
        return files

    def _expiring(self, cert: x509.Certificate) -> bool:
        return cert.not_valid_after_utc - _now() < RENEW_WITHIN


_EKU = x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH])
_NAME_KINDS: dict[str, Callable[[str], x509.GeneralName]] = {
    "DNS": x509.DNSName, "email": x509.RFC822Name, "URI": x509.UniformResourceIdentifier}


def _names(texts: Iterable[str]) -> list[x509.GeneralName]:
    """``DNS:host``/``IP:addr`` (as JupyterHub writes them) as SAN entries, without repeats."""
    names: list[x509.GeneralName] = []
    for text in texts:
        kind, _, value = text.partition(":")
        try:
            if kind == "IP":
                name: x509.GeneralName = x509.IPAddress(ipaddress.ip_address(value))
            else:
                name = _NAME_KINDS[kind](value)
        except (KeyError, ValueError):
            raise ValueError(f'alt name "{text}": expected DNS:name or IP:address '
                             "(check [hub] trusted_alt_names)") from None
        if name not in names:
            names.append(name)
    return names


def _no_key(pair: _Pair, authority: _Authority) -> CertificateError:
    return CertificateError(
        authority.cert_path, f"cannot sign {pair.name}: the external authority "
        f"{authority.name} was given without its key", "add its key to "
        "external_ssl_authorities in hub.ini, or manage this certificate outside the hub")


def _common_name(name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])


def _alt_names(cert: x509.Certificate) -> list[x509.GeneralName]:
    return list(_extension(cert, x509.SubjectAlternativeName) or [])


def _is_authority(cert: x509.Certificate) -> bool:
    constraints = _extension(cert, x509.BasicConstraints)
    return constraints is not None and constraints.ca


def _extension(cert: x509.Certificate, kind: type[_E]) -> _E | None:
    try:
        return cert.extensions.get_extension_for_class(kind).value
    except x509.ExtensionNotFound:
        return None


def _signed_by(cert: x509.Certificate, authority: x509.Certificate) -> bool:
    try:
        cert.verify_directly_issued_by(authority)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


def _read_pair(key_path: Path,
               cert_path: Path) -> tuple[rsa.RSAPrivateKey, x509.Certificate] | None:
    """The matching key and certificate in a folder of the store; None if neither is there."""
    there = key_path.exists(), cert_path.exists()
    if not any(there):
        return None
    if not all(there):
        missing, present = (key_path, cert_path) if there[1] else (cert_path, key_path)
        raise CertificateError(missing, f"is missing, but {present.name} is there",
                               f"delete the folder {key_path.parent} to make a new pair, "
                               f"{RECREATE}")
    # The store's own keys skip OpenSSL's RSA checks (30 ms a key): they were made
    # here, and matching the certificate catches a wrong file.
    key, cert = _read_key(key_path, trusted=True), _read_cert(cert_path)
    _check_match(key, cert, key_path, cert_path)
    _make_folder(key_path.parent)  # put back modes someone loosened
    key_path.chmod(0o600)
    return key, cert


def _read_key(path: Path, remedy: str = RECREATE, *, trusted: bool = False) -> rsa.RSAPrivateKey:
    data = _read(path, remedy)
    try:
        key = serialization.load_pem_private_key(data, password=None,
                                                 unsafe_skip_rsa_key_validation=trusted)
    except (ValueError, TypeError) as e:
        raise CertificateError(path, f"is not an unencrypted PEM private key ({e})",
                               remedy) from None
    if not isinstance(key, rsa.RSAPrivateKey):
        raise CertificateError(path, "is not an RSA private key", remedy)
    return key


def _read_cert(path: Path, remedy: str = RECREATE) -> x509.Certificate:
    try:
        return x509.load_pem_x509_certificate(_read(path, remedy))
    except ValueError as e:
        raise CertificateError(path, f"is not a PEM certificate ({e})", remedy) from None


def _read(path: Path, remedy: str) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise CertificateError(path, "does not exist", remedy) from None
    except OSError as e:
        raise CertificateError(path, f"cannot be read ({e.strerror})", remedy) from None


def _check_match(key: rsa.RSAPrivateKey, cert: x509.Certificate, key_path: Path,
                 cert_path: Path, remedy: str = RECREATE) -> None:
    der, info = serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    if key.public_key().public_bytes(der, info) != cert.public_key().public_bytes(der, info):
        raise CertificateError(key_path, f"does not match the certificate {cert_path}", remedy)


def _new_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=KEY_SIZE)


def _pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _make_folder(path: Path) -> None:
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    path.chmod(0o700)


def _write_if_changed(path: Path, data: bytes) -> None:
    try:
        if path.read_bytes() == data:
            return
    except FileNotFoundError:
        pass
    _write_atomically(path, data, 0o644)


def _write_atomically(path: Path, data: bytes, mode: int) -> None:
    """Replace ``path`` by ``data``: readers, and a crash, see the old file or the new one."""
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
