"""Faults the fake HR API can inject, and the log of the requests it answered.

Fault kinds: ``rate_limit`` (HTTP 429 with Retry-After: `retry_after`), ``unavailable`` (HTTP 503),
``slow`` (sleep `delay` seconds, then answer normally; combines with one other fault),
``internal_error`` (HTTP 200, envelope code 5000), ``token_expired`` (HTTP 200, envelope code 2003; every
page token handed out so far is dropped), ``drop`` (send the headers and half the body, then close).

Triggers, all optional and combined with AND: `path` (default the persons endpoint; None = any API
path), `on_request` (the N-th API request the server sees, 1-based, counting every API request),
`on_page` (the N-th page of a sync: 1 is the request without pageToken), `rate` (probability per
matching request; 0 = always). A fault fires at most `times` times (None = no limit; default 1).
"""

from __future__ import annotations

import random
import threading
from dataclasses import asdict, dataclass, field
from typing import Any, Literal, get_args

FaultKind = Literal["rate_limit", "unavailable", "slow", "internal_error", "token_expired", "drop"]
FAULT_KINDS: tuple[str, ...] = get_args(FaultKind)
PERSONS_PATH = "/api/v2/persons"


@dataclass
class Fault:
    """One injectable fault: its kind, its triggers, and how often it has fired (see the module doc)."""

    kind: FaultKind
    on_request: int | None = None
    on_page: int | None = None
    rate: float = 0.0
    times: int | None = 1
    retry_after: int = 1
    delay: float = 1.0
    path: str | None = PERSONS_PATH
    fired: int = 0

    def __post_init__(self) -> None:
        """Reject unknown kinds and nonsense parameters."""
        if self.kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}; expected one of {FAULT_KINDS}")
        if not 0.0 <= self.rate <= 1.0:
            raise ValueError("rate must be within [0, 1]")
        if self.times is not None and self.times < 0:
            raise ValueError("times must be >= 0 or None")

    def to_dict(self) -> dict[str, Any]:
        """Return the fault as plain JSON-ready data."""
        return asdict(self)


@dataclass(frozen=True)
class RequestRecord:
    """What one request asked for and how the server answered."""

    n: int
    method: str
    path: str
    query: dict[str, str]
    api_key: str | None
    page: int | None
    status: int
    code: str | None
    fault: str | None
    items: int

    def to_dict(self) -> dict[str, Any]:
        """Return the record as plain JSON-ready data."""
        return asdict(self)


@dataclass
class FaultBook:
    """Thread-safe fault rules and request log shared by the server thread and the test thread."""

    seed: int = 0
    faults: list[Fault] = field(default_factory=list)
    log: list[RequestRecord] = field(default_factory=list)
    count: int = 0
    generation: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _rng: random.Random = field(init=False, repr=False)

    def __post_init__(self) -> None:
        """Seed the random source used by rate-based faults."""
        self._rng = random.Random(self.seed)

    def add(self, fault: Fault) -> Fault:
        """Add a fault rule."""
        with self._lock:
            self.faults.append(fault)
        return fault

    def clear(self) -> None:
        """Remove every fault rule."""
        with self._lock:
            self.faults.clear()

    def reset(self) -> None:
        """Remove every fault rule and forget the request log."""
        with self._lock:
            self.faults.clear()
            self.log.clear()
            self.count = 0
            self.generation += 1
            self._rng = random.Random(self.seed)

    def next_request(self) -> tuple[int, int]:
        """Count an API request; return its 1-based number and the current log generation."""
        with self._lock:
            self.count += 1
            return self.count, self.generation

    def triggered(self, *, n: int, path: str, page: int | None) -> list[Fault]:
        """Return the faults that fire for request `n` (slow ones first), using up their `times`."""
        out: list[Fault] = []
        with self._lock:
            for fault in self.faults:
                if fault.times is not None and fault.fired >= fault.times:
                    continue
                if fault.path is not None and fault.path != path:
                    continue
                if fault.on_request is not None and fault.on_request != n:
                    continue
                if fault.on_page is not None and fault.on_page != page:
                    continue
                if fault.rate and self._rng.random() >= fault.rate:
                    continue
                if fault.kind != "slow" and any(f.kind != "slow" for f in out):
                    continue
                fault.fired += 1
                out.append(fault)
        return sorted(out, key=lambda f: f.kind != "slow")

    def record(self, entry: RequestRecord, *, generation: int) -> None:
        """Append to the request log, unless a reset happened while the request was being answered."""
        with self._lock:
            if generation == self.generation:
                self.log.append(entry)

    def snapshot(self) -> list[RequestRecord]:
        """Return a copy of the request log."""
        with self._lock:
            return list(self.log)
