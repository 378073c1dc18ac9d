"""Region codes (统计用区划代码): levels, padding and subtree prefixes."""

from __future__ import annotations

# PP CC DD TTT VVV: province, city, county, township, village.
_SEGMENTS = (2, 2, 2, 3, 3)
LEVELS = ("province", "city", "county", "township", "village")


def pad_region_code(code: str) -> str:
    """Pad a shorter prefix code with zeros to 12 digits (5115990000 -> 511599000000)."""
    return code.ljust(12, "0")


def region_prefix(code: str) -> str:
    """Return the non-zero prefix a region's whole subtree shares (511599100000 -> 511599100)."""
    code = pad_region_code(code)
    ends = []
    pos = 0
    for width in _SEGMENTS:
        pos += width
        ends.append(pos)
    keep = 0
    for end, width in zip(ends, _SEGMENTS, strict=True):
        if code[end - width : end] != "0" * width:
            keep = end
    return code[:keep]


def region_level(code: str) -> str:
    """Return the level a 12-digit code names, by its last non-zero segment."""
    prefix = region_prefix(code)
    ends = (2, 4, 6, 9, 12)
    return LEVELS[ends.index(len(prefix))] if prefix else "province"


def prefix_range(prefix: str) -> tuple[str, str | None]:
    """Return [low, high) 12-digit bounds selecting every code that starts with `prefix`.

    A range (not LIKE) stays index-backed on SQLite and PostgreSQL; bounds are digits only, so
    every collation orders them alike. high is None when the subtree runs to the end of the code space.
    """
    if not prefix:
        return "000000000000", None
    scale = 10 ** (12 - len(prefix))
    low = int(prefix) * scale
    high = (int(prefix) + 1) * scale
    return f"{low:012d}", (f"{high:012d}" if high < 10**12 else None)


def in_subtree(code: str, ancestor: str) -> bool:
    """Tell whether `code` lies in the subtree of `ancestor` (itself included)."""
    return code.startswith(region_prefix(ancestor))


def ancestors_or_self(code: str) -> list[str]:
    """Return the padded codes of a region and of every region above it (village up to province)."""
    prefix = region_prefix(code)
    out: list[str] = []
    for end in (2, 4, 6, 9, 12):
        if end <= len(prefix):
            out.append(pad_region_code(prefix[:end]))
    return out
