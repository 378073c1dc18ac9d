#!/usr/bin/env bash
# `make fuzz`: Schemathesis against a live demo gateway for a bounded time.
#
# Starts the demo (generated county, migrations, `gateway sync`, demo clients) on a free 127.0.0.1
# port, mints a token for the civil-affairs demo client, runs `schemathesis run` on /openapi.json
# with every check for FUZZ_SECONDS, stops the server. Exits non-zero on any finding.
#
# Settings (environment):
#   FUZZ_SECONDS    time budget of the Schemathesis run (default 600)
#   FUZZ_WORKERS    concurrent Schemathesis workers (default 1: on Python 3.11, ast.parse in several
#                   threads, as hypothesis does to describe strategies, fails spuriously with
#                   "AST constructor recursion depth mismatch", CPython gh-106905)
#   FUZZ_RESIDENTS  size of the demo county (default 400)
#   FUZZ_DIR        where the demo, the server log and the reports go (default var/fuzz)
#   FUZZ_ARGS       extra arguments for `schemathesis run` (e.g. "--seed 1 --phases fuzzing")
# The rate limits are raised for the run (429 is tested elsewhere; here it would only hide findings),
# and tokens live longer than the run.
set -euo pipefail

cd "$(dirname "$0")/.."
PY=.venv/bin/python
SCHEMATHESIS=.venv/bin/schemathesis
FUZZ_SECONDS=${FUZZ_SECONDS:-600}
FUZZ_WORKERS=${FUZZ_WORKERS:-1}
FUZZ_RESIDENTS=${FUZZ_RESIDENTS:-400}
FUZZ_DIR=${FUZZ_DIR:-var/fuzz}
START_SECONDS=180

[[ "$FUZZ_SECONDS" =~ ^[0-9]+$ && "$FUZZ_SECONDS" -ge 1 ]] || { echo "FUZZ_SECONDS must be a positive integer" >&2; exit 2; }
for tool in "$PY" "$SCHEMATHESIS"; do
    [[ -x "$tool" ]] || { echo "$tool is missing: run make install" >&2; exit 2; }
done

rm -rf "$FUZZ_DIR"
mkdir -p "$FUZZ_DIR"
FUZZ_DIR=$(cd "$FUZZ_DIR" && pwd)
PORT=$("$PY" -c 'from tests.support.pgcluster import free_port; print(free_port())')
BASE="http://127.0.0.1:$PORT"

# The shipped policy with generous rate limits (as tests/contract/conftest.py does for the in-process fuzz).
"$PY" - "$FUZZ_DIR/policy" <<'EOF'
import sys
from pathlib import Path

from tests.contract.conftest import generous_policy

target = generous_policy(Path(sys.argv[1]).parent)
assert target == Path(sys.argv[1]), target
EOF

# The run's configuration is the in-process suite's (tests/contract/test_fuzz.py FUZZ_CONFIG), as TOML:
# documented answers to schema-valid data that the schema cannot rule out (foreign cursors: 400; sharing
# applications judged against the live catalogue: 422).
"$PY" - "$FUZZ_DIR/schemathesis.toml" <<'EOF'
import json
import sys

from tests.contract.test_fuzz import FUZZ_CONFIG


def table(prefix: str, values: dict) -> list[str]:
    return [f"[{prefix}]"] + [f"{k} = {json.dumps(v)}" for k, v in values.items()]


lines: list[str] = []
for check, values in FUZZ_CONFIG["checks"].items():
    lines += table(f"checks.{check}", values)
for op in FUZZ_CONFIG["operations"]:
    lines += ["[[operations]]"] + [f"{k} = {json.dumps(v)}" for k, v in op.items() if k != "checks"]
    for check, values in op["checks"].items():
        lines += table(f"operations.checks.{check}", values)
open(sys.argv[1], "w").write("\n".join(lines) + "\n")
EOF

SERVER_PID=""
stop_server() {
    if [[ -n "$SERVER_PID" ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
        kill "$SERVER_PID" 2>/dev/null || true
        for _ in $(seq 1 100); do  # up to 20 s for a graceful stop
            kill -0 "$SERVER_PID" 2>/dev/null || break
            sleep 0.2
        done
        kill -9 "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
    fi
}
trap stop_server EXIT
trap 'exit 130' INT TERM

echo "fuzz: starting the demo gateway on $BASE (log: $FUZZ_DIR/server.log)"
# SERVER_PID is the demo; it stops its `gateway serve` on SIGTERM, and the server dies with it on SIGKILL.
env GATEWAY_POLICY_DIR="$FUZZ_DIR/policy" GATEWAY_TOKEN_TTL_SECONDS=$((FUZZ_SECONDS + 600 < 86400 ? FUZZ_SECONDS + 600 : 86400)) \
    "$PY" -m gateway.demo --residents "$FUZZ_RESIDENTS" --root "$FUZZ_DIR/demo" --port "$PORT" \
    >"$FUZZ_DIR/server.log" 2>&1 &
SERVER_PID=$!

deadline=$((SECONDS + START_SECONDS))
until curl -sf -o /dev/null "$BASE/healthz"; do
    if ! kill -0 "$SERVER_PID" 2>/dev/null; then
        echo "fuzz: the demo exited before serving:" >&2
        tail -n 40 "$FUZZ_DIR/server.log" >&2
        exit 2
    fi
    if ((SECONDS >= deadline)); then
        echo "fuzz: the demo did not serve within ${START_SECONDS}s" >&2
        exit 2
    fi
    sleep 0.5
done

read -r CLIENT_ID CLIENT_SECRET PURPOSE < <("$PY" -c '
import json, sys
c = {x["client_id"]: x for x in json.load(open(sys.argv[1]))}["civil-affairs"]
print(c["client_id"], c["client_secret"], c["purpose"])' "$FUZZ_DIR/demo/clients.json")
TOKEN=$(curl -sS --fail-with-body -u "$CLIENT_ID:$CLIENT_SECRET" -d grant_type=client_credentials \
    "$BASE/oauth/token" | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')

echo "fuzz: schemathesis for ${FUZZ_SECONDS}s as $CLIENT_ID (purpose $PURPOSE), reports in $FUZZ_DIR/report"
status=0
# shellcheck disable=SC2086  # FUZZ_ARGS is split on purpose
# The hooks register generators for the document's own formats (gb11643 citizen IDs).
SCHEMATHESIS_HOOKS=tests.contract.formats timeout --kill-after=30 $((FUZZ_SECONDS + 300)) \
    "$SCHEMATHESIS" --config-file "$FUZZ_DIR/schemathesis.toml" run "$BASE/openapi.json" \
    -H "Authorization: Bearer $TOKEN" -H "X-Purpose: $PURPOSE" \
    --checks all --max-time "$FUZZ_SECONDS" --workers "$FUZZ_WORKERS" \
    --request-timeout 30 --report junit --report-dir "$FUZZ_DIR/report" --no-color \
    ${FUZZ_ARGS:-} || status=$?

stop_server
if ((status != 0)); then
    echo "fuzz: schemathesis exited $status (findings above; reports in $FUZZ_DIR/report)" >&2
fi
exit "$status"
