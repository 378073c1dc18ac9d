"""Human resources (人社): the HR REST API, incremental by updatedSince, resumable page by page."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any, ClassVar

from pydantic import Field, SecretStr

from connectors.hr_api.client import HrClient, PageTokenExpired
from connectors.hr_api.models import HrApiPush, HrPerson, HrService
from connectors.hr_api.translate import translate_person, translate_service
from connectors.sdk.base import Connector, Extracted
from connectors.sdk.config import SourceSettings
from connectors.sdk.errors import FatalSourceError, RetriableSourceError
from connectors.sdk.normalise import later_watermark, parse_instant
from connectors.sdk.records import Checkpoint, RawItem, RawRecord, Translation
from schemas.codes import Department


class HrApiSettings(SourceSettings):
    """Where the HR API is and how patiently to call it; the key comes from the variable in api_key_env."""

    base_url: str = Field(pattern=r"^https?://", description="e.g. https://hr.example.gov.cn")
    api_key: SecretStr = Field(json_schema_extra={"env_only": True}, description="X-Api-Key (from env)")
    page_size: int = Field(default=500, ge=1, le=500)
    timeout_seconds: float = Field(default=30.0, gt=0)
    max_attempts: int = Field(default=5, ge=1, description="tries of one request (503, timeouts, 5000)")
    backoff_seconds: float = Field(default=0.5, ge=0, description="first backoff; doubles with jitter")
    backoff_max_seconds: float = Field(default=30.0, ge=0)
    max_retry_after_seconds: float = Field(default=120.0, ge=0, description="cap on a 429's Retry-After")
    max_rate_limited: int = Field(default=20, ge=0, description="429 answers waited out per request")
    max_restarts: int = Field(default=3, ge=0, description="listing restarts on code 2003")
    services: bool = Field(default=True, description="also read GET /api/v2/services")


class HrApiConnector(Connector[HrApiSettings]):
    """Persons (with employment and insurances) and service items of the HR API."""

    name: ClassVar[str] = "hr_api"
    department: ClassVar[Department] = Department.HR
    settings_model = HrApiSettings
    raw_models = (HrPerson, HrService)
    push_model = HrApiPush
    order: ClassVar[int] = 20

    client: HrClient | None = None

    def open(self) -> None:
        """Build the HTTP client (tests may set `client` beforehand)."""
        if self.client is None:
            s = self.settings
            self.client = HrClient(
                s.base_url,
                api_key=s.api_key.get_secret_value(),
                timeout=s.timeout_seconds,
                max_attempts=s.max_attempts,
                backoff=s.backoff_seconds,
                backoff_max=s.backoff_max_seconds,
                max_retry_after=s.max_retry_after_seconds,
                max_rate_limited=s.max_rate_limited,
            )

    def close(self) -> None:
        """Close the client."""
        if self.client is not None:
            self.client.close()
            self.client = None

    def extract(self, *, state: dict[str, Any]) -> Iterator[Extracted]:
        """Page through persons updated since the watermark; a checkpoint after every page.

        State: `watermark` (newest updatedAt of the last complete pass) and, while a pass is under way,
        `run` = {since, token, newest}: a later sync resumes with the token of the last committed page,
        or restarts the pass from `since` if the token has expired meanwhile.
        """
        client = self.client
        if client is None:
            raise FatalSourceError("hr_api: extract before open")
        watermark = state.get("watermark")
        run = state.get("run") or {}
        since: str | None = run.get("since", watermark)
        token: str | None = run.get("token")
        newest: str | None = run.get("newest")
        restarts = 0
        while True:
            params: dict[str, Any] = {"pageSize": self.settings.page_size}
            if since:
                params["updatedSince"] = since
            if token:
                params["pageToken"] = token
            try:
                data = client.data("/api/v2/persons", params)
            except PageTokenExpired:
                restarts += 1
                if restarts > self.settings.max_restarts:
                    raise RetriableSourceError(
                        f"hr_api: page tokens kept expiring (code 2003) after {restarts - 1} restarts"
                    ) from None
                token = None  # restart the pass; records already committed come back unchanged
                continue
            for item in data.get("items") or []:
                yield RawItem(HrPerson, item if isinstance(item, dict) else {"item": item})
                newest = later_watermark(newest, _updated_at(item))
            token = data.get("nextPageToken") or None
            if token is None:
                break
            yield Checkpoint(
                state={"watermark": watermark, "run": {"since": since, "token": token, "newest": newest}},
                watermark=watermark,
            )
        if self.settings.services:
            for item in client.data("/api/v2/services", {}).get("items") or []:
                yield RawItem(HrService, item if isinstance(item, dict) else {"item": item})
        done = newest or watermark
        yield Checkpoint(state={"watermark": done, "run": None}, final=True, watermark=done)

    def translate(self, raw: RawRecord) -> Translation:
        """Dispatch to the pure translation of the item's kind."""
        if isinstance(raw, HrPerson):
            return translate_person(raw)
        if isinstance(raw, HrService):
            return translate_service(raw)
        raise TypeError(f"not an HR item: {type(raw).__name__}")


def _updated_at(item: Any) -> dt.datetime | None:
    """Return an item's updatedAt instant; None when absent or unreadable (it cannot advance the mark)."""
    stamp = item.get("updatedAt") if isinstance(item, dict) else None
    if not isinstance(stamp, str):
        return None
    try:
        return parse_instant(stamp, field="updatedAt")
    except Exception:
        return None
