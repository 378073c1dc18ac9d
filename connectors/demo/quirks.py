"""Inject source quirks at controlled rates and keep the books on what was broken on purpose."""

from __future__ import annotations

import datetime as dt
import functools
import math
import random
import zlib
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

from connectors.demo.reference import GXSJ_FIRST_DAY, REFERENCE_DAY

FULLWIDTH_DIGITS = str.maketrans("0123456789", "０１２３４５６７８９")

# Per eligible record: (rate, variants). A hit takes the variants in turn, so each shows up in proportion.
# Every quirk is also forced early, so that even a small county shows all of them.
QUIRKS: dict[str, tuple[float, tuple[str, ...]]] = {
    "ca_id_broken": (
        0.012,
        ("ca_bad_check", "ca_missing_id", "ca_impossible_date", "ca_bad_check", "ca_missing_id"),
    ),
    "ca_legacy_15_id": (0.04, ()),
    "ca_lowercase_x": (0.35, ()),
    "ca_name_padding": (0.02, ("ca_name_ascii_space", "ca_name_fullwidth_space")),
    "ca_minority_dot_variant": (0.4, ()),
    "ca_csrq_unknown": (0.01, ("ca_csrq_zero", "ca_csrq_empty")),
    "ca_phone_messy": (
        0.055,
        (
            "ca_phone_dash_space",
            "ca_phone_fullwidth",
            "ca_phone_spaces",
            "ca_phone_none",
            "ca_phone_dash_space",
        ),
    ),
    "ca_relation_01": (0.03, ()),
    "hr_id_broken": (0.008, ("hr_bad_check", "hr_bad_check", "hr_impossible_date")),
    "hr_lowercase_x": (0.05, ()),
    "hr_phone_differs": (0.05, ()),
    "hr_gender_unknown": (0.002, ()),
    "reg_id_broken": (0.014, ("reg_unrecoverable_id", "reg_bad_check", "reg_unrecoverable_id")),
    "reg_unknown_village": (0.01, ()),
    "reg_ambiguous_village": (0.04, ()),
    "reg_blank_code": (0.08, ()),
    "reg_legacy_15_id": (0.03, ()),
    "reg_lowercase_x": (0.3, ()),
    "rss_script": (0.04, ()),
    "rss_on_handler": (0.05, ()),
    "rss_javascript_link": (0.04, ()),
    "rss_iframe": (0.03, ()),
    "rss_remote_img": (0.05, ()),
}

REASON_INVALID = "invalid_id"
REASON_MISSING = "missing_id"
REASON_UNKNOWN_VILLAGE = "unknown_village"
REASON_AMBIGUOUS_VILLAGE = "ambiguous_village"
REASON_UNRECOVERABLE = "unrecoverable_id"


@dataclass(frozen=True, slots=True)
class Broken:
    """A record written broken on purpose: which source, its key there, and the quarantine reason."""

    source: str
    key: str
    reason: str


class Quirk:
    """One quirk's schedule: Bernoulli(rate) over its eligible records, drawn as geometric gaps."""

    __slots__ = ("_log_miss", "_random", "count", "next", "seen", "variant_counts", "variants")

    def __init__(self, rate: float, *, rng: random.Random, force_at: int, variants: tuple[str, ...]) -> None:
        """Schedule the first hit, no later than the `force_at`-th eligible record."""
        self._random = rng.random
        self._log_miss = math.log1p(-rate)
        self.variants = variants
        self.variant_counts = [0] * len(variants)
        self.seen = 0
        self.count = 0
        self.next = min(force_at, self._gap())

    def _gap(self) -> int:
        """Draw how many eligible records until the next hit (1 = the very next)."""
        return int(math.log(1.0 - self._random()) / self._log_miss) + 1

    def hit(self) -> bool:
        """Tell whether this eligible record gets the quirk."""
        self.seen += 1
        if self.seen < self.next:
            return False
        self.count += 1
        self.variant_counts[0] += 1
        self.next = self.seen + self._gap()
        return True

    def pick(self) -> str:
        """Return the variant this eligible record gets, or "" for none."""
        self.seen += 1
        if self.seen < self.next:
            return ""
        self.next = self.seen + self._gap()
        index = self.count % len(self.variants)
        self.count += 1
        self.variant_counts[index] += 1
        return self.variants[index]


