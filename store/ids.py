"""Opaque ids of the store's records: a one-letter prefix and 11 random base32 characters."""

from __future__ import annotations

import base64
import secrets


def new_id(prefix: str) -> str:
    """Return a new opaque id: a prefix and 11 random base32 characters (55 bits, from secrets)."""
    return prefix + base64.b32encode(secrets.token_bytes(7)).decode()[:11]


class IdMint:
    """Mint opaque ids in bulk: one secrets call and one base32 encoding per 256 ids."""

    def __init__(self, prefix: str) -> None:
        """Mint ids starting with `prefix` ('R' residents, 'H' households)."""
        self.prefix = prefix
        self._pool: list[str] = []

    def __call__(self) -> str:
        """Return a fresh id."""
        if not self._pool:
            # 10 random bytes encode to 16 base32 characters; an id keeps 11 of them (55 bits).
            text = base64.b32encode(secrets.token_bytes(10 * 256)).decode()
            self._pool = [self.prefix + text[i : i + 11] for i in range(0, len(text), 16)]
        return self._pool.pop()


new_resident_id = IdMint("R")
new_household_id = IdMint("H")
