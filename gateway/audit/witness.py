"""Witnesses: every signed checkpoint is also written where the store's administrator cannot rewrite it.

The directory witness writes one file per checkpoint into a directory on another volume (or a mounted
object store with object lock); a file is created exclusively and never rewritten. Its text follows
the C2SP tlog-checkpoint note: origin, tree size and base64 root hash, extension lines (chain hash,
time, key id), a blank line and the signature line. The signature is the checkpoint's own Ed25519
signature over its canonical JSON body, which the note's lines determine completely.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from gateway.audit.checkpoints import LOG_ID, Checkpoint, signature_valid
from gateway.audit.events import format_time, parse_time
from gateway.settings import Settings

log = logging.getLogger(__name__)
SUFFIX = ".checkpoint"


class Witness(Protocol):
    """Somewhere outside the store that keeps a copy of every signed checkpoint."""

    def witness(self, cp: Checkpoint) -> None:
        """Record the checkpoint (idempotent for the same tree head)."""
        ...


class WitnessInvalid(ValueError):
    """A witness file that cannot be read as a checkpoint note."""


def note(cp: Checkpoint) -> bytes:
    """Return the checkpoint as a signed note (C2SP tlog-checkpoint layout)."""
    lines = [
        LOG_ID,
        str(cp.tree_size),
        base64.b64encode(cp.root_hash).decode(),
        f"chain {base64.b64encode(cp.chain_hash).decode()}",
        f"time {format_time(cp.time)}",
        f"key {cp.key_id}",
        "",
        f"\u2014 {LOG_ID} {cp.key_id} {base64.b64encode(cp.signature).decode()}",
    ]
    return ("\n".join(lines) + "\n").encode()


def parse_note(text: bytes) -> Checkpoint:
    """Read a checkpoint note back (its signature is checked by the caller against a pinned key)."""
    try:
        lines = text.decode().split("\n")
        origin, size, root, chain, when, key, blank, sig_line = lines[:8]
        if origin != LOG_ID or blank or not sig_line.startswith("\u2014 "):
            raise ValueError("not a checkpoint note of this log")
        _, _, sig_key, sig = sig_line.split(" ")
        if sig_key != key.removeprefix("key "):
            raise ValueError("signature line names another key")
        return Checkpoint(
            tree_size=int(size),
            time=parse_time(when.removeprefix("time ")),
            root_hash=base64.b64decode(root, validate=True),
            chain_hash=base64.b64decode(chain.removeprefix("chain "), validate=True),
            key_id=sig_key,
            signature=base64.b64decode(sig, validate=True),
        )
    except (ValueError, UnicodeDecodeError) as exc:
        raise WitnessInvalid(str(exc)) from exc


def signed_by(cp: Checkpoint, public_raw: bytes) -> bool:
    """Tell whether the checkpoint's signature verifies under `public_raw`."""
    return signature_valid(cp.body(), cp.signature, public_raw)


class DirectoryWitness:
    """Append-only directory of checkpoint notes: files are created exclusively and never rewritten."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)

    def path_of(self, tree_size: int) -> Path:
        """Return the file a checkpoint of `tree_size` is written to."""
        return self.directory / f"{tree_size:020d}{SUFFIX}"

    def witness(self, cp: Checkpoint) -> None:
        """Write the note; an existing note of another head at this size is kept and this one added."""
        target = self.path_of(cp.tree_size)
        data = note(cp)
        if not create_exclusive(target, data):
            held = parse_note(target.read_bytes())
            if (held.root_hash, held.chain_hash) == (cp.root_hash, cp.chain_hash):
                return  # the same tree head, signed again by another process: nothing new
            # Two heads of one size: a fork. Keep both; verify names it.
            log.error("audit witness: a different checkpoint %d was already witnessed", cp.tree_size)
            digest = hashlib.sha256(data).hexdigest()[:12]
            create_exclusive(self.directory / f"{cp.tree_size:020d}.{digest}{SUFFIX}", data)


def create_exclusive(target: Path, data: bytes) -> bool:
    """Create `target` with `data` (read-only, fsynced); return False when it already exists."""
    try:
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o444)
    except FileExistsError:
        return False
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    dir_fd = os.open(target.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)  # the new name survives a crash too
    finally:
        os.close(dir_fd)
    return True


@dataclass(frozen=True, slots=True)
class WitnessedCheckpoint:
    """A checkpoint read from outside the store, with where it came from."""

    checkpoint: Checkpoint
    origin: str


def read_witnesses(paths: list[Path]) -> list[WitnessedCheckpoint]:
    """Read checkpoint notes from witness directories and single files, ordered by tree size."""
    found: list[WitnessedCheckpoint] = []
    for path in paths:
        files = sorted(path.glob(f"*{SUFFIX}")) if path.is_dir() else [path]
        for file in files:
            found.append(WitnessedCheckpoint(parse_note(file.read_bytes()), str(file)))
    return sorted(found, key=lambda w: w.checkpoint.tree_size)


def witnesses_of(settings: Settings) -> tuple[Witness, ...]:
    """Return the witnesses the settings configure (directory, then the TSA that needs it)."""
    if settings.audit_witness_dir is None:
        if settings.audit_tsa_url:
            raise ValueError("GATEWAY_AUDIT_TSA_URL needs GATEWAY_AUDIT_WITNESS_DIR to keep the tokens in")
        return ()
    from gateway.audit.tsa import TsaWitness

    found: list[Witness] = [DirectoryWitness(settings.audit_witness_dir)]
    if settings.audit_tsa_url:
        found.append(TsaWitness(settings.audit_tsa_url, directory=settings.audit_witness_dir))
    return tuple(found)
