"""Plans compiled for stored JSON (policies/projection.py) show, mask and hide what FieldPlan.apply does."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from policies.decision import Decision, FieldPlan, RowScope
from policies.engine import PolicyEngine
from policies.masks import mask_address, mask_name, mask_national_id, mask_redact

ENGINE = PolicyEngine.load()
INFO = ENGINE.policy.resources["residents"]
NAMES = {"511599100201": "青山村"}
# Stored documents list fields (and provenance entries) in catalogue order, as the store writes them.
PROVENANCE = {
    f: {"source": "civil_affairs", "record_key": "MZ1", "authoritative": True}
    for f in ("national_id", "name", "address", "phone", "employment_status")
}
FULL: dict[str, Any] = {
    "id": "R1",
    "national_id": "511599198503120415",
    "name": "欧阳明",
    "sex": "male",
    "region_code": "511599100201",
    "address": "四川省宜宾市示范县青山镇青山村3组12号",
    "phone": "13800000000",
    "tags": ["elderly", "low_income"],
    "employment_status": "retired",
    "updated_at": "2026-10-26T03:58:00Z",
    "provenance": PROVENANCE,
}
DOCS: list[dict[str, Any]] = [
    FULL,
    {**FULL, "region_code": "511599200101", "tags": ["disabled"]},  # another township
    {k: v for k, v in FULL.items() if k not in ("phone", "address", "national_id")},  # fields absent
    {**FULL, "provenance": None, "address": None},  # nulls are shown (or masked) as null
    {**FULL, "provenance": ["not", "an", "object"]},  # what the Struct cannot hold: the parser's path
    {**FULL, "unlisted": {"x": 1}, "region_code": None},  # not in the catalogue: never shown
    {**FULL, "name": 42, "tags": "elderly"},  # odd types reach masks and row checks as they are
]
# Written in another order: the same object comes out, its keys in catalogue order.
SHUFFLED = {**dict(reversed(FULL.items())), "provenance": dict(reversed(PROVENANCE.items()))}
CLEAR = frozenset({"id", "sex", "region_code", "tags", "updated_at", "provenance", "name"})
MASKED = (("national_id", mask_national_id), ("address", mask_address), ("phone", mask_redact))


def decision(*, plans: tuple[FieldPlan, ...], scopes: tuple[RowScope, ...] | None) -> Decision:
    """Return an allowing decision on residents with these plans and row scopes."""
    return Decision(
        allowed=True,
        reason="test",
        resource="residents",
        purpose="social-assistance-review",
        policy_version="t",
        info=INFO,
        scopes=scopes,
        plans=plans,
    )


CASES = {
    "masks, every row": decision(plans=(FieldPlan(CLEAR, MASKED, False),), scopes=None),
    "clear only, one township": decision(
        plans=(FieldPlan(CLEAR | {"phone"}, (), False),), scopes=(RowScope(("511599100",)),)
    ),
    "a clear field also masked": decision(
        plans=(FieldPlan(CLEAR, (("name", mask_name),), False),), scopes=(RowScope(None, ("elderly",)),)
    ),
    "two grants, rows reach one or both": decision(
        plans=(FieldPlan(CLEAR, MASKED, False), FieldPlan(frozenset({"id", "phone"}), (), False)),
        scopes=(RowScope(("511599100",)), RowScope(("5115992",), ("disabled",))),
    ),
    "everything, one township": decision(
        plans=(FieldPlan(frozenset(INFO.order), (), True),), scopes=(RowScope(("511599100",)),)
    ),
}


@pytest.mark.parametrize("name", CASES)
@pytest.mark.parametrize("as_bytes", [False, True])
def test_compiled_plans_answer_what_parsing_answers(name: str, as_bytes: bool) -> None:
    """Every document gives the same bytes (or the same 404) through the compiled plan as parsed."""
    d = CASES[name]
    shown = 0
    for doc in [*DOCS, SHUFFLED]:
        raw: str | bytes = orjson.dumps(doc) if as_bytes else orjson.dumps(doc).decode()
        fast, parsed = d.project(raw, NAMES), d._project_parsed(raw, NAMES)
        if doc is SHUFFLED and fast is not None and parsed is not None:
            assert orjson.loads(fast) == orjson.loads(parsed), name
            continue
        assert fast == parsed, (name, doc)
        shown += fast is not None
    assert shown > 0  # a case hiding every row would prove nothing


def test_compiled_plan_masks_and_drops_provenance_of_hidden_fields() -> None:
    """The compiled path masks values and keeps provenance only of shown fields (not employment_status)."""
    out = orjson.loads(CASES["masks, every row"].project(orjson.dumps(FULL), NAMES) or b"null")
    assert out["national_id"] == "511599********0415"
    assert out["address"] == "青山村" and out["phone"] is None
    assert "employment_status" not in out
    assert set(out["provenance"]) == {"name", "address", "phone", "national_id"}
