"""The shipped policy's YAML decision tests, loader messages with file and line, masks, query plans."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from gateway.residents.repository import ResidentFilter, list_query
from policies.decision import RowScope, Subject
from policies.engine import PolicyEngine
from policies.loader import DEFAULT_DIR, PolicyInvalid
from policies.masks import mask_address, mask_name, mask_national_id, mask_phone
from policies.testing import run_paths
from store.engines import make_sync_engine


def test_shipped_policy_passes_its_decision_tests() -> None:
    total, failures = run_paths(PolicyEngine.load(), [DEFAULT_DIR / "tests"])
    assert total >= 9 and not failures, "\n".join(map(str, failures))


def test_a_wrong_expectation_fails(tmp_path: Path) -> None:
    case = (
        (DEFAULT_DIR / "tests" / "residents.yaml")
        .read_text()
        .replace("511599********0415", "511599198503120415", 1)
    )
    (tmp_path / "t.yaml").write_text(case)
    _, failures = run_paths(PolicyEngine.load(), [tmp_path / "t.yaml"])
    assert len(failures) == 1 and "national_id" in failures[0].message and failures[0].line > 1


@pytest.mark.parametrize(
    ("needle", "replacement", "file", "words"),
    [
        (
            "sensitivity: personal, mask: phone",
            "sensitivity: secret, mask: phone",
            "catalogue.yaml",
            "Input should be",
        ),
        (
            "fields: [sex, birth_date, region_code, status]\n",
            "fields: [sex, birth_date, region_code, status]\n    colour: red\n",
            "grants.yaml",
            "Extra inputs",
        ),
        ("purposes: [statistics]", "purposes: [gossip]", "grants.yaml", "unknown purpose 'gossip'"),
        (
            "fields: [sex, birth_date, region_code, status, employment_status]",
            "fields: [sex, ethnicity, status]",
            "grants.yaml",
            "conditional",
        ),
    ],
)
def test_invalid_documents_name_file_and_line(
    tmp_path: Path, needle: str, replacement: str, file: str, words: str
) -> None:
    d = tmp_path / "p"
    shutil.copytree(DEFAULT_DIR, d)
    original = (d / file).read_text()
    assert needle in original
    (d / file).write_text(original.replace(needle, replacement, 1))
    with pytest.raises(PolicyInvalid) as info:
        PolicyEngine.load(d)
    issue = next(i for i in info.value.issues if words in i.message)
    assert issue.file == file
    line = (d / file).read_text().splitlines()[issue.line - 1]
    assert any(tok in line for tok in replacement.split() if len(tok) > 3), (issue, line)


def test_masks() -> None:
    assert mask_national_id("511599198503120417", {}, {}) == "511599********0417"
    assert mask_phone("13800000000", {}, {}) == "138****0000"
    assert mask_name("王建国", {}, {}) == "王**" and mask_name("王芳", {}, {}) == "王*"
    assert mask_name("欧阳明月", {}, {}) == "欧阳**"
    addr = "四川省宜宾市示范县青山镇竹林村2组30号"
    assert mask_address(addr, {}, {}) == "竹林村"
    assert mask_address(addr, {"region_code": "511599100202"}, {"511599100202": "竹林村"}) == "竹林村"


@pytest.mark.backends
def test_region_filtered_list_is_index_backed(store_engine: Engine) -> None:
    engine = PolicyEngine.load()
    d = engine.decide(
        Subject("qingshan-township", "township", "511599100000"), "residents", "emergency-response"
    )
    stmt = list_query(ResidentFilter(policy_scopes=d.scopes), after="R0", limit=50)
    sql = str(stmt.compile(store_engine, compile_kwargs={"literal_binds": True}))
    with store_engine.connect() as conn:
        if store_engine.dialect.name == "sqlite":
            plan = " ".join(str(r[-1]) for r in conn.execute(text("EXPLAIN QUERY PLAN " + sql)))
            assert "ix_resident_region_id" in plan or "PRIMARY KEY" in plan, plan
            assert "SCAN resident" not in plan.replace("USING INDEX", "") or "INDEX" in plan, plan
        else:
            conn.execute(
                text("SET enable_seqscan = off")
            )  # a tiny test table: ask whether an index *can* serve it
            plan = " ".join(r[0] for r in conn.execute(text("EXPLAIN " + sql)))
            assert "Index" in plan and "Seq Scan on resident" not in plan, plan


@pytest.mark.parametrize(
    "flt",
    [
        ResidentFilter(policy_scopes=(RowScope(prefixes=("511599",)),)),
        ResidentFilter(region="511599000000"),
    ],
    ids=["county-grant", "county-filter"],
)
def test_county_wide_list_walks_the_id_order(sqlite_url: str, flt: ResidentFilter) -> None:
    # Bench regression: a county-wide subtree read through the region index and sorted cost 29 ms a page.
    # SQLite only: PostgreSQL plans from real statistics, the hint is for SQLite's planner.
    engine = make_sync_engine(sqlite_url)
    stmt = list_query(flt, after="R0", limit=50)
    sql = str(stmt.compile(engine, compile_kwargs={"literal_binds": True}))
    with engine.connect() as conn:
        plan = " ".join(str(r[-1]) for r in conn.execute(text("EXPLAIN QUERY PLAN " + sql)))
    engine.dispose()
    assert "TEMP B-TREE" not in plan and "region" not in plan, plan
