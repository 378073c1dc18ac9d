"""One keyset page helper: order by the key, start strictly after the cursor, one row more to see the end."""

from __future__ import annotations

from sqlalchemy import Column, Integer, MetaData, String, Table, create_engine, insert, select

from gateway.pagination import cut_page, keyset

ITEMS = Table("items", MetaData(), Column("id", String, primary_key=True), Column("n", Integer))


def test_pages_cover_every_row_once_in_key_order() -> None:
    engine = create_engine("sqlite://")
    ITEMS.metadata.create_all(engine)
    ids = [f"k{i:02d}" for i in (7, 3, 11, 1, 5, 9, 2)]
    with engine.begin() as conn:
        conn.execute(insert(ITEMS), [{"id": k, "n": i} for i, k in enumerate(ids)])
        seen: list[str] = []
        after: str | None = None
        pages = 0
        while True:
            stmt = keyset(select(ITEMS.c.id).where(ITEMS.c.n >= 0), ITEMS.c.id, after=after, limit=3)
            rows, last = cut_page([r[0] for r in conn.execute(stmt)], 3)
            seen += rows
            pages += 1
            if last is None:
                break
            assert last == rows[-1]
            after = last
    assert seen == sorted(ids) and pages == 3


def test_a_full_last_page_says_no_more() -> None:
    assert cut_page(["a", "b"], 2) == (["a", "b"], None)
    assert cut_page(["a", "b", "c"], 2) == (["a", "b"], "b")
    assert cut_page([], 2) == ([], None)
