"""docs/integrating.md and docs/integrating.zh.md: every runnable example works against a live gateway.

Conventions of the two guides (kept here so authors know what the test does):

- A fenced block opened with ```` ```sh test ```` or ```` ```python test ```` is runnable; a plain
  ```` ```sh ```` (or any other fence) is an illustration and is not run. Keep illustrations few (at most
  ``MAX_ILLUSTRATIONS`` a guide).
- A runnable block holds one or more ``# expect: TEXT`` lines. The block must exit 0 and its standard
  output must contain every TEXT; ``$VAR`` / ``${VAR}`` in TEXT are replaced by the environment
  variables below before comparing.
- ``sh`` blocks run with ``bash -euo pipefail -c BLOCK``; ``python`` blocks with this venv's python.
  The blocks of one guide run in order in one fresh working directory (a block may read the files an
  earlier one wrote: a key, a registration), each with a 30 s timeout.
- The environment is the one the guides define at the top: GATEWAY_URL, CLIENT_ID, CLIENT_SECRET,
  PURPOSE, RESIDENT_ID, NATIONAL_ID, TOWNSHIP_CLIENT_ID, TOWNSHIP_CLIENT_SECRET, OTHER_RESIDENT_ID,
  AUDITOR_CLIENT_ID, AUDITOR_CLIENT_SECRET, AGENT_CLIENT_ID, AGENT_CLIENT_SECRET, VILLAGE_NATIONAL_ID,
  MOVED_NATIONAL_ID (a resident who moved to the second county) and (operator examples)
  GATEWAY_DATABASE_URL; PATH starts with the venv's bin, so ``gateway`` and ``python3`` are the project's.
- Both guides hold the same runnable examples: the same blocks in the same order, identical except
  for comments (whole lines, or ``  # ...`` ending a line: translated); ``# expect:`` lines are
  identical too.

The gateway is the real demo (``python -m gateway.demo --second-county``: generated county, migrations,
``gateway sync``, the demo clients, and the federated second county on the next port) served on a free
127.0.0.1 port, started once for both guides.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import string
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.support.pgcluster import free_port

ROOT = Path(__file__).resolve().parents[2]
GUIDES = {"en": ROOT / "docs" / "integrating.md", "zh": ROOT / "docs" / "integrating.zh.md"}
FENCE = re.compile(r"^```([^\n]*)\n(.*?)^```[ \t]*$", re.MULTILINE | re.DOTALL)
EXPECT = re.compile(r"^[ \t]*# expect: (.+?)[ \t]*$", re.MULTILINE)
MAX_ILLUSTRATIONS = 3
BLOCK_TIMEOUT = 30
START_TIMEOUT = 240  # the demo county, then the second county beside it
TOWNSHIP, OTHER_TOWNSHIP, AGENT_VILLAGE = "511599100000", "511599200000", "511599100201"


@dataclass(frozen=True)
class Block:
    """One fenced block of a guide."""

    lang: str
    runnable: bool
    code: str
    line: int

    @property
    def expects(self) -> list[str]:
        """Return the texts of the block's `# expect:` lines."""
        return EXPECT.findall(self.code)


def blocks_of(path: Path) -> list[Block]:
    """Return every fenced block of a Markdown file, in order."""
    text = path.read_text(encoding="utf-8")
    out = []
    for m in FENCE.finditer(text):
        info = m.group(1).split()
        lang = info[0] if info else ""
        out.append(Block(lang, "test" in info[1:], m.group(2), text.count("\n", 0, m.start()) + 1))
    return out


def runnable(path: Path) -> list[Block]:
    """Return the runnable blocks of a guide."""
    return [b for b in blocks_of(path) if b.runnable]


INLINE_COMMENT = re.compile(r"\s{2,}# .*$")


def _code_lines(block: Block) -> list[str]:
    """Return the block's code without comments (whole-line and `  # ...` ones), expect lines kept."""
    out = []
    for line in block.code.splitlines():
        if line.lstrip().startswith("# expect:"):
            out.append(line.strip())
        elif not line.lstrip().startswith("#"):
            out.append(INLINE_COMMENT.sub("", line))
    return out


