"""Hold HR person items as pre-encoded JSON, sorted by (updatedAt, personId), for cheap paging."""

from __future__ import annotations

import bisect
import datetime as dt
import re
from array import array
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import orjson

from connectors.demo.reference import HR_SERVICES
from schemas.time import CHINA

_PERSON_ID = re.compile(rb'"personId"\s*:\s*"([^"]*)"')
_UPDATED_AT = re.compile(rb'"updatedAt"\s*:\s*"([^"]*)"')


def parse_instant(text: str) -> int:
    """Parse an RFC 3339 timestamp to epoch microseconds (naive ones are taken as Beijing time)."""
    moment = dt.datetime.fromisoformat(text.strip().replace(" ", "+", 1) if "T" in text else text.strip())
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=CHINA)
    return round(moment.timestamp() * 1_000_000)


class PersonStore:
    """Person items as one bytes blob plus sorted (start, end) spans and their updatedAt instants."""

    def __init__(self, blob: bytes, *, keyed: list[tuple[int, str, int, int]]) -> None:
        """Sort the items, given (updatedAt µs, personId, start, end) for each span of `blob`."""
        keyed.sort()
        self._blob = blob
        self._instants = array("q", (k[0] for k in keyed))
        self._starts = array("q", (k[2] for k in keyed))
        self._ends = array("q", (k[3] for k in keyed))

    def __len__(self) -> int:
        """Return the number of person items."""
        return len(self._instants)

    @classmethod
    def from_jsonl(cls, path: Path) -> PersonStore:
        """Load a persons.jsonl file (one item per line) without decoding every item."""
        blob = path.read_bytes()
        keyed: list[tuple[int, str, int, int]] = []
        instants: dict[bytes, int] = {}
        pos, size = 0, len(blob)
        while pos < size:
            end = blob.find(b"\n", pos)
            end = size if end < 0 else end
            if blob[pos:end].strip():
                pid = _PERSON_ID.search(blob, pos, end)
                updated = _UPDATED_AT.search(blob, pos, end)
                if pid is None or updated is None:
                    item = orjson.loads(blob[pos:end])
                    person_id, stamp = str(item["personId"]), str(item["updatedAt"]).encode()
                else:
                    person_id, stamp = pid.group(1).decode(), updated.group(1)
                instant = instants.get(stamp)
                if instant is None:
                    instant = instants[stamp] = parse_instant(stamp.decode())
                keyed.append((instant, person_id, pos, end))
            pos = end + 1
        return cls(blob, keyed=keyed)

    @classmethod
    def from_items(cls, items: Iterable[Mapping[str, Any]]) -> PersonStore:
        """Build a store from decoded person items."""
        parts: list[bytes] = []
        keyed: list[tuple[int, str, int, int]] = []
        pos = 0
        for item in items:
            raw = orjson.dumps(item)
            parts.append(raw)
            keyed.append((parse_instant(str(item["updatedAt"])), str(item["personId"]), pos, pos + len(raw)))
            pos += len(raw) + 1
        return cls(b"\n".join(parts), keyed=keyed)

    def first_at_or_after(self, instant: int | None) -> int:
        """Return the index of the first item updated at or after `instant` (µs); 0 when None."""
        return 0 if instant is None else bisect.bisect_left(self._instants, instant)

    def page(self, start: int, *, size: int) -> tuple[bytes, int, int]:
        """Return (items joined as a JSON array body, item count, next index) for a page."""
        stop = min(len(self._instants), start + size)
        blob, starts, ends = self._blob, self._starts, self._ends
        body = b",".join([blob[starts[i] : ends[i]] for i in range(start, stop)])
        return b"[" + body + b"]", stop - start, stop


def _hr_dir(path: Path) -> Path:
    """Return the folder that holds the HR files: `path/hr_api` when present, else `path`."""
    return path / "hr_api" if (path / "hr_api").is_dir() else path


def load_persons(path: Path) -> PersonStore:
    """Load persons from a county dir, an hr_api dir, a persons.jsonl file, or sample API pages."""
    path = Path(path)
    if path.is_file():
        if path.suffix == ".jsonl":
            return PersonStore.from_jsonl(path)
        return PersonStore.from_items(_page_items([path]))
    folder = _hr_dir(path)
    if (folder / "persons.jsonl").is_file():
        return PersonStore.from_jsonl(folder / "persons.jsonl")
    pages = sorted(folder.glob("persons_page*.json"), key=lambda p: int(re.sub(r"\D", "", p.stem) or 0))
    if not pages:
        raise FileNotFoundError(f"no persons.jsonl or persons_page*.json under {path}")
    return PersonStore.from_items(_page_items(pages))


def _page_items(pages: list[Path]) -> Iterable[Mapping[str, Any]]:
    """Yield the items of saved API pages (envelopes) or plain JSON arrays."""
    for page in pages:
        doc = orjson.loads(page.read_bytes())
        yield from doc["data"]["items"] if isinstance(doc, dict) else doc


def load_services(path: Path | None) -> list[dict[str, Any]]:
    """Load service items from services.json beside the persons, or fall back to the built-in list."""
    file = None
    if path is not None:
        path = Path(path)
        file = _hr_dir(path.parent if path.is_file() else path) / "services.json"
    if file is not None and file.is_file():
        doc = orjson.loads(file.read_bytes())
        return list(doc["data"]["items"] if isinstance(doc, dict) else doc)
    return [dict(item) for item in HR_SERVICES]
