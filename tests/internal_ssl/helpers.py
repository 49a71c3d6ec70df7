"""Reading, checking and making certificates in tests, with `cryptography` and real TLS."""

from __future__ import annotations

import datetime as dt
import socket
import ssl
import threading
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from cryptography.x509.verification import (
    Criticality,
    DNSName,
    ExtensionPolicy,
    PolicyBuilder,
    Store,
    VerificationError,
)

from kernel.tls import CertFiles


def certificate(path: Path) -> x509.Certificate:
    return x509.load_pem_x509_certificate(path.read_bytes())


def bundle_names(path: Path) -> list[str]:
    """The common names of the certificates in a bundle, in file order."""
    return [common_name(c) for c in x509.load_pem_x509_certificates(path.read_bytes())]


def common_name(cert: x509.Certificate) -> str:
    return str(cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value)


def fingerprint(path: Path) -> str:
    return certificate(path).fingerprint(hashes.SHA256()).hex()


def public_key(path: Path) -> bytes:
    return certificate(path).public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def alt_names(path: Path) -> list[str]:
    """The SANs of a certificate, written as JupyterHub writes them (``DNS:x``, ``IP:y``)."""
    sans = certificate(path).extensions.get_extension_for_class(x509.SubjectAlternativeName)
    return [f"{'IP' if isinstance(n, x509.IPAddress) else 'DNS'}:{n.value}" for n in sans.value]


def snapshot(folder: Path) -> dict[str, tuple[bytes, int]]:
    """Every file under ``folder``: its bytes and modification time."""
    return {str(p.relative_to(folder)): (p.read_bytes(), p.stat().st_mtime_ns)
            for p in sorted(folder.rglob("*")) if p.is_file()}


# certipy marks extendedKeyUsage critical, which OpenSSL and Node accept but
# cryptography's web PKI profile refuses; everything else is checked as usual.
_EE = ExtensionPolicy.webpki_defaults_ee().may_be_present(
    x509.ExtendedKeyUsage, Criticality.AGNOSTIC, None)
_CA = ExtensionPolicy.webpki_defaults_ca().may_be_present(
    x509.ExtendedKeyUsage, Criticality.AGNOSTIC, None)


def verifies(cert: Path, bundle: Path) -> bool:
    """Does ``cert`` chain to an authority of ``bundle``, as a TLS server and as a client?"""
    policy = PolicyBuilder().store(Store(x509.load_pem_x509_certificates(bundle.read_bytes())))
    policy = policy.extension_policies(ca_policy=_CA, ee_policy=_EE)
    leaf = certificate(cert)
    try:
        policy.build_server_verifier(DNSName("localhost")).verify(leaf, [])
        as_server = True
    except VerificationError:
        as_server = False
    try:
        policy.build_client_verifier().verify(leaf, [])
        as_client = True
    except VerificationError:
        as_client = False
    assert as_server == as_client, f"{cert} verifies as a server but not as a client, or back"
    return as_server


def handshake(client: CertFiles, server: CertFiles, server_hostname: str = "localhost") -> bool:
    """A real mutual TLS handshake over a socket pair, with the contexts the hub uses; the
    client checks that the server's certificate names ``server_hostname``."""
    client_socket, server_socket = socket.socketpair()
    client_socket.settimeout(10)
    server_socket.settimeout(10)
    server_result: list[bool] = []

    def serve() -> None:
        try:
            with server.server_context().wrap_socket(server_socket, server_side=True) as tls:
                tls.sendall(b"ok")
                server_result.append(True)
        except (ssl.SSLError, OSError):
            server_result.append(False)
        finally:
            server_socket.close()

    thread = threading.Thread(target=serve)
    thread.start()
    try:
        with client.client_context().wrap_socket(client_socket,
                                                 server_hostname=server_hostname) as tls:
            client_ok = tls.recv(2) == b"ok"
    except (ssl.SSLError, OSError):
        client_ok = False
    finally:
        client_socket.close()
        thread.join()
    return client_ok and server_result == [True]


def make_authority(folder: Path, name: str, *, ca: bool = True) -> tuple[Path, Path]:
    """A self-signed authority made outside the store (``ca=False``: a mere certificate)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = dt.datetime.now(dt.UTC)
    usage = x509.KeyUsage(digital_signature=not ca, content_commitment=False,
                          key_encipherment=False, data_encipherment=False, key_agreement=False,
                          key_cert_sign=ca, crl_sign=ca, encipher_only=False, decipher_only=False)
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=1))
            .not_valid_after(now + dt.timedelta(days=365))
            .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
            .add_extension(usage, critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()),
                           critical=False)
            .sign(key, hashes.SHA256()))
    folder.mkdir(parents=True, exist_ok=True)
    key_path, cert_path = folder / f"{name}.key", folder / f"{name}.crt"
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return key_path, cert_path


def sign_leaf(authority_key: Path, authority_cert: Path, out: Path) -> Path:
    """A certificate for ``localhost`` signed by the authority in those files, at ``out``
    (its key beside it, ``.key``)."""
    key = serialization.load_pem_private_key(authority_key.read_bytes(), password=None)
    assert isinstance(key, rsa.RSAPrivateKey)
    issuer = certificate(authority_cert)
    leaf_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, out.stem)]))
            .issuer_name(issuer.subject).public_key(leaf_key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=1))
            .not_valid_after(now + dt.timedelta(days=30))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]),
                           critical=False)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH,
                                                  ExtendedKeyUsageOID.CLIENT_AUTH]),
                           critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
                key.public_key()), critical=False)
            .sign(key, hashes.SHA256()))
    out.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    out.with_suffix(".key").write_bytes(leaf_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()))
    return out