class QuirkBook:
    """Decide, deterministically, which eligible records get which quirk, and count them."""

    FORCE_SPREAD = 20  # every quirk hits by its (2 + crc32(name) % spread)-th eligible record

    def __init__(self, rng: random.Random) -> None:
        """Start an empty book drawing from `rng`."""
        self._quirks = {
            name: Quirk(
                rate,
                rng=rng,
                force_at=2 + zlib.crc32(name.encode()) % self.FORCE_SPREAD,
                variants=variants or (name,),
            )
            for name, (rate, variants) in QUIRKS.items()
        }
        self._notes: Counter[str] = Counter()
        self.broken: list[Broken] = []

    def hit(self, name: str) -> bool:
        """Tell whether this eligible record gets quirk `name`."""
        return self._quirks[name].hit()

    def hits(self, prefix: str) -> dict[str, Callable[[], bool]]:
        """Return the bound `hit` of every single-variant quirk named `prefix...` (for hot loops)."""
        return {n: q.hit for n, q in self._quirks.items() if n.startswith(prefix) and len(q.variants) == 1}

    def picks(self, prefix: str) -> dict[str, Callable[[], str]]:
        """Return the bound `pick` of every multi-variant quirk named `prefix...` (for hot loops)."""
        return {n: q.pick for n, q in self._quirks.items() if n.startswith(prefix) and len(q.variants) > 1}

    def note(self, name: str, *, n: int = 1) -> None:
        """Count a quirk that occurred by construction."""
        self._notes[name] += n

    @property
    def counts(self) -> dict[str, int]:
        """Return how often each quirk occurred."""
        counts: Counter[str] = Counter(self._notes)
        for quirk in self._quirks.values():
            for variant, n in zip(quirk.variants, quirk.variant_counts, strict=True):
                counts[variant] += n
        return {name: n for name, n in counts.items() if n}

    def broke(self, source: str, *, key: str, reason: str) -> None:
        """Record a deliberately broken record."""
        self.broken.append(Broken(source=source, key=key, reason=reason))


def messy_phone(phone: str, *, kind: str) -> str:
    """Write a phone number the way a clerk might: with separators, full-width, or 无."""
    if kind == "none":
        return "无"
    if kind == "fullwidth":
        return phone.translate(FULLWIDTH_DIGITS)
    if kind == "spaces":
        return f"{phone[:3]} {phone[3:7]} {phone[7:]}"
    return f"{phone[:3]}-{phone[3:7]} {phone[7:]}"


def pad_name(name: str, *, fullwidth: bool, u: float) -> str:
    """Surround a name with stray ASCII or full-width (U+3000) spaces."""
    if fullwidth:
        return (" " + name + "\u3000") if u < 0.5 else ("\u3000" + name + " ")
    return (" " + name) if u < 0.3 else (name + " ") if u < 0.6 else (" " + name + " ")


@functools.cache
def _times_of_day() -> tuple[str, ...]:
    """Return every second of a day as `HH:MM:SS`."""
    return tuple(f"{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}" for s in range(86400))


class Clock:
    """Random timestamps within the sources' update window, formatted as each source writes them."""

    def __init__(self, rng: random.Random) -> None:
        """Tabulate the window's days and the day's seconds."""
        self._random = rng.random
        first = GXSJ_FIRST_DAY.toordinal()
        self.days = [dt.date.fromordinal(o).isoformat() for o in range(first, REFERENCE_DAY.toordinal())]
        self._n_days = len(self.days)
        self._times = _times_of_day()

    def gxsj(self) -> str:
        """Return a civil-affairs `YYYY-MM-DD HH:MM:SS` timestamp (Beijing time)."""
        r = self._random
        return self.days[int(r() * self._n_days)] + " " + self._times[int(r() * 86400)]

    def rfc3339(self) -> str:
        """Return an RFC 3339 timestamp with the +08:00 offset, as the HR API writes it."""
        r = self._random
        return self.days[int(r() * self._n_days)] + "T" + self._times[int(r() * 86400)] + "+08:00"


class QuirkyWriter:
    """What every source writer draws from: the seeded random source and its quirks (under `prefix`)."""

    def __init__(self, prefix: str, *, rng: random.Random, quirks: QuirkBook) -> None:
        """Keep the random source and the quirks' draws of this source."""
        self._rng = rng
        self._q = quirks
        self._hit = quirks.hits(prefix)
        self._pick = quirks.picks(prefix)
