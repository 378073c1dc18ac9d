"""Row of the issue-20 list: a push of 100 civil-affairs records (records/s = req/s × 100).

Every push carries a fresh Idempotency-Key and changes each record's phone number, so each one is a
real write (translated, linked, stored, change-logged and audited) and never the replay of an earlier
answer. The records are 2,000 synthetic residents in 20 blocks of 100, pushed block after block: the
first round creates them, every later one updates them. The wrk script builds each body from its
block's template; the first three requests (the server check) are the same pushes written out.
One connection: concurrent pushes each hold SQLite's write lock for a whole batch, and the audit
writer then fails with "database is locked" (seen with 4).
"""

from __future__ import annotations

import random
import secrets

import orjson

from bench import rowkit
from bench.load import lua_rotation
from bench.scenarios import Fixture, Request, Scenario, register

BATCH = 100
BLOCKS = 20
_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"
_PHONE = "__PHONE__"  # replaced per push by a 9-digit counter


def _citizen_id(rng: random.Random, *, seen: set[str]) -> str:
    # Issued by a neighbouring county (511502), so no number is one the store's residents hold already.
    while True:
        first17 = f"511502{rng.randint(1940, 2005)}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}"
        first17 += f"{rng.randint(0, 999):03d}"
        number = first17 + _CHECK[sum(int(c) * w for c, w in zip(first17, _WEIGHTS, strict=True)) % 11]
        if number not in seen:
            seen.add(number)
            return number


def _blocks(fx: Fixture) -> list[str]:
    """Return each block's push body with the phone numbers left as a placeholder."""
    rng = random.Random(2026)
    seen: set[str] = set()
    out = []
    for b in range(BLOCKS):
        rows = []
        for i in range(BATCH):
            village = rng.choice(fx.village_codes)
            nid = _citizen_id(rng, seen=seen)
            rows.append(
                {
                    "JMID": f"BJ{b:03d}{i:05d}",
                    "XM": "王" + rng.choice("建国华明丽芳军伟敏静"),
                    "SFZHM": nid,
                    "XB": "1" if int(nid[16]) % 2 else "2",
                    "CSRQ": nid[6:14],
                    "MZ": "01",
                    "HH": f"HB{b:03d}{i // 4:05d}",
                    "YHZGX": "01" if i % 4 == 0 else "02",
                    "XZQHDM": village,
                    "HJDZ": f"四川省宜宾市示范县{village[-3:]}村{i % 12 + 1}组{i + 1}号",
                    "LXDH": f"13{_PHONE}",
                    "RYZT": "1",
                    "GXSJ": "2026-11-02 09:30:00",
                }
            )
        out.append(orjson.dumps({"T_HJ_JMXX": rows}).decode())
    return out


def _first(fx: Fixture) -> list[Request]:
    prefix = secrets.token_hex(6)
    return [
        Request(
            "/v1/ingest/civil_affairs",
            method="POST",
            headers={"Content-Type": "application/json", "Idempotency-Key": f"check-{prefix}-{n}"},
            body=body.replace(_PHONE, f"{n:09d}"),
        )
        for n, body in enumerate(_blocks(fx)[:3])
    ]


def _lua(fx: Fixture) -> str:
    # The generated rotation's header and body quoting, with a request() that fills each push in.
    spec = [Request("/v1/ingest/civil_affairs", method="POST", body=b) for b in _blocks(fx)]
    head = lua_rotation(
        spec, headers={**rowkit.headers(fx, rowkit.PUSHER), "Content-Type": "application/json"}
    )
    head = head[: head.index("local reqs, i, threads")]
    return head + _LUA_TAIL


_LUA_TAIL = """\
local n, prefix, threads = 0, "", 0
setup = function(thread) thread:set("id", threads); threads = threads + 1 end
init = function(args)
  for k, v in pairs(common) do wrk.headers[k] = v end
  local id = tonumber(wrk.thread:get("id")) or 0
  math.randomseed(os.time() + id)
  prefix = string.format("%x-%d-%x", os.time(), id, math.random(1, 2^30))
end
request = function()
  n = n + 1
  local s = spec[(n - 1) % #spec + 1]
  local body = string.gsub(s[4], "__PHONE__", string.format("%09d", n % 1000000000))
  wrk.headers["Idempotency-Key"] = prefix .. "-" .. n
  return wrk.format(s[1], s[2], wrk.headers, body)
end
"""

register(
    Scenario(
        name="ingest",
        title=f"`POST /v1/ingest/civil_affairs` ({BATCH} records a push: records/s = req/s × {BATCH})",
        requests=_first,
        lua=_lua,
        env=rowkit.env,
        headers=lambda fx: rowkit.headers(fx, rowkit.PUSHER),
        connections=1,
        order=50,
        notes="each push a fresh Idempotency-Key and new phone numbers, so every record is written; one "
        "connection, a department pushing its batches in turn",
    )
)
