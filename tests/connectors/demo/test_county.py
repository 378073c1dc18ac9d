"""The demo-county generator: deterministic, scalable, in the sources' formats, with every quirk."""

from __future__ import annotations

import csv
import datetime as dt
import email.utils
import io
import json
import os
import random
import re
import sqlite3
import subprocess
import sys
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import orjson
import pytest
from defusedxml import ElementTree

from connectors.demo import CountyManifest, generate_county, load_manifest
from connectors.demo.county import _write_parts
from connectors.demo.gazetteer import build_gazetteer
from connectors.demo.quirks import QUIRKS

REPO = Path(__file__).resolve().parents[3]
REGISTER_HEADER = (
    "序号,姓名,身份证号码,性别,户籍所在村,村代码,务工省份,务工城市,外出时间,返乡时间,联系电话,登记日期"
)
GOV = "{urn:example:gov-notice:1}"
WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
REASONS = {"invalid_id", "missing_id", "unknown_village", "unrecoverable_id", "ambiguous_village"}
HR_KEYS = [
    "personId",
    "idCardNo",
    "name",
    "gender",
    "birthDate",
    "phone",
    "regionCode",
    "employment",
    "insurances",
    "updatedAt",
]


def normalise_id(raw: str) -> str | None:
    """Return the valid 18-character form of an ID as written by a source, or None (own oracle)."""
    raw = raw.strip().upper()
    if re.fullmatch(r"\d{15}", raw):
        raw = raw[:6] + "19" + raw[6:]
        raw += "10X98765432"[sum(int(c) * w for c, w in zip(raw, WEIGHTS, strict=True)) % 11]
    if not re.fullmatch(r"\d{17}[\dX]", raw):
        return None
    if raw[17] != "10X98765432"[sum(int(c) * w for c, w in zip(raw[:17], WEIGHTS, strict=True)) % 11]:
        return None
    try:
        dt.date(int(raw[6:10]), int(raw[10:12]), int(raw[12:14]))
    except ValueError:
        return None
    return raw


@pytest.fixture(scope="module")
def county(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, CountyManifest]:
    """Generate one 2,000-resident county for the module."""
    out = tmp_path_factory.mktemp("county")
    return out, generate_county(out, residents=2000)


def ca_rows(out: Path) -> list[dict[str, str]]:
    """Read T_HJ_JMXX as dicts."""
    db = sqlite3.connect(out / "civil_affairs.sqlite")
    db.row_factory = sqlite3.Row
    rows = [dict(r) for r in db.execute("SELECT * FROM T_HJ_JMXX ORDER BY JMID")]
    db.close()
    return rows


def hr_items(out: Path) -> list[dict[str, Any]]:
    """Read hr_api/persons.jsonl."""
    return [orjson.loads(line) for line in (out / "hr_api" / "persons.jsonl").read_bytes().splitlines()]


def register_rows(out: Path) -> dict[str, list[dict[str, str]]]:
    """Read every month's register (GBK) as dicts, by file name."""
    return {
        p.name: list(csv.DictReader(io.StringIO(p.read_bytes().decode("gbk"))))
        for p in sorted(out.glob("hr_migrant_register_*.csv"))
    }


def broken_keys(manifest: CountyManifest) -> dict[tuple[str, str], str]:
    """Map (source, key) to the reason for every deliberately broken record."""
    return {(b.source, b.key): b.reason for b in manifest.broken}


def test_same_seed_gives_byte_identical_files(county: tuple[Path, CountyManifest], tmp_path: Path) -> None:
    out, _ = county
    again = generate_county(tmp_path / "again", residents=2000)
    files = sorted(p.relative_to(out) for p in out.rglob("*") if p.is_file())
    assert files == sorted(
        p.relative_to(tmp_path / "again") for p in (tmp_path / "again").rglob("*") if p.is_file()
    )
    for rel in files:
        assert (out / rel).read_bytes() == (tmp_path / "again" / rel).read_bytes(), rel
    assert again == load_manifest(out)
    other = generate_county(tmp_path / "other", residents=2000, seed=7)
    assert (tmp_path / "other" / "hr_api" / "persons.jsonl").read_bytes() != (
        out / "hr_api" / "persons.jsonl"
    ).read_bytes()
    assert other.seed == 7


