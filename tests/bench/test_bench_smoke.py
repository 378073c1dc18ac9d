"""Smoke test of the bench harness: a quick run on a tiny county writes a report with a row per scenario.

It never asserts speed (the box is shared and noisy): only that every row was measured.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from bench.load import lua_rotation, parse_wrk
from bench.scenarios import Request, load_rows

REPO = Path(__file__).resolve().parents[2]
# | row | what | req/s | p50 ms | p99 ms | ratio to hello | ...
ROW = re.compile(r"^\| (\S+) \| .*? \| ([\d,]+) \| ([\d.]+) \| ([\d.]+) \| ([\d.]+) \|", re.M)

WRK_OUTPUT = """\
Running 3s test @ http://127.0.0.1:40000
  1 threads and 32 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     4.10ms    1.20ms  30.00ms   90.00%
    Req/Sec     7.80k   300.00     8.20k    70.00%
  Latency Distribution
     50%    3.90ms
     75%    4.40ms
     90%    5.10ms
     99%   12.50ms
  23400 requests in 3.00s, 3.10MB read
  Non-2xx or 3xx responses: 2
Requests/sec:   7800.25
Transfer/sec:      1.03MB
"""


def test_parse_wrk_reads_rate_percentiles_and_failures() -> None:
    """The wrk parser reads req/s, p50 and p99 (in ms), the request count and non-2xx responses."""
    got = parse_wrk(WRK_OUTPUT)
    assert got.rps == pytest.approx(7800.25)
    assert got.p50_ms == pytest.approx(3.9)
    assert got.p99_ms == pytest.approx(12.5)
    assert (got.requests, got.non2xx, got.errors) == (23400, 2, 0)


def test_lua_rotation_carries_every_request_and_header() -> None:
    """The generated wrk script lists each request and the shared headers."""
    script = lua_rotation(
        [Request("/v1/residents/A1"), Request("/v1/residents/B2", headers={"X-Purpose": "care"})],
        headers={"Authorization": "Bearer t"},
    )
    assert '"/v1/residents/A1"' in script and '"/v1/residents/B2"' in script
    assert '["Authorization"] = "Bearer t"' in script and '["X-Purpose"] = "care"' in script


@pytest.mark.timeout(620)
def test_quick_run_writes_a_row_per_scenario(tmp_path: Path) -> None:
    """`python -m bench --quick` on 2,000 residents reports every registered row with numbers above zero."""
    out = tmp_path / "report.md"
    client = "wrk" if shutil.which("wrk") else "python"
    cmd = [
        sys.executable, "-m", "bench", "--quick", "--residents", "2000", "--runs", "1",
        "--duration", "1", "--warmup", "0", "--client", client,
        "--work-dir", str(tmp_path / "work"), "--cache-dir", str(tmp_path / "cache"), "--out", str(out),
    ]  # fmt: skip
    # A generous deadline (a loaded 2-core box runs this in 50-200 s; the speed is bench's business, not
    # a test's), and its own session so that a timeout also stops the servers the bench started.
    with subprocess.Popen(
        cmd, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True
    ) as proc:
        try:
            _, stderr = proc.communicate(timeout=600)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            raise
    assert proc.returncode == 0, stderr[-3000:]
    text = out.read_text(encoding="utf-8")
    summary = text.split("## Every run")[0]
    rows = {m.group(1): m for m in ROW.finditer(summary)}
    names = [s.name for s in load_rows()]
    assert sorted(rows) == sorted(names)
    for name, m in rows.items():
        rps, p50, p99, ratio = (float(m.group(i).replace(",", "")) for i in range(2, 6))
        # A push of 100 records or an export of 2,000 events is well under 0.005 of hello: printed 0.00.
        assert rps > 0 and p50 > 0 and p99 > 0 and ratio >= 0, name
