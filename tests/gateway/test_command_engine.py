"""One engine per command invocation: disposed however the command ends; a stale store exits 2."""

from __future__ import annotations

from pathlib import Path

import pytest
import typer
from sqlalchemy import event, text

from gateway.commands.store import command_engine


def test_the_engine_is_disposed_when_the_command_fails(sqlite_url: str) -> None:
    closed: list[object] = []
    with pytest.raises(RuntimeError), command_engine(sqlite_url) as engine:
        event.listen(engine.pool, "close", lambda conn, record: closed.append(conn))
        with engine.connect() as conn:
            assert conn.execute(text("SELECT 1")).scalar() == 1
        raise RuntimeError("the command failed")
    assert closed, "the pooled connection was not closed"


def test_a_store_behind_the_code_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with (
        pytest.raises(typer.Exit) as stopped,
        command_engine(f"sqlite:///{tmp_path / 'empty.db'}", current=True),
    ):
        pytest.fail("the block ran on an unmigrated store")
    assert stopped.value.exit_code == 2
    assert "gateway db upgrade" in capsys.readouterr().err


def test_a_current_store_runs_the_block(sqlite_url: str) -> None:
    with command_engine(sqlite_url, current=True) as engine:
        assert engine.url.render_as_string() == sqlite_url
