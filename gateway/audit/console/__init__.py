"""The auditor console at /audit/: server-rendered pages, no remote asset."""
