"""The store room: everything that talks to the database.

Table declarations (`store.tables`), engines (`store.engines`), the compile-once read path
(`store.read`), the sync's bulk writes (`store.bulk`), the change log (`store.changes`) and id minting
(`store.ids`). It builds on `schemas` only; `connectors` and `gateway` build on it (pyproject's
import-linter contracts).
"""
