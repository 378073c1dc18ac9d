"""The connector shape: a declarative class per department source (after singer-sdk taps, minus their size).

A connector does I/O in `extract` (streaming, resumable from the state its last checkpoint saved) and
translates in `translate`, a pure function of one raw record (and of reference data loaded in `open`).
Everything else (validation, quarantine, linking, provenance, upserts, tags, watermarks, locks, spans,
progress) is the runner's, written once for every connector.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, ClassVar, Generic, Self, TypeVar

from connectors.sdk.batch import PushBatch
from connectors.sdk.config import SourceSettings
from connectors.sdk.records import Checkpoint, Listing, RawItem, RawRecord, Translation
from schemas.codes import Department

SettingsT = TypeVar("SettingsT", bound=SourceSettings)
Extracted = RawItem | Checkpoint | Listing


class Connector(Generic[SettingsT]):
    """Base of every department connector; subclasses declare the class attributes and two methods."""

    name: ClassVar[str]
    department: ClassVar[Department]
    settings_model: ClassVar[type[SourceSettings]]
    raw_models: ClassVar[tuple[type[RawRecord], ...]]
    # Syncs of several sources run in this order (reference data first, people before what links to them).
    order: ClassVar[int] = 50
    # What a department system may push to POST /v1/ingest/{name}; None: the source takes no pushes.
    push_model: ClassVar[type[PushBatch] | None] = None
    # True when every pass of extract yields a Listing of each kind it reads (deletions seen at once);
    # otherwise the runner reads the source in full every `reconcile_every_hours` to notice them.
    lists_keys: ClassVar[bool] = False

    def __init__(self, settings: SettingsT) -> None:
        """Keep the validated settings; no I/O here."""
        self.settings = settings

    @classmethod
    def for_push(cls, settings: SourceSettings | None) -> Self:
        """Build a connector that only translates pushed records: the configured settings, else defaults.

        Translation reads no source setting (it is pure), so a server without the source configured can
        still take its pushes; a connector whose translation needs configured reference data overrides this.
        """
        return cls(settings or cls.settings_model.model_construct())  # type: ignore[arg-type]

    def prepare(self) -> None:
        """Load the reference data translation needs without reading the source (override when needed)."""

    def open(self) -> None:
        """Connect and load reference data the translation needs (override when needed)."""

    def close(self) -> None:
        """Release connections (override when needed)."""

    def __enter__(self) -> Self:
        """Open on entering the context."""
        self.open()
        return self

    def __exit__(self, *exc: object) -> None:
        """Close on leaving the context."""
        self.close()

    def estimate(self, *, state: dict[str, Any]) -> int | None:
        """Return how many raw records extract will yield, when cheap to know (for the progress bar)."""
        return None

    def extract(self, *, state: dict[str, Any]) -> Iterator[Extracted]:
        """Yield raw items and checkpoints, resuming after the point `state` describes (I/O only)."""
        raise NotImplementedError

    def translate(self, raw: RawRecord) -> Translation:
        """Translate one validated raw record to a unified record; raise RecordInvalid to quarantine it."""
        raise NotImplementedError
