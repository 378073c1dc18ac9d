"""`make demo` ends with one READY block; its env.sh makes the clients, the CLI and the worker work."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.support.live import demo_command
from tests.support.pgcluster import free_port

BAR = "=" * 78
# Each demo client of env.sh asks for a token; then civil affairs reads the resident env.sh names.
TOKENS_AND_RESIDENT = """
for c in CLIENT HR_CLIENT PUBLICITY_CLIENT TOWNSHIP_CLIENT AUDITOR_CLIENT AGENT_CLIENT; do
  id=${c}_ID secret=${c}_SECRET
  curl -s -o /dev/null -w "%{http_code} " -u "${!id}:${!secret}" \\
       -d grant_type=client_credentials "$GATEWAY_URL/oauth/token"
done; echo
TOKEN=$(curl -s -u "$CLIENT_ID:$CLIENT_SECRET" -d grant_type=client_credentials "$GATEWAY_URL/oauth/token" \\
        | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
curl -s -H "Authorization: Bearer $TOKEN" -H "X-Purpose: $PURPOSE" "$GATEWAY_URL/v1/residents/$RESIDENT_ID"
"""
# HR subscribes to published notices on the demo's allowed receiver; publicity pushes one; the worker
# of env.sh delivers it.
WEBHOOK = """
token() { curl -s -u "$1:$2" -d grant_type=client_credentials "$GATEWAY_URL/oauth/token" \\
          | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])'; }
HR=$(token "$HR_CLIENT_ID" "$HR_CLIENT_SECRET")
curl -sS --fail-with-body -o /dev/null -H "Authorization: Bearer $HR" -H "X-Purpose: $HR_CLIENT_PURPOSE" \\
     -H 'Content-Type: application/json' "$GATEWAY_URL/v1/subscriptions" \\
     -d "{\\"events\\": [\\"notice.published\\"], \\"url\\": \\"${GATEWAY_WEBHOOK_ALLOWED_URLS}hr\\"}"
PUB=$(token "$PUBLICITY_CLIENT_ID" "$PUBLICITY_CLIENT_SECRET")
curl -sS --fail-with-body -o /dev/null -H "Authorization: Bearer $PUB" -H "Idempotency-Key: demo-1" \\
     -H 'Content-Type: application/json' "$GATEWAY_URL/v1/ingest/publicity" -d '{"items": [{
       "guid": "notice-demo", "title": "关于冬季防火的通知", "description": "<p>请做好冬季防火。</p>",
       "pubDate": "Mon, 02 Nov 2026 09:00:00 +0800", "category": "通知公告",
       "gov:region": ["511599000000"], "gov:audience": ["全体村民"]}]}'
