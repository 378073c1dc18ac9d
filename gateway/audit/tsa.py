"""RFC 3161 time-stamps of checkpoints: a time-stamp authority countersigns each checkpoint note.

The token proves the checkpoint existed at the TSA's time, signed by a key the store's administrator
does not hold; it is kept beside the note in the witness directory (`<size>.tsr`) and checked by
`gateway audit verify --tsa-root CERT` with the `rfc3161-client` library.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import httpx
from cryptography import x509
from rfc3161_client import (
    TimestampRequestBuilder,
    VerificationError,
    VerifierBuilder,
    decode_timestamp_response,
)

from gateway.audit.checkpoints import Checkpoint
from gateway.audit.witness import DirectoryWitness, WitnessedCheckpoint, create_exclusive, note

TOKEN_SUFFIX = ".tsr"  # noqa: S105 (a file suffix, not a secret)
GRANTED = (0, 1)  # PKIStatus granted, grantedWithMods (RFC 3161 §2.4.2)


class TimestampRefused(RuntimeError):
    """The TSA did not grant a time-stamp for the checkpoint."""


class TsaWitness:
    """Ask an RFC 3161 TSA to time-stamp each checkpoint note; keep the token beside the note."""

    def __init__(self, url: str, *, directory: Path, timeout: float = 10.0) -> None:
        self.url = url
        self.notes = DirectoryWitness(directory)
        self.timeout = timeout

    def witness(self, cp: Checkpoint) -> None:
        """Time-stamp the checkpoint's note and store the token (`<size>.tsr`, never rewritten)."""
        data = note(cp)
        request = (
            TimestampRequestBuilder().data(data).nonce(nonce=True).cert_request(cert_request=True).build()
        )
        with httpx.Client(timeout=self.timeout, trust_env=False, follow_redirects=False) as client:
            answer = client.post(
                self.url,
                content=request.as_bytes(),
                headers={"Content-Type": "application/timestamp-query"},
            )
        answer.raise_for_status()
        token = answer.content
        response = decode_timestamp_response(token)
        if response.status not in GRANTED:
            raise TimestampRefused(f"the TSA refused checkpoint {cp.tree_size} (status {response.status})")
        if response.tst_info.message_imprint.message != request.message_imprint.message:
            raise TimestampRefused(f"the TSA stamped another message than checkpoint {cp.tree_size}")
        if response.tst_info.nonce != request.nonce:
            raise TimestampRefused("the TSA answered another request (nonce differs)")
        target = self.notes.path_of(cp.tree_size).with_suffix(TOKEN_SUFFIX)
        create_exclusive(target, token)


@dataclass(frozen=True, slots=True)
class Stamped:
    """A checkpoint whose note carries a verified time-stamp token."""

    tree_size: int
    gen_time: str


def check_tokens(
    witnessed: list[WitnessedCheckpoint], *, roots: list[x509.Certificate]
) -> tuple[list[Stamped], tuple[int, str] | None]:
    """Verify every witnessed note's time-stamp token; return the stamped ones or the first failure."""
    builder = VerifierBuilder()
    for root in roots:
        builder = builder.add_root_certificate(root)
    verifier = builder.build()
    stamped: list[Stamped] = []
    for w in witnessed:
        origin = Path(w.origin)
        token = origin.with_suffix(TOKEN_SUFFIX)
        if not token.exists():
            continue
        try:
            response = decode_timestamp_response(token.read_bytes())
            verifier.verify_message(response, origin.read_bytes())
        except (VerificationError, ValueError) as exc:
            return stamped, (w.checkpoint.tree_size, f"{token}: the time-stamp does not verify ({exc})")
        stamped.append(Stamped(w.checkpoint.tree_size, response.tst_info.gen_time.isoformat()))
    return stamped, None


def load_roots(paths: list[Path]) -> list[x509.Certificate]:
    """Read TSA root certificates (PEM)."""
    return [cert for p in paths for cert in x509.load_pem_x509_certificates(p.read_bytes())]