def test_output_does_not_depend_on_the_process(tmp_path: Path) -> None:
    script = "import sys; from pathlib import Path; from connectors.demo import generate_county; "
    script += "generate_county(Path(sys.argv[1]), residents=300, seed=11)"
    env = os.environ | {"PYTHONHASHSEED": "12345"}
    subprocess.run([sys.executable, "-c", script, str(tmp_path / "child")], check=True, env=env, cwd=REPO)
    generate_county(tmp_path / "here", residents=300, seed=11)
    for path in sorted((tmp_path / "here").rglob("*.*")):
        assert path.read_bytes() == (tmp_path / "child" / path.relative_to(tmp_path / "here")).read_bytes()


def test_each_source_draws_from_its_own_streams(tmp_path: Path) -> None:
    generate_county(tmp_path / "all", residents=400, seed=3)
    gazetteer = build_gazetteer(400, rng=random.Random("3:gazetteer"))
    _write_parts(tmp_path / "hr", parts=("hr",), gazetteer=gazetteer, residents=400, seed=3, months=2)
    for rel in ("hr_api/persons.jsonl", "hr_migrant_register_2026-10.csv"):
        assert (tmp_path / "all" / rel).read_bytes() == (tmp_path / "hr" / rel).read_bytes()


def test_size_scales_with_residents(tmp_path: Path) -> None:
    small = generate_county(tmp_path / "s", residents=300, months=3)
    large = generate_county(tmp_path / "l", residents=12_000, months=2)
    assert small.counts["civil_affairs.sqlite:T_HJ_JMXX"] == 300
    assert large.counts["civil_affairs.sqlite:T_HJ_JMXX"] == 12_000
    assert len(ca_rows(tmp_path / "l")) == 12_000
    assert large.counts["gazetteer.csv"] > small.counts["gazetteer.csv"]
    ratio = large.counts["hr_api/persons.jsonl"] / small.counts["hr_api/persons.jsonl"]
    assert 25 < ratio < 60
    assert small.months == ["2026-08", "2026-09", "2026-10"]
    assert sorted(p.name for p in (tmp_path / "s").glob("hr_migrant_register_*.csv")) == [
        f"hr_migrant_register_{m}.csv" for m in small.months
    ]
    assert large.counts["publicity_feed.xml"] >= 20
    levels = Counter(
        r["level"] for r in csv.DictReader((tmp_path / "s" / "gazetteer.csv").open(encoding="utf-8"))
    )
    assert levels["township"] >= 2 and levels["village"] >= 6


def test_gazetteer_codes_follow_the_rules(county: tuple[Path, CountyManifest]) -> None:
    out, manifest = county
    rows = list(csv.DictReader((out / "gazetteer.csv").open(encoding="utf-8")))
    by_code = {r["code"]: r for r in rows}
    assert by_code["511599000000"]["name"] == "示范县"
    assert by_code["511500000000"]["parent_code"] == "510000000000"
    for r in rows:
        if r["level"] == "township":
            assert re.fullmatch(r"511599[12]\d\d000", r["code"])
            assert r["name"].endswith("镇" if r["code"][6] == "1" else "乡")
        if r["level"] == "village":
            assert by_code[r["parent_code"]]["level"] == "township"
            assert r["code"][:9] == r["parent_code"][:9]
            number = int(r["code"][9:])
            assert r["name"].endswith("社区") if number < 200 else r["name"].endswith("村")
    names = Counter(r["name"] for r in rows if r["level"] == "village")
    duplicates = sorted(n for n, c in names.items() if c > 1)
    assert len(duplicates) >= 2 and duplicates == manifest.duplicate_village_names


