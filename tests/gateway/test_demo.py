"""`make demo`: the printed curl line answers 200 with a resident, served from the synced demo county."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.support.pgcluster import free_port


def test_demo_serves_and_its_curl_line_answers(tmp_path: Path) -> None:
    port = free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gateway.demo",
            "--residents",
            "600",
            "--root",
            str(tmp_path / "demo"),
            "--port",
            str(port),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert proc.stdout is not None
        lines: list[str] = []
        deadline = time.monotonic() + 180
        curl = None
        while time.monotonic() < deadline and curl is None:
            line = proc.stdout.readline()
            if not line:
                break
            lines.append(line)
            if line.startswith("curl "):
                curl = line.strip()
        assert curl is not None, "".join(lines)
        while time.monotonic() < deadline:
            assert proc.poll() is None, "the demo server exited: " + proc.stdout.read()
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        out = subprocess.run(
            ["bash", "-c", curl + " -w '\\n%{http_code}'"], capture_output=True, text=True, timeout=30
        )
        body, status = out.stdout.rsplit("\n", 1)
        assert status == "200", out.stdout + out.stderr
        resident = json.loads(body)
        assert resident["id"] == curl.rsplit("/", 1)[1]
        assert resident["name"] and resident["region_code"].startswith("511599")
        creds = json.loads((tmp_path / "demo" / "clients.json").read_text())
        assert {c["client_id"] for c in creds} == {
            "civil-affairs",
            "hr",
            "publicity",
            "qingshan-township",
            "auditor",
            "qingshan-agent",
        }
    finally:
        proc.terminate()
        proc.wait(timeout=20)
