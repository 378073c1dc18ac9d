"""docs/integrating.md and docs/integrating.zh.md: every runnable example works against a live gateway.

Conventions of the two guides (kept here so authors know what the test does):

- A fenced block opened with ```` ```sh test ```` or ```` ```python test ```` is runnable; a plain
  ```` ```sh ```` (or any other fence) is an illustration and is not run. Keep illustrations few (at most
  ``MAX_ILLUSTRATIONS`` a guide).
- A runnable block holds one or more ``# expect: TEXT`` lines. The block must exit 0 and its standard
  output must contain every TEXT; ``$VAR`` / ``${VAR}`` in TEXT are replaced by the environment
  variables below before comparing.
- The blocks run literally, as pasted into one terminal: ``sh`` blocks with ``bash -euo pipefail -c
  BLOCK``, each starting from the environment and directory the previous ``sh`` block ended in
  (``export`` and ``cd`` carry over); ``python`` blocks with this venv's python (the minimum
  supported Python) in that environment and directory. Each has a 30 s timeout.
- The first runnable block is the guide's setup: from the directory holding ``var/demo`` (standing
  for the checkout) it sources ``var/demo/env.sh``, which sets GATEWAY_URL, the demo clients
  (CLIENT_*, TOWNSHIP_CLIENT_*, AUDITOR_CLIENT_*, AGENT_CLIENT_*, ...), PURPOSE, RESIDENT_ID,
  NATIONAL_ID, OTHER_RESIDENT_ID, VILLAGE_NATIONAL_ID, the operator settings (GATEWAY_DATABASE_URL,
  ...) and PATH, and moves to a scratch directory; nothing may be written into the checkout.
- Both guides hold the same runnable examples: the same blocks in the same order, identical except
  for comments (whole lines, or ``  # ...`` ending a line: translated); ``# expect:`` lines are
  identical too.

The gateway is the real demo (``python -m gateway.demo --second-county``: generated county,
migrations, ``gateway sync``, the demo clients, env.sh, and the federated second county on the next
port) served on a free 127.0.0.1 port, started once for both guides and README.md's short tour.
"""

from __future__ import annotations

import json
import os
import re
import string
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.conftest import skip_or_fail
from tests.support.live import demo_command, stop_process
from tests.support.pgcluster import free_port

ROOT = Path(__file__).resolve().parents[2]
GUIDES = {"en": ROOT / "docs" / "integrating.md", "zh": ROOT / "docs" / "integrating.zh.md"}
FENCE = re.compile(r"^```([^\n]*)\n(.*?)^```[ \t]*$", re.MULTILINE | re.DOTALL)
EXPECT = re.compile(r"^[ \t]*# expect: (.+?)[ \t]*$", re.MULTILINE)
MAX_ILLUSTRATIONS = 3
BLOCK_TIMEOUT = 30
START_TIMEOUT = 240  # the demo county, then the second county beside it


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
    return blocks_of_text(path.read_text(encoding="utf-8"))


def blocks_of_text(text: str) -> list[Block]:
    """Return every fenced block of a Markdown text, in order."""
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


@dataclass(frozen=True)
class Demo:
    """A live demo: the directory standing for the checkout (it holds var/demo) and its base URL."""

    checkout: Path
    base: str
    shell_env: dict[str, str]  # a fresh shell's environment: no GATEWAY_*, TMPDIR in the test's tmp


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    """Serve the demo county on a free port as `make demo` does; wait for its ready block."""
    checkout = tmp_path_factory.mktemp("checkout")
    scratch = tmp_path_factory.mktemp("scratch")
    port = free_port()
    log = checkout.parent / "demo.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith("GATEWAY_")}
    # The federation section asks for the second county (gateway/federation/demo.py).
    cmd = [*demo_command(port), "--second-county"]
    with log.open("w") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=checkout)
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while "is READY" not in log.read_text():
            assert proc.poll() is None, "the demo exited:\n" + log.read_text()
            assert time.monotonic() < deadline, "the demo did not serve in time:\n" + log.read_text()
            time.sleep(0.2)
        county_b = json.loads((checkout / "var/demo/county-b/federation.json").read_text())["url"]
        while not _healthy(county_b):
            assert time.monotonic() < deadline, "the second county did not serve in time:\n" + log.read_text()
            time.sleep(0.2)
        yield Demo(checkout, f"http://127.0.0.1:{port}", {**env, "TMPDIR": str(scratch)})
    finally:
        stop_process(proc, grace=20)


