"""Benchmark harness: `make bench` serves scenarios on 127.0.0.1, loads them with wrk, writes a report."""
