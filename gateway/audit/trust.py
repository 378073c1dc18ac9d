"""What verify trusts when it trusts nothing in the store: a pinned key and checkpoints witnessed outside.

Findings named here (docs/audit-verification.md):
- re-signed: a stored checkpoint is not signed by a pinned key (the store's key row was replaced);
- truncated: a witnessed checkpoint covers more events than the store holds;
- fork: the store holds a different signed checkpoint of a witnessed size, or two witnesses disagree;
- rebuilt: the store's events no longer reproduce a witnessed checkpoint whose stored copy is gone;
- uncovered: more events, or older ones, follow the last checkpoint than the configured bound allows.
"""

from __future__ import annotations

import base64
import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from gateway.audit.checkpoints import key_id_of, raw_public, signature_valid
from gateway.audit.events import parse_time
from gateway.audit.witness import WitnessedCheckpoint, signed_by

UNPINNED_NOTE = (
    "no --trusted-key: checkpoint signatures were checked against keys read from the store itself, "
    "so this result only holds against accidental damage, not against anyone who can write the store"
)


class KeyInvalid(ValueError):
    """A pinned key that is not an Ed25519 public key."""


def load_public_key(value: str) -> tuple[str, bytes]:
    """Read a pinned key (a PEM file, or the raw 32 bytes in base64); return (key id, raw bytes)."""
    path = Path(value)
    try:
        if path.exists():
            loaded = serialization.load_pem_public_key(path.read_bytes())
            if not isinstance(loaded, Ed25519PublicKey):
                raise KeyInvalid(f"{value}: not an Ed25519 public key")
            public = loaded
        else:
            public = Ed25519PublicKey.from_public_bytes(base64.b64decode(value, validate=True))
    except (ValueError, TypeError) as exc:
        raise KeyInvalid(f"{value}: not an Ed25519 public key (PEM file or base64): {exc}") from exc
    return key_id_of(public), raw_public(public)


@dataclass(slots=True, kw_only=True)
class Trust:
    """Pinned keys, witnessed checkpoints and the bound on events after the last checkpoint."""

    keys: dict[str, bytes] = field(default_factory=dict)
    witnessed: list[WitnessedCheckpoint] = field(default_factory=list)
    tsa_roots: list[Any] = field(default_factory=list)  # cryptography x509 certificates
    max_uncovered_events: int | None = None
    max_uncovered_seconds: float | None = None
    now: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))

    @property
    def pinned(self) -> bool:
        """Tell whether a key is pinned outside the store."""
        return bool(self.keys)


@dataclass(frozen=True, slots=True)
class Problem:
    """A finding before it becomes verify's Finding: seq, kind, sentence."""

    seq: int
    kind: str
    detail: str


def stored_checkpoint_problem(
    row: tuple[Any, ...], *, trust: Trust, store_keys: dict[str, bytes]
) -> Problem | None:
    """Check a stored checkpoint's signature against the pinned keys (None: it verifies)."""
    size, _ts, _root, _chain, key_id, body, sig, _frontier = row
    pub = trust.keys.get(key_id)
    if pub is not None and signature_valid(bytes(body), bytes(sig), pub):
        return None
    stored = store_keys.get(key_id)
    if stored is not None and signature_valid(bytes(body), bytes(sig), stored):
        return Problem(
            size,
            "re-signed",
            f"checkpoint {size} is signed by key {key_id} from the store, which is not a trusted key: "
            "the checkpoints were re-signed",
        )
    return Problem(size, "checkpoint", f"checkpoint {size}: signature does not verify")


def timestamp_problem(trust: Trust) -> tuple[str | None, Problem | None]:
    """Check the RFC 3161 tokens beside the witnessed notes (when TSA roots are given)."""
    if not trust.tsa_roots:
        return None, None
    from gateway.audit.tsa import check_tokens

    stamped, failed = check_tokens(trust.witnessed, roots=trust.tsa_roots)
    if failed is not None:
        return None, Problem(failed[0], "timestamp", failed[1])
    if not stamped:
        return None, Problem(
            0, "timestamp", "TSA roots were given but no witnessed checkpoint is time-stamped"
        )
    last = stamped[-1]
    note = f"{len(stamped)} checkpoints time-stamped by the TSA; latest {last.tree_size} at {last.gen_time}"
    return note, None


