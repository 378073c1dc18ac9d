"""Audit: one tamper-evident event per decision, committed before the response is sent."""
