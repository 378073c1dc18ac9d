"""The code's layout: every folder of Python modules is a real package; no function outgrows a reader."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CODE = ("gateway", "connectors", "schemas", "policies", "store")
# Alembic's migrations folder is a script directory, not a package.
NOT_PACKAGES = {ROOT / "gateway" / "migrations", ROOT / "gateway" / "migrations" / "versions"}


def test_every_folder_of_modules_is_a_package() -> None:
    folders = {p.parent for top in CODE for p in (ROOT / top).rglob("*.py")} - NOT_PACKAGES
    missing = sorted(str(f.relative_to(ROOT)) for f in folders if not (f / "__init__.py").exists())
    assert missing == []


def test_the_split_functions_stay_short() -> None:
    """The policy decision, the grant compiler and the people sink read as named steps of ~60 lines."""
    named = {
        "policies/decide.py": "decide",
        "policies/compile.py": "compile_grant",
        "connectors/sdk/sinks/people.py": "write_people",
    }
    for path, name in named.items():
        tree = ast.parse((ROOT / path).read_text(encoding="utf-8"))
        (fn,) = [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef) and n.name == name]
        assert fn.end_lineno is not None and fn.end_lineno - fn.lineno < 60, (path, name)


def test_no_function_outgrows_a_reader() -> None:
    """Every function of the code, the benchmarks and the tests is at most 60 lines (migrations aside)."""
    long = []
    for top in (*CODE, "bench", "tests"):
        for path in sorted((ROOT / top).rglob("*.py")):
            if ROOT / "gateway" / "migrations" in path.parents:
                continue
            for fn in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if not isinstance(fn, ast.FunctionDef | ast.AsyncFunctionDef) or fn.end_lineno is None:
                    continue
                if fn.end_lineno - fn.lineno >= 60:
                    long.append(f"{path.relative_to(ROOT)}:{fn.lineno} {fn.name}")
    assert long == []


def test_the_layering_contracts_hold() -> None:
    """Run import-linter's contracts of pyproject.toml (schemas <- store <- connectors, gateway)."""
    import subprocess
    import sys

    lint = Path(sys.executable).with_name("lint-imports")
    done = subprocess.run([str(lint)], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "0 broken" in done.stdout


def test_the_contracts_state_the_store_rule() -> None:
    """The rule of issue 18 is written down: schemas <- store <- {connectors, gateway}; SDK kept in."""
    import tomllib

    contracts = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["importlinter"]
    forbidden = {
        source: set(c["forbidden_modules"])
        for c in contracts["contracts"]
        if c["type"] == "forbidden"
        for source in c["source_modules"]
    }
    assert {"store", "connectors", "gateway"} <= forbidden["schemas"]
    assert {"connectors", "gateway"} <= forbidden["store"]
    assert "gateway" in forbidden["connectors"]
    assert "connectors.sdk" in forbidden["gateway"]
