"""Signed checkpoints (tree heads) and the audit signing key (Ed25519)."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from gateway.audit.events import canonical, format_time

LOG_ID = "xiangzhi-audit/v1"
DEFAULT_KEY_FILE = Path("var/audit-key.pem")


def key_id_of(public: Ed25519PublicKey) -> str:
    """Return the key id: the first 16 hex digits of SHA-256 over the raw public key."""
    return hashlib.sha256(raw_public(public)).hexdigest()[:16]


def raw_public(public: Ed25519PublicKey) -> bytes:
    """Return the 32 raw bytes of an Ed25519 public key."""
    return public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


@dataclass(frozen=True, slots=True)
class AuditKey:
    """The gateway's audit signing key and its id."""

    private: Ed25519PrivateKey
    key_id: str

    @property
    def public_raw(self) -> bytes:
        """Return the raw public key."""
        return raw_public(self.private.public_key())

    def sign(self, message: bytes) -> bytes:
        """Sign a checkpoint body."""
        return self.private.sign(message)


def load_or_create_key(path: Path | None) -> AuditKey:
    """Load the PEM key at `path` (GATEWAY_AUDIT_KEY_FILE), or create ./var/audit-key.pem (0600)."""
    target = path or DEFAULT_KEY_FILE
    if target.exists():
        loaded = serialization.load_pem_private_key(target.read_bytes(), password=None)
        if not isinstance(loaded, Ed25519PrivateKey):
            raise ValueError(f"{target}: the audit key must be Ed25519")
        return AuditKey(loaded, key_id_of(loaded.public_key()))
    if path is not None:
        raise FileNotFoundError(f"GATEWAY_AUDIT_KEY_FILE {path} does not exist")
    private = Ed25519PrivateKey.generate()
    pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    target.parent.mkdir(parents=True, exist_ok=True)
    # O_EXCL: two processes starting at once must not overwrite each other's key.
    try:
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return load_or_create_key(target)
    with os.fdopen(fd, "wb") as fh:
        fh.write(pem)
    return AuditKey(private, key_id_of(private.public_key()))


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """A signed statement: the log had `tree_size` events with this Merkle root and chain hash."""

    tree_size: int
    time: dt.datetime
    root_hash: bytes
    chain_hash: bytes
    key_id: str
    signature: bytes = b""

    def body(self) -> bytes:
        """Return the signed bytes: RFC 8785 JSON of the checkpoint's fields."""
        return canonical(
            {
                "log": LOG_ID,
                "tree_size": self.tree_size,
                "time": format_time(self.time),
                "root_hash": self.root_hash.hex(),
                "chain_hash": self.chain_hash.hex(),
                "key_id": self.key_id,
            }
        )

    def signed(self, key: AuditKey) -> Checkpoint:
        """Return this checkpoint signed by `key`."""
        return Checkpoint(
            tree_size=self.tree_size,
            time=self.time,
            root_hash=self.root_hash,
            chain_hash=self.chain_hash,
            key_id=key.key_id,
            signature=key.sign(
                Checkpoint(
                    tree_size=self.tree_size,
                    time=self.time,
                    root_hash=self.root_hash,
                    chain_hash=self.chain_hash,
                    key_id=key.key_id,
                ).body()
            ),
        )


def signature_valid(body: bytes, signature: bytes, public_raw: bytes) -> bool:
    """Check an Ed25519 signature over a checkpoint body."""
    try:
        Ed25519PublicKey.from_public_bytes(public_raw).verify(signature, body)
    except (InvalidSignature, ValueError):
        return False
    return True