def witness_problems(trust: Trust) -> Problem | None:
    """Check every witnessed checkpoint is signed by a pinned key and no two disagree."""
    by_size: dict[int, WitnessedCheckpoint] = {}
    for w in trust.witnessed:
        cp = w.checkpoint
        pub = trust.keys.get(cp.key_id)
        if trust.pinned and (pub is None or not signed_by(cp, pub)):
            return Problem(cp.tree_size, "witness", f"{w.origin}: not signed by a trusted key")
        seen = by_size.setdefault(cp.tree_size, w)
        if (seen.checkpoint.root_hash, seen.checkpoint.chain_hash) != (cp.root_hash, cp.chain_hash):
            return Problem(
                cp.tree_size,
                "fork",
                f"two different checkpoints of size {cp.tree_size} were witnessed "
                f"({seen.origin} and {w.origin}): the log forked",
            )
    return None


def mismatch(w: WitnessedCheckpoint, *, stored: tuple[Any, ...] | None, lowest_unmatched: int) -> Problem:
    """Name why the store's events up to a witnessed size no longer give the witnessed root."""
    size = w.checkpoint.tree_size
    if stored is not None:
        return Problem(
            size,
            "fork",
            f"the store signs checkpoint {size} with root {bytes(stored[2]).hex()[:16]}…, the witness "
            f"{w.origin} holds root {w.checkpoint.root_hash.hex()[:16]}…: "
            "the log forked after it was witnessed",
        )
    return Problem(
        lowest_unmatched,
        "rebuilt",
        f"events {lowest_unmatched}..{size} no longer reproduce checkpoint {size} witnessed in {w.origin}, "
        "and the store no longer holds that checkpoint: events were rewritten and the chain recomputed",
    )


def truncated(w: WitnessedCheckpoint, *, store_last: int) -> Problem:
    """Name a store that ends before a witnessed checkpoint."""
    size = w.checkpoint.tree_size
    return Problem(
        store_last + 1,
        "truncated",
        f"checkpoint {size} witnessed in {w.origin} covers {size} events; the store ends at {store_last}: "
        f"events {store_last + 1}..{size} were removed",
    )


@dataclass(frozen=True, slots=True)
class Uncovered:
    """Events after the last checkpoint: no signature covers them yet."""

    after: int
    count: int
    oldest: dt.datetime | None

    def age(self, now: dt.datetime) -> float:
        """Return how long the oldest uncovered event has waited, in seconds."""
        return (now - self.oldest).total_seconds() if self.oldest else 0.0


def uncovered_of(*, anchor: int, last_seq: int, first_time: str | None) -> Uncovered:
    """Describe the window of events after checkpoint `anchor` (time of the first one, if any)."""
    count = max(last_seq - anchor, 0)
    return Uncovered(anchor, count, parse_time(first_time) if count and first_time else None)


def uncovered_problem(window: Uncovered, *, trust: Trust) -> tuple[str, Problem | None]:
    """Return the note describing the uncovered window and a problem when it exceeds the bound."""
    if not window.count:
        return "every event is covered by a signed checkpoint", None
    age = window.age(trust.now)
    note = (
        f"{window.count} events after checkpoint {window.after} are not covered by any signature yet "
        f"(oldest {age:.0f} s old): they could be changed without verify noticing"
    )
    too_many = trust.max_uncovered_events is not None and window.count > trust.max_uncovered_events
    too_old = trust.max_uncovered_seconds is not None and age > trust.max_uncovered_seconds
    if not (too_many or too_old):
        return note, None
    bound = (
        f"bound of {trust.max_uncovered_events} events"
        if too_many
        else (f"bound of {trust.max_uncovered_seconds} s")
    )
    return note, Problem(window.after + 1, "uncovered", f"{note}; exceeds the {bound}")
