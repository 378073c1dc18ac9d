"""Key files for test apps: an Ed25519 audit signing key in PEM, as `gateway audit keygen` writes it."""

from __future__ import annotations

from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey


def write_audit_key(path: Path) -> Path:
    """Write a fresh Ed25519 private key (PKCS#8 PEM, owner-only) to `path`; return the path."""
    path.write_bytes(
        Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    path.chmod(0o600)
    return path
