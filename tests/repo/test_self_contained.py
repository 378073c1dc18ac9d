"""The repository carries what it needs: its samples, its description of the sources, no outside path."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "tests" / "fixtures" / "samples"
# Spelled in pieces so that this file does not match itself.
OUTSIDE = ("../" + "shared", "SOURCES" + ".md")


def tracked_files() -> list[Path]:
    """Return the files git tracks (or, outside a git checkout, every file but the usual caches)."""
    try:
        out = subprocess.run(
            ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True, timeout=30
        ).stdout
        return [ROOT / p for p in out.decode().split("\0") if p]
    except (OSError, subprocess.CalledProcessError):
        skip = {".git", ".venv", "var", "__pycache__", ".mypy_cache", ".ruff_cache", ".pytest_cache"}
        return [p for p in ROOT.rglob("*") if p.is_file() and not skip & set(p.relative_to(ROOT).parts)]


@pytest.mark.parametrize("needle", OUTSIDE)
def test_no_file_refers_outside_the_repository(needle: str) -> None:
    """No tracked file names the directory beside the checkout or the departments' own interface document."""
    hits = []
    for path in tracked_files():
        try:
            text = path.read_text(encoding="utf-8")
        except (UnicodeDecodeError, FileNotFoundError):
            continue
        lines = enumerate(text.splitlines(), 1)
        hits += [f"{path.relative_to(ROOT)}:{n}" for n, line in lines if needle in line]
    assert not hits, f"{needle!r} in: {hits}"


def test_the_samples_live_in_the_repository() -> None:
    """Every sample docs/sources.md names is a tracked file under tests/fixtures/samples."""
    doc = (ROOT / "docs" / "sources.md").read_text(encoding="utf-8")
    named = set(re.findall(r"`((?:hr_api/)?[a-z_]+(?:_2026-\d\d)?\.(?:csv|json|xml|sqlite))`", doc))
    assert {"gazetteer.csv", "civil_affairs.sqlite", "publicity_feed.xml", "expected.json"} <= named
    tracked = set(tracked_files())
    for name in named:
        assert SAMPLES / name in tracked, f"docs/sources.md names {name}, not in tests/fixtures/samples"
    assert len(sorted((SAMPLES / "hr_api").glob("persons_page*.json"))) == 4


def test_every_connector_is_described() -> None:
    """docs/sources.md has a section for every connector the package registers."""
    doc = (ROOT / "docs" / "sources.md").read_text(encoding="utf-8")
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    block = pyproject.split('[project.entry-points."gateway.connectors"]', 1)[1].split("\n[", 1)[0]
    connectors = re.findall(r"^(\w+) =", block, re.MULTILINE)
    assert len(connectors) == 5
    for name in connectors:
        assert f"`{name}`" in doc, f"docs/sources.md does not describe connector {name}"


def test_what_the_demo_and_the_guides_write_is_ignored() -> None:
    """var/ (the demo's store, keys, secrets and env.sh) is never offered for a commit."""
    for path in ("var/demo/env.sh", "var/demo/clients.json", "var/audit-key.pem", "var/key-encryption.key"):
        done = subprocess.run(["git", "check-ignore", "-q", path], cwd=ROOT, timeout=30, check=False)
        assert done.returncode == 0, f"{path} is not ignored by .gitignore"