gateway worker --once
"""
# The READY block's sign-in: each staff account with its password and the code `totp` prints.
SIGN_IN = """
for pair in DASHBOARD:/dashboard/signin AUDITOR:/audit/login; do
  who=${pair%%:*} path=${pair#*:} user=${who}_USER password=${who}_PASSWORD secret=${who}_TOTP_SECRET
  curl -s -o /dev/null -w "%{http_code} " --data-urlencode "username=${!user}" \\
       --data-urlencode "password=${!password}" --data-urlencode "totp=$(totp "${!secret}")" \\
       "$GATEWAY_URL$path"
done; echo
"""
CLIENTS = {"civil-affairs", "hr", "publicity", "qingshan-township", "auditor", "qingshan-agent"}


def _in_demo_shell(command: str, *, cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run a command in a fresh shell after `source var/demo/env.sh`, as a newcomer would."""
    return subprocess.run(
        ["bash", "-euo", "pipefail", "-c", f"source var/demo/env.sh\n{command}"],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": "/usr/bin:/bin", "HOME": str(cwd)},
    )


def test_demo_says_it_is_ready_and_its_env_works(tmp_path: Path) -> None:
    """The last output is the READY block; env.sh sets working clients, residents and CLI settings."""
    port, hooks = free_port(), free_port()
    receiver = subprocess.Popen(
        [sys.executable, "-m", "gateway.demo.receiver", "--port", str(hooks)],
        stdout=subprocess.PIPE,
        text=True,
    )
    proc = subprocess.Popen(
        demo_command(port),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=tmp_path,
        # Like the documented receiver's 8765, on a free port for the test.
        env={**os.environ, "GATEWAY_WEBHOOK_ALLOWED_URLS": f"http://127.0.0.1:{hooks}/hooks/"},
    )
    try:
        block = _ready_block(proc)
        base = f"http://127.0.0.1:{port}"
        assert f"READY and serving on {base}" in block and "Ctrl-C to stop" in block
        # READY is said only once the server answers.
        assert httpx.get(f"{base}/readyz", timeout=5).status_code == 200
        _check_secrets_and_tokens(tmp_path)
        _check_sign_in(tmp_path, block=block, base=base)
        _check_cli_and_webhook(tmp_path, receiver=receiver)
    finally:
        receiver.kill()
        proc.terminate()
        proc.wait(timeout=20)


def _ready_block(proc: subprocess.Popen[str]) -> str:
    """Read the demo's output up to the READY block's closing bar; return the block."""
    assert proc.stdout is not None
    lines: list[str] = []
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline and sum(x.strip() == BAR for x in lines) < 2:
        line = proc.stdout.readline()
        assert line, "the demo exited:\n" + "".join(lines)
        lines.append(line)
    return "".join(lines).split(BAR)[1]


def _check_secrets_and_tokens(tmp_path: Path) -> None:
    """The secret files are 0600; every client of env.sh gets a token and reads the named resident."""
    root = tmp_path / "var" / "demo"
    for secret in ("env.sh", "clients.json", "staff.json", "key-encryption.key", "audit-key.pem"):
        assert (root / secret).stat().st_mode & 0o777 == 0o600, secret
    assert {c["client_id"] for c in json.loads((root / "clients.json").read_text())} == CLIENTS

    # Every client of env.sh gets a token; the named resident exists for the civil-affairs client.
    shell = _in_demo_shell(
        TOKENS_AND_RESIDENT,
        cwd=tmp_path,
    )
    assert shell.returncode == 0, shell.stderr
    statuses, resident = shell.stdout.split("\n", 1)
    assert statuses.split() == ["200"] * 6
    assert json.loads(resident)["region_code"].startswith("511599100")


def _check_sign_in(tmp_path: Path, *, block: str, base: str) -> None:
    """The READY block says how to sign in to both consoles, and what it says works (password + TOTP)."""
    assert f"{base}/dashboard/" in block and "account qingshan-li" in block
    assert f"{base}/audit/" in block and "account county-auditor" in block
    assert 'totp "$DASHBOARD_TOTP_SECRET"' in block and "otpauth://totp/" in block
    done = _in_demo_shell(SIGN_IN, cwd=tmp_path)
    assert done.returncode == 0 and done.stdout.split() == ["303", "303"], (done.stdout, done.stderr)


def _check_cli_and_webhook(tmp_path: Path, *, receiver: subprocess.Popen[str]) -> None:
    """The CLI and the webhook worker work on the demo's store with the demo's keys, quietly."""
    for command, expected in (
        ("gateway worker --once", "queued 0, delivered 0"),
        ("gateway clients list", "qingshan-agent"),
        ("gateway audit verify", "OK: store"),
    ):
        done = _in_demo_shell(command, cwd=tmp_path)
        assert done.returncode == 0 and expected in done.stdout, (command, done.stdout, done.stderr)
        assert "WARNING" not in done.stderr and "Traceback" not in done.stderr, (command, done.stderr)

    # Webhooks can be tried: the demo's allow-list admits the local receiver, the worker delivers.
    done = _in_demo_shell(WEBHOOK, cwd=tmp_path)
    assert done.returncode == 0 and "delivered 1," in done.stdout, (done.stdout, done.stderr)
    assert receiver.stdout is not None
    receiver.terminate()
    printed = receiver.communicate(timeout=20)[0]
    assert "/hooks/hr msg_" in printed and "notice.published" in printed, printed
