"""Push ingest: department systems push changed records in their source's own format (POST /v1/ingest/…)."""
