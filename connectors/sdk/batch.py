"""A pushed batch: records a department system sends in its source's own format (push ingest).

Each connector that takes pushes declares its batch as a `PushBatch` model whose members are lists of
raw payloads, named as the source names them (a table, an API resource, a feed). The members hold
payloads, not validated raw models: the runner validates each record on its own, so a bad record is
quarantined with the reason a sync would give instead of refusing the whole batch.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, ClassVar, Self

from pydantic import BaseModel, ConfigDict, GetJsonSchemaHandler, model_validator
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema

from connectors.sdk.records import RawItem, RawRecord

# Records one push may hold: a push is one transaction, and the answer lists every record held back.
MAX_RECORDS = 1000

Payload = dict[str, Any]


class PushBatch(BaseModel):
    """Base of every connector's push batch; subclasses declare list members and `streams`."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True, frozen=True)

    # (member name, raw model) in the order the runner takes them: people before what links to them.
    streams: ClassVar[tuple[tuple[str, type[RawRecord]], ...]] = ()
    # Longest record key the store keeps for this source (with the ids derived from it); a record with a
    # longer key could not even be quarantined, so the batch is refused instead.
    max_key: ClassVar[int] = 64

    def raw_items(self) -> Iterator[RawItem]:
        """Yield every pushed payload as a raw item of its stream's model, streams in declared order."""
        for name, model in self.streams:
            for payload in getattr(self, name):
                yield RawItem(model, payload)

    def size(self) -> int:
        """Return how many records the batch holds."""
        return sum(len(getattr(self, name)) for name, _ in self.streams)

    def record_keys(self) -> list[str]:
        """Return the source key of every pushed record (for the audit event), in batch order."""
        return [item.model.key_of(item.payload) for item in self.raw_items()]

    @classmethod
    def __get_pydantic_json_schema__(cls, core: CoreSchema, handler: GetJsonSchemaHandler) -> JsonSchemaValue:
        """Say in the schema what the validator checks: at least one member is a non-empty list."""
        schema = handler.resolve_ref_schema(handler(core))
        names = [cls.model_fields[name].alias or name for name, _ in cls.streams]
        schema["anyOf"] = [{"required": [name], "properties": {name: {"minItems": 1}}} for name in names]
        return schema

    @model_validator(mode="after")
    def _bounded(self) -> Self:
        total = self.size()
        if total == 0:
            raise ValueError("the batch holds no records")
        if total > MAX_RECORDS:
            raise ValueError(f"a batch holds at most {MAX_RECORDS} records; this one holds {total}: split it")
        for n, item in enumerate(self.raw_items(), start=1):
            if len(item.model.key_of(item.payload)) > self.max_key:
                raise ValueError(
                    f"record {n}: its {item.model.key_alias} is longer than {self.max_key} characters"
                )
        return self
