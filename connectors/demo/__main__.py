"""Command line: `python -m connectors.demo --out DIR --residents N` generates a demo county."""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from connectors.demo.county import generate_county


def main(argv: list[str] | None = None) -> None:
    """Generate a county from the command line and print its summary."""
    parser = argparse.ArgumentParser(description="Generate a synthetic demo county in the source formats.")
    parser.add_argument("--out", type=Path, required=True, help="target directory")
    parser.add_argument("--residents", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--months", type=int, default=2)
    args = parser.parse_args(argv)
    started = time.perf_counter()
    manifest = generate_county(args.out, residents=args.residents, seed=args.seed, months=args.months)
    elapsed = time.perf_counter() - started
    rate = manifest.residents / elapsed if elapsed else 0.0
    print(f"{manifest.residents} residents in {elapsed:.1f} s ({rate:,.0f}/s) -> {args.out}")
    print(json.dumps(manifest.counts, ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