def test_civil_affairs_ddl_matches_the_sample(county: tuple[Path, CountyManifest], samples: Path) -> None:
    out, _ = county

    def ddl(path: Path) -> list[tuple[str, str]]:
        db = sqlite3.connect(path)
        found = list(db.execute("SELECT name, sql FROM sqlite_master WHERE type='table' ORDER BY name"))
        db.close()
        return found

    assert ddl(out / "civil_affairs.sqlite") == ddl(samples / "civil_affairs.sqlite")


def test_reference_files_match_the_samples(county: tuple[Path, CountyManifest], samples: Path) -> None:
    out, _ = county
    assert (out / "ethnicity.csv").read_bytes() == (samples / "ethnicity.csv").read_bytes()
    sample = orjson.loads((samples / "hr_api" / "persons_page1.json").read_bytes())["data"]["items"][0]
    assert list(sample) == HR_KEYS
    services = json.loads((out / "hr_api" / "services.json").read_text("utf-8"))
    sample_services = json.loads((samples / "hr_api" / "services.json").read_text("utf-8"))
    assert set(services) == set(sample_services) == {"code", "msg", "data"}
    assert list(services["data"]["items"][0]) == list(sample_services["data"]["items"][0])


def test_civil_affairs_rows_are_plausible(county: tuple[Path, CountyManifest]) -> None:
    out, _ = county
    rows = ca_rows(out)
    households = defaultdict(list)
    for r in rows:
        households[r["HH"]].append(r)
        assert r["RYZT"] in {"1", "2", "3"}
        assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", r["GXSJ"])
    assert {r["YHZGX"] for r in rows} >= {"02", "10", "20", "30", "40", "50"}
    assert all(sum(m["YHZGX"] in {"02", "01"} for m in ms) == 1 for ms in households.values())
    ref = dt.date(2026, 11, 1)

    def age(r: dict[str, str]) -> int:
        return (ref - dt.date(int(r["CSRQ"][:4]), int(r["CSRQ"][4:6]), int(r["CSRQ"][6:]))).days // 365

    dated = [r for r in rows if r["CSRQ"] not in {"", "00000000"}]
    assert all(age(r) < 16 for r in dated if r["YHZGX"] == "40")
    assert any(len(households[r["HH"]]) == 1 and age(r) >= 60 for r in dated)
    db = sqlite3.connect(out / "civil_affairs.sqlite")
    enrolments = list(db.execute("SELECT JZLX, JE, KSRQ, JSRQ, ZT, JMID FROM T_JZ_DBXX"))
    assert len(list(db.execute("SELECT * FROM T_FW_FWSX"))) >= 5
    db.close()
    assert {e[0] for e in enrolments} == {"01", "02", "03", "04", "05"}
    assert all(re.fullmatch(r"\d+\.\d\d", e[1]) for e in enrolments)
    assert all((e[3] == "") == (e[4] == "1") for e in enrolments)
    assert {e[5] for e in enrolments} <= {r["JMID"] for r in rows}


