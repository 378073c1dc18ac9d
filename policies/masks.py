"""Masks applied to fields granted masked (PIPL Art. 6 minimum necessity: show only what is needed)."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from policies.models import MaskKind

# Two-character surnames (复姓) keep both characters: 欧阳明 -> 欧阳*, not 欧**.
_COMPOUND_SURNAMES = frozenset(
    [
        *("欧阳", "司马", "上官", "诸葛", "东方", "皇甫", "尉迟", "公孙", "慕容", "长孙"),
        *("宇文", "司徒", "夏侯", "轩辕", "令狐", "端木", "独孤", "南宫", "西门", "百里"),
    ]
)
_VILLAGE = re.compile(r"(?:镇|乡|街道)([^镇乡省市县]+?(?:村|社区))")
_VILLAGE_AFTER_COUNTY = re.compile(r"(?:县|区)([^县区镇乡]+?(?:村|社区))")

Mask = Callable[[Any, Mapping[str, Any], Mapping[str, str]], Any]


def mask_national_id(value: Any, doc: Mapping[str, Any], names: Mapping[str, str]) -> Any:
    """Keep the region (first 6) and check digits (last 4): 511599********0417."""
    if not isinstance(value, str) or len(value) < 10:
        return None if value is None else "*" * len(str(value))
    return value[:6] + "*" * (len(value) - 10) + value[-4:]


def mask_phone(value: Any, doc: Mapping[str, Any], names: Mapping[str, str]) -> Any:
    """Keep the carrier prefix (3) and last 4 digits: 138****0000."""
    if not isinstance(value, str) or len(value) < 7:
        return None if value is None else "*" * len(str(value))
    return value[:3] + "*" * (len(value) - 7) + value[-4:]


def mask_name(value: Any, doc: Mapping[str, Any], names: Mapping[str, str]) -> Any:
    """Keep the surname, one star per remaining character: 王建国 -> 王**."""
    if not isinstance(value, str) or not value:
        return value
    keep = 2 if value[:2] in _COMPOUND_SURNAMES and len(value) > 2 else 1
    return value[:keep] + "*" * (len(value) - keep)


def mask_address(value: Any, doc: Mapping[str, Any], names: Mapping[str, str]) -> Any:
    """Reduce an address to its village name (from the gazetteer, else read from the address)."""
    if value is None:
        return None
    name = names.get(doc.get("region_code") or "")
    if name:
        return name
    if isinstance(value, str):
        found = _VILLAGE.search(value) or _VILLAGE_AFTER_COUNTY.search(value)
        if found:
            return found.group(1)
    return "***"  # never the address itself when the village cannot be told


def mask_redact(value: Any, doc: Mapping[str, Any], names: Mapping[str, str]) -> Any:
    """Withhold the value entirely (the key stays, so clients see the field exists)."""
    return None


MASKS: dict[MaskKind, Mask] = {
    MaskKind.NATIONAL_ID: mask_national_id,
    MaskKind.PHONE: mask_phone,
    MaskKind.NAME: mask_name,
    MaskKind.ADDRESS: mask_address,
    MaskKind.REDACT: mask_redact,
}
