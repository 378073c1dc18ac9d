"""A generated demo county end to end: what the generator broke on purpose is exactly what is held back."""

from __future__ import annotations

from pathlib import Path

import orjson
from pydantic import SecretStr
from sqlalchemy import Engine, text

from connectors.civil_affairs import CivilAffairsConnector, CivilAffairsSettings
from connectors.demo import CountyManifest
from connectors.demo.fake_hr import FakeHrServer
from connectors.gazetteer import GazetteerConnector, GazetteerSettings
from connectors.hr_api import HrApiConnector, HrApiSettings
from connectors.hr_migrant_register import MigrantRegisterConnector, RegisterSettings
from connectors.publicity import PublicityConnector, PublicitySettings
from connectors.sdk.runner import run_connectors
from connectors.sdk.testing import TODAY
from schemas.models import Resident
from tests.connectors.conftest import HR_KEY

WAITING = frozenset({"unknown_resident", "resident_held_back"})


def test_broken_records_are_exactly_the_held_back(
    county: tuple[Path, CountyManifest], county_hr: FakeHrServer, store: Engine
) -> None:
    """Every declared broken record is quarantined with its reason (missing_id: needs_review), no other."""
    out, manifest = county
    county_hr.reset()
    report = run_connectors(
        store,
        [
            GazetteerConnector(GazetteerSettings(path=out / "gazetteer.csv")),
            CivilAffairsConnector(
                CivilAffairsSettings(url=SecretStr(f"sqlite:///{out / 'civil_affairs.sqlite'}"))
            ),
            HrApiConnector(HrApiSettings(base_url=county_hr.url, api_key=SecretStr(HR_KEY), page_size=200)),
            MigrantRegisterConnector(RegisterSettings(directory=out)),
            PublicityConnector(PublicitySettings(url=str(out / "publicity_feed.xml"))),
        ],
        today=TODAY,
    )
    assert report.ok, [s.error for s in report.sources]
    with store.connect() as conn:
        held = {
            (s, k): (r, orjson.loads(raw))
            for s, k, r, raw in conn.execute(text("SELECT source, record_key, reason, raw FROM quarantine"))
        }
        review = {
            (s, k)
            for s, k in conn.execute(
                text(
                    "SELECT rs.source, rs.record_key FROM resident_source rs "
                    "JOIN resident r ON r.id = rs.resident_id "
                    "WHERE r.needs_review AND r.national_id IS NULL"
                )
            )
        }
        docs = [Resident.model_validate_json(d) for (d,) in conn.execute(text("SELECT doc FROM resident"))]
    declared = {(b.source, b.key): b.reason for b in manifest.broken}
    assert {k for k, r in declared.items() if r == "missing_id"} == review
    assert {k: r for k, r in declared.items() if r != "missing_id"} == {
        k: r for k, (r, _) in held.items() if r not in WAITING
    }
    # An enrolment of a person held back waits for it (resident_held_back), never lost.
    for (source, _key), (reason, raw) in ((k, v) for k, v in held.items() if v[0] in WAITING):
        assert reason == "resident_held_back" and declared.get((source, raw["JMID"])) == "invalid_id"
    assert set(manifest.quirks) >= {"reg_ambiguous_village", "ca_legacy_15_id", "rss_script"}
    assert any(r.status.value == "active" and "left_behind_child" in {t.value for t in r.tags} for r in docs)
    assert sum(s.read for s in report.sources) == sum(
        manifest.counts[k] for k in manifest.counts if k != "ethnicity.csv"
    )
