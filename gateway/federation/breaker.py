"""A circuit breaker per member: after N failures in a row, fail fast for a pause, then try once."""

from __future__ import annotations

import time
from dataclasses import dataclass


@dataclass(slots=True)
class CircuitBreaker:
    """Closed (calls pass), open (calls refused until `reset_seconds` pass), half-open (one trial call)."""

    failures_to_open: int
    reset_seconds: float
    failures: int = 0
    opened_at: float | None = None
    trial_running: bool = False

    def retry_after(self, now: float | None = None) -> int | None:
        """Return whole seconds to wait when a call must be refused now, else None (and admit the call)."""
        if self.opened_at is None:
            return None
        now = time.monotonic() if now is None else now
        left = self.opened_at + self.reset_seconds - now
        if left > 0:
            return max(1, int(left + 0.999))
        if self.trial_running:  # half-open: one trial at a time
            return 1
        self.trial_running = True
        return None

    def succeeded(self) -> None:
        """Close the circuit."""
        self.failures = 0
        self.opened_at = None
        self.trial_running = False

    def failed(self, now: float | None = None) -> None:
        """Count a failure; open (again) when the count is reached or a half-open trial failed."""
        self.failures += 1
        if self.trial_running or self.failures >= self.failures_to_open:
            self.opened_at = time.monotonic() if now is None else now
        self.trial_running = False

    @property
    def state(self) -> str:
        """Return closed, open or half-open (for logs and tests)."""
        if self.opened_at is None:
            return "closed"
        return "half-open" if self.trial_running else "open"