def test_every_quirk_is_present(county: tuple[Path, CountyManifest]) -> None:
    out, manifest = county
    expected = {v for name, (_, variants) in QUIRKS.items() for v in (variants or (name,))}
    expected |= {
        "reg_repeat_person",
        "reg_city_changed",
        "reg_returned_added",
        "rss_expired",
        "rss_edited_repeat",
    }
    expected |= {f"reg_date_{form}" for form in ("slash", "dash", "cn_month", "dot")}
    assert {name for name, n in manifest.quirks.items() if n > 0} >= expected
    assert {b.reason for b in manifest.broken} == REASONS

    rows = ca_rows(out)
    names = [r["XM"] for r in rows]
    assert any(n != n.strip(" ") and "\u3000" not in n for n in names)
    assert any("\u3000" in n for n in names)
    assert {"·", "•", "."} <= {c for n in names for c in n if c in "·•."}
    ids = [r["SFZHM"] for r in rows]
    assert any(len(i) == 15 for i in ids) and any(i.endswith("x") for i in ids) and "" in ids
    assert {"", "00000000"} <= {r["CSRQ"] for r in rows}
    phones = [r["LXDH"] for r in rows]
    assert "无" in phones and any("-" in p and " " in p for p in phones)
    assert any(re.fullmatch("[０-９]{11}", p) for p in phones)
    assert any(re.fullmatch(r"\d{3} \d{4} \d{4}", p) for p in phones)
    assert "01" in {r["YHZGX"] for r in rows}

    items = hr_items(out)
    assert any(i["employment"] and i["employment"]["status"] == "MIGRANT" for i in items)
    by_id = {r["SFZHM"]: r for r in rows}
    assert any(i["idCardNo"] in by_id and i["phone"] != by_id[i["idCardNo"]]["LXDH"] for i in items)

    registers = register_rows(out)
    cells = [r for rs in registers.values() for r in rs]
    assert any(r["身份证号码"] == "5.11599E+17" for r in cells)
    assert any(len(r["身份证号码"]) == 15 for r in cells)
    dates = [r["外出时间"] for r in cells]
    for pattern in (r"\d{4}/\d{1,2}/\d{1,2}", r"\d{4}-\d\d-\d\d", r"\d{4}年\d{1,2}月", r"\d{4}\.\d{1,2}"):
        assert any(re.fullmatch(pattern, d) for d in dates), pattern
    months = list(registers.values())
    first = {r["身份证号码"]: r for r in months[0]}
    later = [(first[r["身份证号码"]], r) for r in months[1] if r["身份证号码"] in first]
    assert len(later) > 10
    assert any(a["务工城市"] != b["务工城市"] for a, b in later)
    assert any(not a["返乡时间"] and b["返乡时间"] for a, b in later)

    feed = (out / "publicity_feed.xml").read_text("utf-8")
    for needle in ("<script>", "javascript:", '<iframe src="http', '<img src="http'):
        assert needle in feed
    assert re.search(r"<[^>]+\son\w+=", feed)


def test_register_is_gbk_with_the_exact_header(county: tuple[Path, CountyManifest]) -> None:
    out, manifest = county
    files = sorted(out.glob("hr_migrant_register_*.csv"))
    assert [f.name for f in files] == [f"hr_migrant_register_{m}.csv" for m in manifest.months]
    for file in files:
        raw = file.read_bytes()
        with pytest.raises(UnicodeDecodeError):
            raw.decode("utf-8")
        text = raw.decode("gbk")
        assert text.split("\r\n", 1)[0] == REGISTER_HEADER
        rows = list(csv.DictReader(io.StringIO(text)))
        assert [int(r["序号"]) for r in rows] == list(range(1, len(rows) + 1))
        assert {r["性别"] for r in rows} <= {"男", "女"}


def test_register_village_quirks_are_resolvable_or_declared(county: tuple[Path, CountyManifest]) -> None:
    out, manifest = county
    villages = defaultdict(list)
    for r in csv.DictReader((out / "gazetteer.csv").open(encoding="utf-8")):
        if r["level"] == "village":
            villages[r["name"]].append(r["code"])
    broken = broken_keys(manifest)
    seen = Counter()
    for name, rows in register_rows(out).items():
        for r in rows:
            reason = broken.get(("hr_migrant_register", f"{name}#{r['序号']}"))
            if r["村代码"]:
                assert r["村代码"] in villages[r["户籍所在村"]]
                continue
            matches = len(villages.get(r["户籍所在村"], []))
            kind = (
                "resolvable" if matches == 1 else "unknown_village" if matches == 0 else "ambiguous_village"
            )
            seen[kind] += 1
            if kind != "resolvable":
                assert reason == kind
    assert seen["resolvable"] and seen["unknown_village"] and seen["ambiguous_village"]