def _healthy(base: str) -> bool:
    try:
        return httpx.get(f"{base}/healthz", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


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


class Shell:
    """One terminal session: each sh block runs in bash from the environment and directory the last left."""

    def __init__(self, env: dict[str, str], cwd: Path, state: Path) -> None:
        self.env, self.cwd, self.state = dict(env), cwd, state

    def run(self, block: Block) -> subprocess.CompletedProcess[str]:
        """Run a block literally; a sh block's exports and `cd` carry over to the next block."""
        if block.lang != "sh":
            return subprocess.run(
                [sys.executable, "-c", block.code], env=self.env, cwd=self.cwd, capture_output=True,
                text=True, timeout=BLOCK_TIMEOUT, check=False,
            )  # fmt: skip
        script = block.code + '\nprintf "%s\\0" "$PWD" > "$GUIDE_STATE"; env -0 >> "$GUIDE_STATE"\n'
        out = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", script], env={**self.env, "GUIDE_STATE": str(self.state)},
            cwd=self.cwd, capture_output=True, text=True, timeout=BLOCK_TIMEOUT, check=False,
        )  # fmt: skip
        if out.returncode == 0:
            cwd, *pairs = self.state.read_text().split("\0")
            self.cwd = Path(cwd)
            self.env = dict(p.split("=", 1) for p in pairs if "=" in p and not p.startswith("GUIDE_STATE="))
        return out


def test_the_guides_run_under_the_minimum_python() -> None:
    """The python blocks and the heredocs of the guides run with the oldest Python the project supports."""
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    minimum = tuple(int(n) for n in re.search(r'requires-python = ">=(\d+)\.(\d+)"', pyproject).groups())  # type: ignore[union-attr]
    if sys.version_info[:2] != minimum:
        skip_or_fail(f"the guides are checked under Python {minimum}, this is {sys.version_info[:2]}")


@pytest.mark.parametrize("lang", list(GUIDES))
def test_every_example_runs(lang: str, demo: Demo, tmp_path: Path) -> None:
    """Each runnable block, setup included, exits 0 and prints what its `# expect:` lines say."""
    path = GUIDES[lang]
    before = sorted(p.name for p in demo.checkout.iterdir())
    shell = Shell(demo.shell_env, demo.checkout, tmp_path / "shell-state")
    failures = []
    for block in runnable(path):
        out = shell.run(block)
        where = f"{path.name} line {block.line} ({block.lang})"
        if out.returncode != 0:
            failures.append(f"{where}: exit {out.returncode}\n{out.stdout}\n{out.stderr}")
            continue
        for text in block.expects:
            wanted = string.Template(text).safe_substitute(shell.env)
            if wanted not in out.stdout:
                failures.append(f"{where}: expected {wanted!r} in\n{out.stdout}\n{out.stderr}")
    assert not failures, "\n\n".join(failures)
    assert shell.env["GATEWAY_URL"] == demo.base and shell.cwd != demo.checkout
    assert sorted(p.name for p in demo.checkout.iterdir()) == before, "the examples wrote into the checkout"


def test_the_readme_tour_runs_as_pasted(demo: Demo) -> None:
    """README.md's short tour, pasted into a shell beside a running demo, finds the resident it names."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    tour = text.split("## A short tour", 1)[1].split("\n## ", 1)[0]
    (block,) = [b for b in blocks_of_text(tour) if b.lang == "sh"]
    shell = Shell(demo.shell_env, demo.checkout, demo.checkout.parent / "tour-state")
    out = shell.run(block)
    assert out.returncode == 0, out.stdout + out.stderr
    docs, rest, decoder = [], out.stdout.strip(), json.JSONDecoder()
    while rest:
        doc, end = decoder.raw_decode(rest)
        docs.append(doc)
        rest = rest[end:].strip()
    listed, found = docs
    assert listed["items"] and all(r["region_code"].startswith("511599100") for r in listed["items"])
    assert found["id"] == shell.env["RESIDENT_ID"] and found["national_id"] == shell.env["NATIONAL_ID"]