@pytest.fixture(scope="module")
def gateway_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """Serve the demo county on a free port; return the environment the guides' examples read."""
    root = tmp_path_factory.mktemp("guide") / "demo"
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log = root.parent / "demo.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith("GATEWAY_")}
    with log.open("w") as out:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gateway.demo",
                "--residents",
                "400",
                "--root",
                str(root),
                "--port",
                str(port),
                "--second-county",
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=ROOT,
        )
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            assert proc.poll() is None, "the demo exited:\n" + log.read_text()
            assert time.monotonic() < deadline, "the demo did not serve in time:\n" + log.read_text()
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        creds = {c["client_id"]: c for c in json.loads((root / "clients.json").read_text())}
        main = creds["civil-affairs"]
        token = httpx.post(
            f"{base}/oauth/token",
            data={"grant_type": "client_credentials"},
            auth=(main["client_id"], main["client_secret"]),
        ).json()["access_token"]
        headers = {"Authorization": f"Bearer {token}", "X-Purpose": main["purpose"]}

        def first(region: str) -> dict[str, str]:
            r = httpx.get(f"{base}/v1/residents", params={"region": region, "limit": 1}, headers=headers)
            assert r.status_code == 200, r.text
            item: dict[str, str] = r.json()["items"][0]
            return item

        resident, other, villager = first(TOWNSHIP), first(OTHER_TOWNSHIP), first(AGENT_VILLAGE)
        federation = json.loads((root / "county-b" / "federation.json").read_text())
        _wait_healthy(federation["url"], deadline=deadline, log=log)
        venv_bin = str(Path(sys.executable).parent)
        yield {
            **env,
            "PATH": venv_bin + os.pathsep + env.get("PATH", ""),
            "GATEWAY_URL": base,
            "CLIENT_ID": main["client_id"],
            "CLIENT_SECRET": main["client_secret"],
            "PURPOSE": main["purpose"],
            "RESIDENT_ID": resident["id"],
            "NATIONAL_ID": resident["national_id"],
            "TOWNSHIP_CLIENT_ID": "qingshan-township",
            "TOWNSHIP_CLIENT_SECRET": creds["qingshan-township"]["client_secret"],
            "OTHER_RESIDENT_ID": other["id"],
            "AUDITOR_CLIENT_ID": "auditor",
            "AUDITOR_CLIENT_SECRET": creds["auditor"]["client_secret"],
            "AGENT_CLIENT_ID": "qingshan-agent",
            "AGENT_CLIENT_SECRET": creds["qingshan-agent"]["client_secret"],
            "VILLAGE_NATIONAL_ID": villager["national_id"],
            "MOVED_NATIONAL_ID": federation["moved_national_ids"][0],
            "GATEWAY_DATABASE_URL": f"sqlite:///{(root / 'gateway.db').resolve()}",
        }
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
        _stop_second_county(root / "county-b" / "federation.json")


def _wait_healthy(base: str, *, deadline: float, log: Path) -> None:
    """Wait until a gateway answers /healthz (the second county starts beside the demo county)."""
    while True:
        assert time.monotonic() < deadline, f"{base} did not serve in time:\n" + log.read_text()
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)


def _stop_second_county(facts: Path) -> None:
    """Stop the second county's server (it also stops with its parent, on Linux)."""
    if facts.exists():
        with contextlib.suppress(ProcessLookupError):
            os.kill(int(json.loads(facts.read_text())["pid"]), signal.SIGTERM)


def test_guides_hold_the_same_runnable_examples() -> None:
    """Both guides: same blocks in the same order, each with expectations; few illustrations."""
    guides = {lang: blocks_of(path) for lang, path in GUIDES.items()}
    en, zh = (runnable(GUIDES[lang]) for lang in ("en", "zh"))
    assert len(en) >= 20, f"only {len(en)} runnable examples"
    assert [b.lang for b in en] == [b.lang for b in zh]
    for a, b in zip(en, zh, strict=True):
        assert a.lang in {"sh", "python"}, f"line {a.line}: runnable blocks are sh or python"
        assert a.expects, f"integrating.md line {a.line}: a runnable block needs a `# expect:` line"
        assert _code_lines(a) == _code_lines(b), f"en line {a.line} and zh line {b.line} differ"
    for lang, blocks in guides.items():
        illustrations = [b for b in blocks if not b.runnable]
        assert len(illustrations) <= MAX_ILLUSTRATIONS, f"{lang}: {len(illustrations)} illustrations"


def _run(block: Block, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    if block.lang == "sh":
        cmd = ["bash", "-euo", "pipefail", "-c", block.code]
    else:
        cmd = [sys.executable, "-c", block.code]
    return subprocess.run(
        cmd, env=env, cwd=cwd, capture_output=True, text=True, timeout=BLOCK_TIMEOUT, check=False
    )


@pytest.mark.parametrize("lang", list(GUIDES))
def test_every_example_runs(lang: str, gateway_env: dict[str, str], tmp_path: Path) -> None:
    """Each runnable block of the guide exits 0 and prints what its `# expect:` lines say."""
    path = GUIDES[lang]
    failures = []
    for block in runnable(path):
        out = _run(block, gateway_env, tmp_path)
        where = f"{path.name} line {block.line} ({block.lang})"
        if out.returncode != 0:
            failures.append(f"{where}: exit {out.returncode}\n{out.stdout}\n{out.stderr}")
            continue
        for text in block.expects:
            wanted = string.Template(text).safe_substitute(gateway_env)
            if wanted not in out.stdout:
                failures.append(f"{where}: expected {wanted!r} in\n{out.stdout}\n{out.stderr}")
    assert not failures, "\n\n".join(failures)
