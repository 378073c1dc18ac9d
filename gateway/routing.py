"""Path convertors: a resource id never swallows a custom method's `:verb` (AIP-136)."""

from __future__ import annotations

from starlette.convertors import Convertor, register_url_convertor


class SegmentConvertor(Convertor[str]):
    """One path segment without a colon: `/clients/{id:segment}` leaves `/clients/x:disable` alone."""

    regex = "[^/:]+"

    def convert(self, value: str) -> str:
        """Return the segment as it is."""
        return value

    def to_string(self, value: str) -> str:
        """Return the segment as it is."""
        return value


# Registered once, before any router compiles a path that names it; Starlette keeps a module-level table.
register_url_convertor("segment", SegmentConvertor())
