"""What verify reports: the first finding (a sequence number, a kind, a sentence) and what was checked."""

from __future__ import annotations

from dataclasses import dataclass, field

from gateway.audit.trust import Problem


@dataclass(frozen=True, slots=True)
class Finding:
    """The first thing wrong: the sequence number it concerns, a kind, and a sentence."""

    seq: int
    # modified | deleted | inserted | reordered | index | checkpoint | head | archive-base, and with a pinned
    # key or a witness (gateway/audit/trust.py): re-signed | truncated | fork | rebuilt | witness | uncovered
    kind: str
    detail: str


@dataclass(slots=True)
class Report:
    """What verify checked and the first finding (None: the log verifies)."""

    events: int = 0
    checkpoints: int = 0
    first_seq: int = 0
    last_seq: int = 0
    seconds: float = 0.0
    finding: Finding | None = None
    notes: list[str] = field(default_factory=list)
    walk: str = ""  # "batched", or "exact" when the batched walk doubted (or was not asked for)

    @property
    def ok(self) -> bool:
        """Tell whether the log verified."""
        return self.finding is None

    @property
    def rate(self) -> float:
        """Events verified per second."""
        return self.events / self.seconds if self.seconds else 0.0


class Failed(Exception):
    """Raised inside the walk to stop at the first finding."""

    def __init__(self, finding: Finding) -> None:
        super().__init__(finding.detail)
        self.finding = finding


def failed(problem: Problem) -> Failed:
    return Failed(Finding(problem.seq, problem.kind, problem.detail))
