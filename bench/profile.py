"""Sample a loaded server with py-spy; summarise where its CPU goes (self, inclusive, by package)."""

from __future__ import annotations

import shutil
import subprocess
import sys
import threading
from collections import Counter
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True, slots=True)
class Profile:
    """A py-spy recording of one row and its summary text."""

    raw: Path
    summary: str


def py_spy() -> str | None:
    """Return the py-spy binary of this venv (or on PATH), or None."""
    local = Path(sys.executable).with_name("py-spy")
    return str(local) if local.exists() else shutil.which("py-spy")


class Recorder:
    """Run `py-spy record` on a pid in the background for a bounded number of seconds."""

    def __init__(self, pid: int, *, seconds: int, out: Path, rate: int = 200) -> None:
        exe = py_spy()
        if exe is None:
            raise SystemExit("py-spy is not installed: .venv/bin/pip install py-spy")
        self.out = out
        # Blocking sampling (py-spy's default): --nonblocking tears stacks on a busy event loop.
        self.cmd = [exe, "record", "-p", str(pid), "-d", str(seconds), "-r", str(rate), "-f", "raw"]
        self.cmd += [
            "--nolineno",
            "--full-filenames",
            "-o",
            str(out),
        ]
        self.seconds = seconds
        self.result: subprocess.CompletedProcess[str] | None = None
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        self.result = subprocess.run(self.cmd, capture_output=True, text=True, timeout=self.seconds + 60)

    def start(self) -> Recorder:
        """Start sampling."""
        self._thread.start()
        return self

    def wait(self) -> Path:
        """Wait for py-spy to finish and return the raw (collapsed stacks) file."""
        self._thread.join(timeout=self.seconds + 90)
        if self.result is None or self.result.returncode != 0 or not self.out.exists():
            err = self.result.stderr if self.result else "py-spy did not finish"
            raise RuntimeError(f"py-spy failed: {err}")
        return self.out


_ROOTS = ("site-packages/", "/lib/python3.", str(Path(__file__).resolve().parents[1]) + "/")
# Frames every sample shares (process start-up and the loop runner): they say nothing about a request.
_BOOTSTRAP = (
    "<frozen runpy>",
    "click/",
    "uvicorn/__main__.py",
    "uvicorn/main.py",
    "uvicorn/_compat.py",
    "asyncio/runners.py",
    "uvicorn/server.py",
)


def _short(frame: str) -> str:
    """Turn 'func (/path/to/site-packages/pkg/mod.py)' into 'pkg/mod.py:func'."""
    name, _, rest = frame.rpartition(" (")
    path = rest.rstrip(")")
    for marker in _ROOTS:
        if marker in path:
            path = path.split(marker, 1)[1]
            if marker == "/lib/python3.":
                path = path.split("/", 1)[-1]
            break
    return f"{path}:{name}" if name else frame


def _package(short: str) -> str:
    path = short.split(":", 1)[0]
    head = path.split("/", 1)[0]
    return head.removesuffix(".py") if head else path


def summarise(raw: Path, *, top: int = 20) -> str:
    """Return a text summary of a py-spy raw file: total samples, top self and inclusive frames, packages."""
    self_counts: Counter[str] = Counter()
    incl: Counter[str] = Counter()
    pkg_self: Counter[str] = Counter()
    total = 0
    for line in raw.read_text(errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        frames = [_short(f) for f in stack.split(";") if f]
        if not frames:
            continue
        total += n
        self_counts[frames[-1]] += n
        pkg_self[_package(frames[-1])] += n
        for f in set(frames):
            if not f.startswith(_BOOTSTRAP):
                incl[f] += n
    if total == 0:
        return "no samples (was the server busy?)\n"

    def table(counter: Counter[str], *, title: str) -> list[str]:
        rows = [f"{title}", "  share  samples  frame"]
        rows += [f"  {c / total:6.1%} {c:8d}  {f}" for f, c in counter.most_common(top)]
        return [*rows, ""]

    lines = [f"samples: {total} (py-spy record, 200 Hz, idle stacks excluded)", ""]
    lines += table(self_counts, title="top self time (the frame on CPU):")
    lines += table(incl, title="top inclusive time (anywhere on the stack; start-up frames left out):")
    lines += table(pkg_self, title="self time by package/module:")
    return "\n".join(lines)
