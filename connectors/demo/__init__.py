"""Demo county: a synthetic 示范县 in the departments' own formats, and a fake HR API to serve it."""

from connectors.demo.county import (
    BrokenRecord,
    CountyManifest,
    county_sources,
    generate_county,
    load_manifest,
)

__all__ = ["BrokenRecord", "CountyManifest", "county_sources", "generate_county", "load_manifest"]
