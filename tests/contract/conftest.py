"""Fixtures of the contract tests: a seeded demo county, demo clients with real tokens, an app."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path
from typing import Any

import yaml
from cryptography.fernet import Fernet
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import Engine

from gateway.demo.county import ClientProfile
from gateway.settings import Settings
from policies.loader import DEFAULT_DIR
from schemas.codes import Audience, Channel, Department, NoticeCategory, Tag
from schemas.models import Notice, Service
from tests.stats import data
from tests.support import callers, factories
from tests.support.callers import RECORD_READS

COUNTY, QINGSHAN_TOWN, QINGSHAN_VILLAGE = "511599000000", "511599100000", "511599100201"
LOOKUP_ID = "511599198503120415"  # the ResidentLookup example: the examples phase finds someone


VILLAGE_READS = (*RECORD_READS, "statistics:read", "changes:read")
PROFILES = {
    # A county-wide department client (民政).
    "county": ClientProfile(
        "civil-affairs",
        "civil_affairs",
        COUNTY,
        (
            *VILLAGE_READS,
            "subscriptions:write",
            "alerts:read",
            "alerts:write",
            "appeals:read",
            "appeals:write",
            # Push ingest is fuzzed too (the register is not configured here: its pushes would answer 503).
            "ingest:civil_affairs",
            "ingest:hr_api",
            "ingest:publicity",
        ),
        "social-assistance-review",
    ),
    # A village-limited client (青山村村委会).
    "village": ClientProfile(
        "qingshan-village",
        "township",
        QINGSHAN_VILLAGE,
        VILLAGE_READS,
        "social-assistance-review",
    ),
    # The auditor (one role only: separation of duties).
    "auditor": ClientProfile("auditor", "audit", COUNTY, ("audit:read", "disclosures:read"), None),
    # A village agent (代办): records consents; reads residents only under one.
    "agent": ClientProfile(
        "qingshan-agent",
        "village_service",
        QINGSHAN_VILLAGE,
        (
            "residents:read",
            "households:read",
            "notices:read",
            "consents:read",
            "consents:write",
            "appeals:read",
            "appeals:write",
        ),
        "pension-eligibility",
    ),
}


def register(engine: Engine, profile: ClientProfile) -> str:
    """Register a demo client under its chosen id; return its secret."""
    _, secret = callers.register(
        engine,
        client_id=profile.client_id,
        department=profile.department,
        scopes=list(profile.scopes),
        region_code=profile.region,
    )
    assert secret is not None
    return secret


def seed(engine: Engine) -> None:
    """Insert a small demo county: gazetteer, residents, households, services and notices."""
    factories.county(engine)
    data.populate(engine)
    factories.add_resident(
        engine,
        rid="R7K3Q9M2X4T8",
        national_id=LOOKUP_ID,
        name="王建国",
        region_code=QINGSHAN_VILLAGE,
        household_id="H1",
        birth_date=dt.date(1985, 3, 12),
        tags=[Tag.MIGRANT_WORKER],
    )
    for n, dept in enumerate((Department.CIVIL_AFFAIRS, Department.HR, Department.CIVIL_AFFAIRS), 1):
        factories.add_service(
            engine,
            Service(
                id=f"{dept.value}:S{n:03d}",
                code=f"S{n:03d}",
                department=dept,
                name=f"服务事项{n}",
                channels=[Channel.ONLINE, Channel.AGENT],
                location="示范县政务服务中心",
                promised_days=5,
                active=n != 3,
            ),
        )
    now = dt.datetime.now(dt.UTC)
    for n, regions in enumerate(([COUNTY], [QINGSHAN_TOWN], [QINGSHAN_VILLAGE]), 1):
        factories.add_notice(
            engine,
            Notice(
                id=f"N{n}",
                title=f"通知{n}",
                body_html=f"<p>通知{n}</p>",
                body_text=f"通知{n}",
                category=NoticeCategory.ANNOUNCEMENT,
                regions=regions,
                audiences=[Audience.EVERYONE] if n != 2 else [Audience.ELDERLY],
                published_at=now - dt.timedelta(days=n),
                expires_at=now + dt.timedelta(days=30),
            ),
        )


def generous_policy(directory: Path) -> Path:
    """Copy the shipped policy with rate limits high enough for fuzzing (429 is tested elsewhere)."""
    target = directory / "policy"
    shutil.copytree(DEFAULT_DIR, target, ignore=shutil.ignore_patterns("tests"))
    limits_file = target / "rate_limits.yaml"
    limits: dict[str, Any] = yaml.safe_load(limits_file.read_text(encoding="utf-8"))
    limits["default"] = {"requests_per_minute": 1_000_000, "records_per_day": 100_000_000}
    limits["limits"] = []
    limits_file.write_text(yaml.safe_dump(limits, allow_unicode=True), encoding="utf-8")
    return target


def audit_key(path: Path) -> Path:
    """Write a fresh Ed25519 checkpoint-signing key (PEM) at `path`."""
    path.write_bytes(
        Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return path


def contract_settings(store_url: str, tmp: Path, **extra: Any) -> Settings:
    """Return settings of an app over `store_url` whose keys and policy live under `tmp`."""
    values: dict[str, Any] = {
        "database_url": store_url,
        "db_pool_size": 4,
        "key_encryption_key": Fernet.generate_key().decode(),
        "audit_key_file": audit_key(tmp / "audit-key.pem"),
        "policy_dir": generous_policy(tmp),
    }
    values.update(extra)
    return Settings(**values)
