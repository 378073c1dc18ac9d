"""Sync benchmark: generate demo counties, run a full sync of every source, report records/s and peak RSS.

    python -m bench.sync_bench                       # 100k and 1M residents
    python -m bench.sync_bench --sizes 20000 --work var/bench-sync

Each size: the demo generator writes a county (cached by size and seed), the fake HR API serves it
from its own process on 127.0.0.1, and a child process migrates a fresh SQLite store and syncs the
gazetteer, civil affairs, the HR API, the migrant register and the feed into it, then reports its
own counts, wall and CPU time and peak RSS (getrusage). The table is printed as markdown.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

SEED = 2026
HR_KEY = "bench-key"


def county_dir(work: Path, residents: int) -> Path:
    """Generate (or reuse) the demo county of `residents` people."""
    from connectors.demo import generate_county, load_manifest

    out = work / f"county-{residents}-{SEED}"
    if (out / "manifest.json").is_file() and load_manifest(out).residents == residents:
        return out
    shutil.rmtree(out, ignore_errors=True)
    started = time.perf_counter()
    generate_county(out, residents=residents, seed=SEED)
    print(
        f"generated {residents:,} residents in {time.perf_counter() - started:.0f} s -> {out}",
        file=sys.stderr,
    )
    return out


def child(county: Path, store: Path, hr_url: str) -> dict[str, Any]:
    """Sync the county into a fresh store (in this process) and return what happened."""
    from connectors.demo import county_sources
    from connectors.sdk.config import config_from_dict
    from connectors.sdk.runner import run_sync
    from gateway import migrate
    from store.engines import make_sync_engine

    for suffix in ("", "-wal", "-shm"):
        Path(f"{store}{suffix}").unlink(missing_ok=True)
    engine = make_sync_engine(f"sqlite:///{store}")
    migrate.upgrade(engine)
    sources = county_sources(county, hr_url=hr_url, hr_key_env="BENCH_HR_KEY", page_size=500)
    config = config_from_dict(sources, env={"BENCH_HR_KEY": HR_KEY})
    cpu = time.process_time()
    report = run_sync(engine, config=config)
    cpu = time.process_time() - cpu
    engine.dispose()
    assert report.refresh is not None
    return {
        "ok": report.ok,
        "errors": {s.source: s.error for s in report.sources if s.error},
        "read": sum(s.read for s in report.sources),
        "quarantined": sum(s.quarantined_total for s in report.sources),
        "sources": {s.source: [s.read, round(s.duration, 2)] for s in report.sources},
        "refresh": round(report.refresh.duration, 2),
        "residents": report.refresh.residents_created,
        "wall": report.duration,
        "cpu": cpu,
        "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "store_mb": store.stat().st_size / 1e6,
    }


def run_size(work: Path, residents: int) -> dict[str, Any]:
    """Run the benchmark of one county size with the fake HR API in its own process."""
    county = county_dir(work, residents)
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "connectors.demo.fake_hr",
            "--data",
            str(county),
            "--port",
            "0",
            "--api-key",
            HR_KEY,
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None
        line = server.stdout.readline()  # "fake HR API listening on http://127.0.0.1:PORT (N persons)"
        url = line.split(" on ", 1)[1].split()[0]
        out = subprocess.run(
            [
                sys.executable,
                "-m",
                "bench.sync_bench",
                "--child",
                str(county),
                str(work / f"store-{residents}.db"),
                url,
            ],
            check=True,
            capture_output=True,
            text=True,
        )
    finally:
        server.terminate()
        server.wait(timeout=10)
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    result["size"] = residents
    return result


def table(results: list[dict[str, Any]]) -> str:
    """Render the results as a markdown table."""
    lines = [
        "| residents | source records | quarantined | wall s | records/s | CPU s | records per CPU s "
        "| refresh s | peak RSS MB | store MB |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        lines.append(
            f"| {r['size']:,} | {r['read']:,} | {r['quarantined']:,} | {r['wall']:.1f} "
            f"| {r['read'] / r['wall']:,.0f} | {r['cpu']:.1f} | {r['read'] / r['cpu']:,.0f} "
            f"| {r['refresh']:.1f} | {r['rss_mb']:.0f} "
            f"| {r['store_mb']:.0f} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    """Run the benchmark (or, with --child, one sync in this process)."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument(
        "--work", type=Path, default=Path(os.environ.get("BENCH_SYNC_WORK", "var/bench-sync"))
    )
    parser.add_argument("--child", nargs=3, metavar=("COUNTY", "STORE", "HR_URL"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        county, store, url = args.child
        print(json.dumps(child(Path(county), Path(store), url)))
        return
    args.work.mkdir(parents=True, exist_ok=True)
    results = []
    for size in args.sizes:
        result = run_size(args.work, size)
        if not result["ok"]:
            raise SystemExit(f"sync of {size:,} residents failed: {result['errors']}")
        per_source = ", ".join(f"{k} {v[0]:,} in {v[1]:.1f} s" for k, v in result["sources"].items())
        print(f"{size:,} residents: {per_source}; refresh {result['refresh']:.1f} s", file=sys.stderr)
        results.append(result)
    print("## Full sync of every source into SQLite (one process, HR over HTTP from the fake API)\n")
    print(table(results))


if __name__ == "__main__":
    main()
