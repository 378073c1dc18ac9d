"""What a sync reports: per-source summaries, the refresh, and the progress protocol the CLI draws."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Protocol

from connectors.sdk.linking.refresh import RefreshSummary


@dataclass
class WriteCounts:
    """What a source's records did to the store; a sync's and a push's summaries both count so."""

    source: str
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    superseded: int = 0  # replaced by a later copy of the same key in the same pass or batch
    released: int = 0  # records that were in quarantine and are stored now


@dataclass
class SyncSummary(WriteCounts):
    """What one source's sync read and did."""

    read: int = 0
    quarantined: Counter[str] = field(default_factory=Counter)
    withdrawn: int = 0  # stored records the source no longer holds, withdrawn
    duration: float = 0.0
    error: str | None = None
    notes: list[str] = field(default_factory=list)  # what an operator should know (a lease taken over)

    @property
    def ok(self) -> bool:
        """Tell whether the sync ran to the end."""
        return self.error is None

    @property
    def quarantined_total(self) -> int:
        """Return how many records were held back."""
        return sum(self.quarantined.values())

    @property
    def records_per_second(self) -> float:
        """Return the read rate."""
        return self.read / self.duration if self.duration > 0 else 0.0


@dataclass
class SyncReport:
    """Every source's summary and the refresh of the served documents."""

    sources: list[SyncSummary]
    refresh: RefreshSummary | None
    duration: float = 0.0

    @property
    def ok(self) -> bool:
        """Tell whether every source synced to the end."""
        return all(s.ok for s in self.sources)


class Progress(Protocol):
    """Receives progress of a sync (the CLI draws a bar with it)."""

    def started(self, source: str, *, total: int | None) -> None:
        """A source's sync began; `total` is its estimated record count, when known."""

    def advanced(self, source: str, *, read: int) -> None:
        """`read` records of the source are read and committed so far."""

    def finished(self, summary: SyncSummary) -> None:
        """A source's sync ended."""


class _Quiet:
    def started(self, source: str, *, total: int | None) -> None:
        pass

    def advanced(self, source: str, *, read: int) -> None:
        pass

    def finished(self, summary: SyncSummary) -> None:
        pass
