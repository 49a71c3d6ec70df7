"""Certificate authorities and signed key pairs for mutual-TLS tests, made with ``cryptography``.

``make_internal_certs(folder)`` writes what a test of JupyterHub's
``internal_ssl`` wiring needs: a "right" CA that signs every legitimate
party, and an independent "wrong" CA that signs impostors with the same
names. Keys are P-256 (fast to make); every certificate is valid for a day.
"""

from __future__ import annotations

import datetime
import ipaddress
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

#: The names every server certificate here is valid for, as internal certificates are.
LOCAL_NAMES = ("IP:127.0.0.1", "DNS:localhost")


@dataclass(frozen=True)
class KeyPair:
    """A PEM private key and certificate on disk, and the certificate's common name."""

    key: Path
    cert: Path
    common_name: str


class CertificateAuthority:
    """A self-signed CA that issues server and client certificates into ``folder``."""

    def __init__(self, name: str, folder: Path) -> None:
        self.name = name
        self.folder = folder
        self._key = ec.generate_private_key(ec.SECP256R1())
        self._subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
        public = self._key.public_key()
        self.certificate = (
            _builder(self._subject, self._subject, public)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(
                digital_signature=True, key_cert_sign=True, crl_sign=True,
                content_commitment=False, key_encipherment=False, data_encipherment=False,
                key_agreement=False, encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(public),
                           critical=False)
            .sign(self._key, hashes.SHA256())
        )
        self.cert = folder / f"{name}.crt"
        self.cert.write_bytes(self.certificate.public_bytes(serialization.Encoding.PEM))

    def issue(self, common_name: str, *, server: bool = False, client: bool = False,
              names: tuple[str, ...] = ()) -> KeyPair:
        """A key pair signed by this CA; ``names`` are SANs written ``IP:…`` or ``DNS:…``."""
        key = ec.generate_private_key(ec.SECP256R1())
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
        usages = ([ExtendedKeyUsageOID.SERVER_AUTH] if server else []) + (
            [ExtendedKeyUsageOID.CLIENT_AUTH] if client else [])
        builder = (
            _builder(subject, self._subject, key.public_key())
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage(usages), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
                self._key.public_key()), critical=False)
        )
        if names:
            builder = builder.add_extension(
                x509.SubjectAlternativeName([_general_name(n) for n in names]), critical=False)
        certificate = builder.sign(self._key, hashes.SHA256())
        stem = f"{common_name}-by-{self.name}"
        pair = KeyPair(self.folder / f"{stem}.key", self.folder / f"{stem}.crt", common_name)
        pair.key.write_bytes(key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption()))
        pair.key.chmod(0o600)
        pair.cert.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
        return pair


@dataclass(frozen=True)
class InternalCerts:
    """Everything a proxy-in-the-middle mTLS test needs (see ``make_internal_certs``)."""

    right_ca: CertificateAuthority
    wrong_ca: CertificateAuthority
    #: The proxy's REST API server certificate (signed by the right CA).
    proxy_api: KeyPair
    #: The hub's client certificate for the API, and an impostor's from the wrong CA.
    hub_client: KeyPair
    wrong_hub_client: KeyPair
    #: A backend's server certificate (SANs IP:127.0.0.1, DNS:localhost), and an impostor's.
    backend: KeyPair
    wrong_backend: KeyPair
    #: A backend certificate from the right CA that names another host (DNS:elsewhere.example).
    misnamed_backend: KeyPair
    #: The proxy's client certificate for its connections to backends.
    proxy_client: KeyPair


def make_internal_certs(folder: Path) -> InternalCerts:
    """Two independent CAs and the key pairs of ``InternalCerts``, written into ``folder``."""
    right = CertificateAuthority("right-ca", folder)
    wrong = CertificateAuthority("wrong-ca", folder)
    return InternalCerts(
        right_ca=right,
        wrong_ca=wrong,
        proxy_api=right.issue("proxy-api", server=True, names=LOCAL_NAMES),
        hub_client=right.issue("hub-internal", client=True),
        wrong_hub_client=wrong.issue("hub-internal", client=True),
        backend=right.issue("user-alice", server=True, names=LOCAL_NAMES),
        wrong_backend=wrong.issue("user-alice", server=True, names=LOCAL_NAMES),
        misnamed_backend=right.issue("elsewhere", server=True, names=("DNS:elsewhere.example",)),
        proxy_client=right.issue("proxy-client", client=True),
    )


def _builder(subject: x509.Name, issuer: x509.Name,
             public_key: ec.EllipticCurvePublicKey) -> x509.CertificateBuilder:
    now = datetime.datetime.now(datetime.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
    )


def _general_name(name: str) -> x509.GeneralName:
    kind, _, value = name.partition(":")
    if kind == "IP":
        return x509.IPAddress(ipaddress.ip_address(value))
    if kind == "DNS":
        return x509.DNSName(value)
    raise ValueError(f"a subject alternative name is IP:… or DNS:…, got {name!r}")
