"""Field plans compiled for stored JSON: shown values are copied as raw bytes, never parsed and rebuilt.

A stored document is decoded into a msgspec Struct made for one plan: a field shown in clear is a
`msgspec.Raw` (its bytes, unparsed), a masked field is parsed (its mask needs the value), and fields
the plan hides are not in the Struct, so the decoder skips them. Encoding the Struct writes the shown
bytes back: clear fields in catalogue order, then masked ones, as `FieldPlan.apply` orders them for a
document stored in catalogue order (as the store writes them: the output is then byte-identical; a
document in another order gives the same object with its keys in catalogue order). The
provenance object keeps only the entries of shown fields, the same way, one level down. A document
the Struct cannot hold (a provenance that is not an object, say) returns None: the caller then uses
`FieldPlan.apply`, which defines what a plan shows.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import msgspec
from msgspec import UNSET, Raw, UnsetType

from policies.compile import ResourceInfo
from policies.masks import Mask

_ENCODER = msgspec.json.Encoder()
DecodeErrors = (msgspec.ValidationError, msgspec.DecodeError)


def _ordered(names: frozenset[str], res: ResourceInfo) -> list[str]:
    """Return names in catalogue order, then any the catalogue does not list (sorted)."""
    return [n for n in dict.fromkeys([*res.order, *sorted(names)]) if n in names]


class RowKeys:
    """Decode only what a row check or a mask reads of a document: region, tags, residents."""

    __slots__ = ("_decoder", "_fields")

    def __init__(self, res: ResourceInfo) -> None:
        wanted = [res.region_field, res.tags_field, res.resident_field, "region_code"]
        self._fields = tuple(dict.fromkeys(f for f in wanted if f))
        doc_type = msgspec.defstruct("RowKeys", [(f, Any, None) for f in self._fields])
        self._decoder = msgspec.json.Decoder(doc_type)

    def read(self, raw: str | bytes) -> dict[str, Any]:
        """Return the row-check fields of a stored document (missing ones as None); raise DecodeErrors."""
        keys = self._decoder.decode(raw)
        return {f: getattr(keys, f) for f in self._fields}


class CompiledPlan:
    """One field plan of one resource as a decoder/encoder pair over stored JSON."""

    __slots__ = ("_decoder", "_keys", "_masked")

    def __init__(
        self, clear: frozenset[str], masked: tuple[tuple[str, Mask], ...], res: ResourceInfo
    ) -> None:
        shown = clear.union(name for name, _ in masked)
        mask_of = dict(masked)
        prov = res.provenance_field if res.provenance_field in clear.difference(mask_of) else None
        fields: list[tuple[str, Any, Any]] = []
        for name in _ordered(clear, res):
            kind: Any = Any if name in mask_of else Raw
            if name == prov:
                entries = [(n, Raw | UnsetType, UNSET) for n in _ordered(shown, res)]
                kind = msgspec.defstruct("Provenance", entries, omit_defaults=True) | None
            fields.append((name, kind | UnsetType, UNSET))
        # Masked fields not also clear come last, in the plan's order (as FieldPlan.apply adds them).
        fields += [(name, Any, UNSET) for name, _ in masked if name not in clear]
        self._decoder = msgspec.json.Decoder(msgspec.defstruct("Projected", fields, omit_defaults=True))
        self._masked = tuple(masked)
        self._keys = RowKeys(res)

    def project(
        self, raw: str | bytes, keys: Mapping[str, Any] | None, names: Mapping[str, str]
    ) -> bytes | None:
        """Return the projected document, or None when the Struct cannot hold it (use `FieldPlan.apply`)."""
        try:
            doc = self._decoder.decode(raw)
            if self._masked and keys is None:
                keys = self._keys.read(raw)
        except DecodeErrors:
            return None
        for name, mask in self._masked:
            value = getattr(doc, name)
            if value is not UNSET:
                # A mask reads the value and, of the document, the row's region (the village's name).
                assert keys is not None
                setattr(doc, name, mask(value, keys, names))
        return _ENCODER.encode(doc)