def test_feed_is_valid_rss(county: tuple[Path, CountyManifest]) -> None:
    out, manifest = county
    root = ElementTree.parse(out / "publicity_feed.xml").getroot()
    assert root.tag == "rss" and root.get("version") == "2.0"
    items = root.findall("./channel/item")
    assert len(items) == manifest.counts["publicity_feed.xml"]
    latest: dict[str, dt.datetime] = {}
    repeated = expired = 0
    for item in items:
        published = email.utils.parsedate_to_datetime(item.findtext("pubDate") or "")
        assert published.utcoffset() == dt.timedelta(hours=8)
        assert item.findtext("category") in {"政策宣传", "通知公告", "便民服务", "应急预警"}
        assert all(re.fullmatch(r"\d{12}", r.text or "") for r in item.findall(f"{GOV}region"))
        audiences = [a.text for a in item.findall(f"{GOV}audience")]
        assert audiences and set(audiences) <= {"全体村民", "老年人", "务工人员", "学生家长"}
        expires = item.findtext(f"{GOV}expires")
        if expires and dt.datetime.fromisoformat(expires) < dt.datetime(2026, 11, 1, tzinfo=published.tzinfo):
            expired += 1
        guid = item.findtext("guid") or ""
        if guid in latest:
            repeated += 1
            assert published > latest[guid]
        latest[guid] = published
        assert item.findtext("link", "").startswith("https://")
    assert repeated and expired


def test_valid_ids_for_every_record_not_declared_broken(county: tuple[Path, CountyManifest]) -> None:
    out, manifest = county
    broken = broken_keys(manifest)
    checked = 0
    for r in ca_rows(out):
        reason = broken.get(("civil_affairs", r["JMID"]))
        number = normalise_id(r["SFZHM"])
        if reason is None:
            assert number is not None and number[:6] == "511599", r
            assert (int(number[16]) % 2 == 1) == (r["XB"] == "1"), r
            if r["CSRQ"] not in {"", "00000000"}:
                assert number[6:14] == r["CSRQ"]
            checked += 1
        else:
            assert number is None and (reason == "missing_id") == (r["SFZHM"] == "")
    for item in hr_items(out):
        assert len(item["idCardNo"]) == 18 and item["updatedAt"].endswith("+08:00")
        reason = broken.get(("hr_api", item["personId"]))
        assert (normalise_id(item["idCardNo"]) is None) == (reason is not None), item
    for name, rows in register_rows(out).items():
        for r in rows:
            reason = broken.get(("hr_migrant_register", f"{name}#{r['序号']}"))
            valid = normalise_id(r["身份证号码"]) is not None
            assert valid == (reason not in {"invalid_id", "unrecoverable_id"}), r
    assert checked > 1900


def test_manifest_keys_exist_in_the_files(county: tuple[Path, CountyManifest]) -> None:
    out, manifest = county
    assert manifest == load_manifest(out)
    jmids = {r["JMID"] for r in ca_rows(out)}
    person_ids = {i["personId"] for i in hr_items(out)}
    rows = {f"{n}#{r['序号']}" for n, rs in register_rows(out).items() for r in rs}
    for b in manifest.broken:
        assert b.reason in REASONS
        assert b.key in {"civil_affairs": jmids, "hr_api": person_ids, "hr_migrant_register": rows}[b.source]
    assert len(broken_keys(manifest)) == len(manifest.broken)
    share = sum(b.source == "civil_affairs" for b in manifest.broken) / manifest.residents
    assert 0.003 < share < 0.05


def test_the_named_places_match_the_samples(county: tuple[Path, CountyManifest], samples: Path) -> None:
    """The places clients, policies and guides name (青山镇, 青山村, …) carry the samples' codes and names."""
    out, _ = county

    def names(path: Path) -> dict[str, str]:
        return {r["code"]: r["name"] for r in csv.DictReader(path.open(encoding="utf-8"))}

    demo, sample = names(out / "gazetteer.csv"), names(samples / "gazetteer.csv")
    for code in ("511599100000", "511599100201", "511599101000", "511599200000"):
        assert demo[code] == sample[code], code
    assert list(demo.values()).count("青山村") == 1
