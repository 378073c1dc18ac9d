"""Lay out the demo county's townships and villages (统计用区划代码) for a given population."""

from __future__ import annotations

import bisect
import collections
import itertools
import math
import random
from dataclasses import dataclass, field

from connectors.demo.reference import PLACE_FIRST, PLACE_MIDDLE, PLACE_SECOND

PROVINCE = ("510000000000", "四川省")
CITY = ("511500000000", "宜宾市")
COUNTY = ("511599000000", "示范县")
COUNTY_PREFIX = "511599"
MAX_TOWNSHIPS = 200  # 100-199 镇 and 200-299 乡
MAX_VILLAGES_PER_TOWNSHIP = 200  # one 社区 001 plus 村 201-399
# The first townships keep fixed names, and the first its namesake 村 (201), as in tests/fixtures/samples:
# the demo clients, policies and guides name them (qingshan-township is 青山镇, 511599100201 青山村).
ANCHORS = ("青山", "龙头", "白云")
ANCHOR_VILLAGE = "青山村"


@dataclass(frozen=True, slots=True)
class Township:
    """A township-level division (镇 or 乡)."""

    code: str
    name: str


@dataclass(frozen=True, slots=True)
class Village:
    """A village-level division (社区 or 村) with its township."""

    code: str
    name: str
    township: Township


@dataclass(slots=True)
class Gazetteer:
    """The county's divisions plus the names the quirk generators need."""

    townships: list[Township]
    villages: list[Village]
    duplicate_names: list[str]
    unknown_names: list[str]
    _cumulative: list[float] = field(default_factory=list)
    _duplicate_set: frozenset[str] = frozenset()

    def rows(self) -> list[tuple[str, str, str, str]]:
        """Return the gazetteer.csv rows (code, name, level, parent_code) without the header."""
        rows = [
            (PROVINCE[0], PROVINCE[1], "province", ""),
            (CITY[0], CITY[1], "city", PROVINCE[0]),
            (COUNTY[0], COUNTY[1], "county", CITY[0]),
        ]
        rows += [(t.code, t.name, "township", COUNTY[0]) for t in self.townships]
        rows += [(v.code, v.name, "village", v.township.code) for v in self.villages]
        return rows

    def pick_village(self, u: float) -> Village:
        """Return the village at cumulative weight fraction `u` in [0, 1)."""
        idx = bisect.bisect_right(self._cumulative, u * self._cumulative[-1])
        return self.villages[min(idx, len(self.villages) - 1)]

    def is_duplicate(self, village: Village) -> bool:
        """Tell whether the village's name is shared with another village."""
        return village.name in self._duplicate_set


def _stems(rng: random.Random) -> list[str]:
    """Return every usable place-name stem, short ones first, each group shuffled."""
    first = list(dict.fromkeys(PLACE_FIRST))
    second = list(dict.fromkeys(PLACE_SECOND))
    middle = list(dict.fromkeys(PLACE_MIDDLE))
    short = [a + b for a, b in itertools.product(first, second)]
    long = [a + m + b for a, m, b in itertools.product(first, middle, second)]
    rng.shuffle(short)
    rng.shuffle(long)
    return short + long


def village_count(residents: int) -> int:
    """Return how many villages a county of this size has (about one per 500 residents)."""
    return max(8, residents // 500)


def build_gazetteer(residents: int, *, rng: random.Random) -> Gazetteer:
    """Lay out townships and villages for a county of `residents` people."""
    n_villages = village_count(residents)
    n_towns = min(MAX_TOWNSHIPS, max(3, math.ceil(n_villages / 15)))
    if n_villages > n_towns * MAX_VILLAGES_PER_TOWNSHIP:
        raise ValueError(f"county too large for the region-code scheme: {residents} residents")
    stems = iter([s for s in _stems(rng) if s not in ANCHORS])
    n_zhen = max(2, round(n_towns * 0.6)) if n_towns > 2 else n_towns
    townships: list[Township] = []
    for i in range(n_towns):
        stem = ANCHORS[i] if i < len(ANCHORS) else next(stems)
        if i < n_zhen:
            townships.append(Township(f"{COUNTY_PREFIX}{100 + i:03d}000", f"{stem}镇"))
        else:
            townships.append(Township(f"{COUNTY_PREFIX}{200 + i - n_zhen:03d}000", f"{stem}乡"))
    per_town = [n_villages // n_towns + (1 if i < n_villages % n_towns else 0) for i in range(n_towns)]
    villages: list[Village] = []
    weights: list[float] = []
    for town, count in zip(townships, per_town, strict=True):
        prefix = town.code[:9]
        next_cun = 201
        for j in range(count):
            if j == 0 and town.name.endswith("镇"):
                villages.append(Village(f"{prefix}001", f"{town.name[:-1]}社区", town))
                weights.append(1.5 + rng.random() * 1.5)
                continue
            anchored = next_cun == 201 and f"{town.name[:-1]}村" == ANCHOR_VILLAGE
            villages.append(
                Village(f"{prefix}{next_cun:03d}", ANCHOR_VILLAGE if anchored else f"{next(stems)}村", town)
            )
            weights.append(0.5 + rng.random())
            next_cun += 1
    villages = _add_duplicates(villages, n_villages=n_villages, rng=rng)
    names = {v.name for v in villages} | {t.name for t in townships}
    unknown = [f"{c}家村" for c in dict.fromkeys(PLACE_FIRST) if f"{c}家村" not in names]
    cumulative = list(itertools.accumulate(weights))
    counts = collections.Counter(v.name for v in villages)
    duplicates = sorted(name for name, n in counts.items() if n > 1)
    return Gazetteer(townships, villages, duplicates, unknown, cumulative, frozenset(duplicates))


def _add_duplicates(villages: list[Village], *, n_villages: int, rng: random.Random) -> list[Village]:
    """Rename a few 村 so that their names also occur in another township."""
    pairs = max(2, min(2 + n_villages // 200, n_villages // 6))
    cun = [i for i, v in enumerate(villages) if v.name.endswith("村") and v.name != ANCHOR_VILLAGE]
    by_town: dict[str, list[int]] = {}
    for i in cun:
        by_town.setdefault(villages[i].township.code, []).append(i)
    towns = sorted(by_town)
    out = list(villages)
    used: set[int] = set()
    made = 0
    for k in range(3 * pairs):  # a township whose villages are all taken is passed over
        if made == pairs:
            break
        a_town, b_town = towns[(2 * k) % len(towns)], towns[(2 * k + 1) % len(towns)]
        if a_town == b_town:
            break
        a_choices = [i for i in by_town[a_town] if i not in used]
        b_choices = [i for i in by_town[b_town] if i not in used]
        if not a_choices or not b_choices:
            continue
        a = a_choices[int(rng.random() * len(a_choices))]
        b = b_choices[int(rng.random() * len(b_choices))]
        used.update((a, b))
        out[b] = Village(out[b].code, out[a].name, out[b].township)
        made += 1
    return out
