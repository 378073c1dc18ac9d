"""`python -m bench` (`make bench`): measure every row against the hello ceiling; write the report."""

from __future__ import annotations

import argparse
from pathlib import Path

from bench.report import write
from bench.runner import Options, run_bench
from bench.scenarios import load_rows


def _names(values: list[str]) -> list[str]:
    return [n.strip() for v in values for n in v.split(",") if n.strip()]


def parse(argv: list[str] | None = None) -> Options:
    """Turn the command line into Options (quick = 1 run of 3 s, 1 s warm-up)."""
    args = _parser().parse_args(argv)
    if args.list:
        for s in load_rows():
            print(f"{s.name:<16} {s.title}{'  (ceiling)' if s.ceiling else ''}")
        raise SystemExit(0)
    return _options(args)


def _parser() -> argparse.ArgumentParser:
    """Return the command line's parser."""
    ap = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    ap.add_argument(
        "--only",
        action="append",
        default=[],
        metavar="NAME[,NAME]",
        help="run only these rows (the hello ceiling always runs); repeatable",
    )
    ap.add_argument("--list", action="store_true", help="list the registered rows and exit")
    ap.add_argument("--quick", action="store_true", help="smoke test: 1 run of 3 s per row, 1 s warm-up")
    ap.add_argument("--runs", type=int, help="runs per row (default 5; quick 1); medians are over runs")
    ap.add_argument("--duration", type=float, help="seconds measured per run (default 10; quick 3)")
    ap.add_argument("--warmup", type=float, help="seconds of unmeasured load first (default 2; quick 1)")
    ap.add_argument("--residents", type=int, default=100_000, help="size of the generated county")
    ap.add_argument("--seed", type=int, default=2026)
    ap.add_argument(
        "--backend",
        action="append",
        default=[],
        metavar="sqlite|postgresql",
        help="stores to run store rows on (default sqlite); postgresql uses a throwaway cluster",
    )
    ap.add_argument(
        "--client",
        choices=("auto", "wrk", "python"),
        default="auto",
        help="load generator; auto = wrk (installed from Debian if missing), else Python",
    )
    ap.add_argument("--threads", type=int, default=1, help="wrk threads (the server has the other core)")
    ap.add_argument("--profile", metavar="NAME", help="after the runs, py-spy one row under load")
    ap.add_argument("--profile-seconds", type=int, default=15)
    ap.add_argument("--out", type=Path, help="report path (default bench/results/YYYY-MM-DD.md)")
    ap.add_argument("--work-dir", type=Path, help="keep stores, scripts and server logs here")
    ap.add_argument("--cache-dir", type=Path, help="where built SQLite stores are cached for reuse")
    ap.add_argument("--note", default="", help="a line for the report's header (what tree, why)")
    return ap


def _options(args: argparse.Namespace) -> Options:
    """Return the Options the parsed arguments ask for, quick defaults applied."""
    quick = bool(args.quick)
    opts = Options(
        only=_names(args.only),
        runs=args.runs or (1 if quick else 5),
        duration=args.duration or (3.0 if quick else 10.0),
        warmup=args.warmup if args.warmup is not None else (1.0 if quick else 2.0),
        residents=args.residents,
        seed=args.seed,
        backends=_names(args.backend) or ["sqlite"],
        client=args.client,
        threads=args.threads,
        quick=quick,
        out=args.out,
        work_dir=args.work_dir,
        profile=args.profile,
        profile_seconds=args.profile_seconds,
        note=args.note,
    )
    if args.cache_dir:
        opts.cache_dir = args.cache_dir
    if opts.profile and opts.only and opts.profile not in opts.only:
        opts.only.append(opts.profile)
    return opts


def main(argv: list[str] | None = None) -> None:
    """Run the bench and print the report."""
    opts = parse(argv)
    outcome = run_bench(opts)
    path, text = write(outcome, path=opts.out)
    print(text)
    print(f"report written to {path}")


if __name__ == "__main__":
    main()
