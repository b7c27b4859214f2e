from __future__ import annotations

import ssl
from pathlib import Path

from cryptography import x509

from nexus_platform.sandbox import tls


def test_server_certificate_is_signed_by_the_sandbox_ca_for_loopback(tmp_path: Path) -> None:
    files = tls.ensure(tmp_path)
    ssl.create_default_context(cafile=str(files.ca))  # a valid CA bundle for clients
    leaf = x509.load_pem_x509_certificate(files.certificate.read_bytes())
    ca = x509.load_pem_x509_certificate(files.ca.read_bytes())
    leaf.verify_directly_issued_by(ca)
    names = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert "localhost" in names.get_values_for_type(x509.DNSName)
    assert [str(ip) for ip in names.get_values_for_type(x509.IPAddress)] == ["127.0.0.1"]
    assert oct(files.key.stat().st_mode & 0o777) == "0o600"


def test_certificates_are_reused_while_valid(tmp_path: Path) -> None:
    first = tls.ensure(tmp_path).certificate.read_bytes()
    assert tls.ensure(tmp_path).certificate.read_bytes() == first
    (tmp_path / "emulator.pem").write_text("garbage")
    assert tls.ensure(tmp_path).certificate.read_bytes() != b"garbage"
