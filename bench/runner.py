"""The runner: stores prepared once per backend; per run, each row's server started fresh, warmed, loaded."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

from bench import store
from bench.load import LoadResult, LoadTool, choose_tool, run_load, write_rotation
from bench.profile import Profile, Recorder, summarise
from bench.scenarios import Fixture, Request, Scenario, load_rows, select
from bench.server import Server

BENCH = Path(__file__).resolve().parent
RESULTS = BENCH / "results"
TMP = RESULTS / "tmp"

Log = Callable[[str], None]


def log_stderr(message: str) -> None:
    """Print a progress line to stderr."""
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


@dataclass(kw_only=True)
class Options:
    """Everything a bench invocation may vary; defaults are `make bench`'s."""

    only: list[str] = field(default_factory=list)
    runs: int = 5
    duration: float = 10.0
    warmup: float = 2.0
    residents: int = 100_000
    seed: int = 2026
    backends: list[str] = field(default_factory=lambda: ["sqlite"])
    client: str = "auto"
    threads: int = 1
    quick: bool = False
    out: Path | None = None
    work_dir: Path | None = None
    cache_dir: Path = TMP / "stores"
    profile: str | None = None
    profile_seconds: int = 15
    note: str = ""


@dataclass(kw_only=True)
class Unit:
    """A row on one backend with its request rotation written out."""

    label: str
    scenario: Scenario
    fixture: Fixture
    requests: list[Request]
    headers: dict[str, str]
    script: Path
    requests_file: Path

    @property
    def duration(self) -> float | None:
        """Return the row's own duration, if it sets one."""
        return self.scenario.duration


@dataclass(frozen=True, slots=True)
class Sample:
    """One measured run of one row, with the server's CPU time over the measured window."""

    run: int
    label: str
    result: LoadResult
    cpu_s: float | None = None

    @property
    def cpu_us_per_request(self) -> float | None:
        """Return server CPU microseconds per completed request (robust to other load on the box)."""
        if self.cpu_s is None or self.result.requests == 0:
            return None
        return self.cpu_s / self.result.requests * 1e6


def _children(pid: int) -> list[int]:
    try:
        return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except (OSError, ValueError):
        return []


def process_cpu(pid: int) -> float | None:
    """Return user+system CPU seconds a process and its live descendants have used (Linux /proc), or None.

    Descendants count: with `--workers 2` the requests are served by uvicorn's worker processes.
    """
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    own = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return own + sum(process_cpu(child) or 0.0 for child in _children(pid))


@dataclass(kw_only=True)
class Outcome:
    """What a bench invocation measured, for the report."""

    options: Options
    tool: LoadTool
    units: list[Unit]
    samples: list[Sample]
    started: dt.datetime
    finished: dt.datetime
    load_before: tuple[float, float, float]
    load_after: tuple[float, float, float]
    profile: Profile | None = None
    profile_label: str | None = None


def _unit(scenario: Scenario, *, fixture: Fixture, out_dir: Path) -> Unit:
    label = scenario.name + fixture.label
    requests = scenario.resolve_requests(fixture)
    headers = scenario.resolve_headers(fixture)
    lua = scenario.lua(fixture) if scenario.lua is not None else None
    slug = label.replace(" ", "").replace("[", "-").replace("]", "")
    script, reqs = write_rotation(requests, headers=headers, lua=lua, out_dir=out_dir, name=slug)
    return Unit(
        label=label,
        scenario=scenario,
        fixture=fixture,
        requests=requests,
        headers=headers,
        script=script,
        requests_file=reqs,
    )


def _load(unit: Unit, *, srv: Server, tool: LoadTool, seconds: float, threads: int) -> LoadResult:
    return run_load(
        tool,
        base_url=srv.base_url,
        script=unit.script,
        requests_file=unit.requests_file,
        connections=unit.scenario.connections,
        duration=seconds,
        threads=threads,
    )


def measure(unit: Unit, *, tool: LoadTool, opts: Options, run: int, log: Log) -> Sample:
    """Start the row's server fresh, check it answers, warm it up, then run one bounded load."""
    logs = unit.fixture.work_dir / "logs"
    with Server(unit.scenario, fixture=unit.fixture, log_path=logs / f"{unit.script.stem}-{run}.log") as srv:
        srv.check(unit.requests, headers=unit.headers)
        if opts.warmup > 0:
            _load(unit, srv=srv, tool=tool, seconds=opts.warmup, threads=opts.threads)
        cpu0 = process_cpu(srv.pid)
        result = _load(unit, srv=srv, tool=tool, seconds=unit.duration or opts.duration, threads=opts.threads)
        cpu1 = process_cpu(srv.pid)
    if result.output:
        (logs / f"{unit.script.stem}-{run}.wrk.txt").write_text(result.output, encoding="utf-8")
    sample = Sample(
        run=run,
        label=unit.label,
        result=result,
        cpu_s=cpu1 - cpu0 if cpu0 is not None and cpu1 is not None else None,
    )
    cpu = sample.cpu_us_per_request
    log(
        f"run {run} {unit.label:<16} {result.rps:9.0f} req/s  p50 {result.p50_ms:7.2f} ms  "
        f"p99 {result.p99_ms:7.2f} ms  cpu {cpu or 0:6.0f} µs/req  non-2xx {result.non2xx}  "
        f"errors {result.errors}{f' ({result.error_kinds})' if result.error_kinds else ''}"
    )
    return sample


def profile_unit(unit: Unit, *, tool: LoadTool, opts: Options, out: Path, log: Log) -> Profile:
    """Load one row while py-spy samples its server; return the raw stacks and their summary."""
    logs = unit.fixture.work_dir / "logs"
    with Server(
        unit.scenario, fixture=unit.fixture, log_path=logs / f"{unit.script.stem}-profile.log"
    ) as srv:
        srv.check(unit.requests, headers=unit.headers)
        if opts.warmup > 0:
            _load(unit, srv=srv, tool=tool, seconds=opts.warmup, threads=opts.threads)
        log(f"profile: py-spy on {unit.label} (pid {srv.pid}) for {opts.profile_seconds} s under load")
        rec = Recorder(srv.pid, seconds=opts.profile_seconds, out=out).start()
        time.sleep(0.5)  # let py-spy attach before the load starts
        result = _load(unit, srv=srv, tool=tool, seconds=opts.profile_seconds, threads=opts.threads)
        raw = rec.wait()
    head = (
        f"under py-spy: {result.rps:.0f} req/s, p50 {result.p50_ms:.2f} ms, p99 {result.p99_ms:.2f} ms "
        "(sampling slows the server; these figures are not comparable with the table)\n"
    )
    return Profile(raw=raw, summary=head + summarise(raw))


def _units(rows: list[Scenario], *, opts: Options, stack: ExitStack, work: Path, log: Log) -> list[Unit]:
    """Return a unit per selected row and backend, preparing each backend's store once (on `stack`)."""
    fixtures: dict[str, Fixture] = {}
    storeless = Fixture(backend=None, database_url=None, residents=0, work_dir=work)
    units: list[Unit] = []
    for sc in rows:
        for backend in opts.backends if sc.needs_store else [None]:
            if backend is None:
                fx = storeless
            elif backend in fixtures:
                fx = fixtures[backend]
            else:
                (work / backend).mkdir(exist_ok=True)
                fx = fixtures[backend] = stack.enter_context(
                    store.prepare(
                        backend,
                        residents=opts.residents,
                        seed=opts.seed,
                        work_dir=work / backend,
                        cache_dir=opts.cache_dir,
                        log=log,
                    )
                )
            units.append(_unit(sc, fixture=fx, out_dir=work / "scripts"))
    return units


def run_bench(opts: Options, *, log: Log = log_stderr) -> Outcome:
    """Prepare, measure every selected row `runs` times (rows interleaved per run), optionally profile one."""
    rows = select(load_rows(), only=opts.only)
    if opts.profile and opts.profile not in {s.name for s in rows}:
        raise SystemExit(f"--profile {opts.profile}: not among the selected rows")
    tool = choose_tool(opts.client, log=log)
    log(f"load tool: {tool.kind} ({tool.version}) {tool.note}".rstrip())
    TMP.mkdir(parents=True, exist_ok=True)
    work = opts.work_dir or Path(tempfile.mkdtemp(prefix="run-", dir=TMP))
    work.mkdir(parents=True, exist_ok=True)
    started, load_before = dt.datetime.now().astimezone(), os.getloadavg()
    samples: list[Sample] = []
    profile: Profile | None = None
    profile_label: str | None = None
    try:
        with ExitStack() as stack:
            units = _units(rows, opts=opts, stack=stack, work=work, log=log)
            for run in range(1, opts.runs + 1):
                for unit in units:
                    samples.append(measure(unit, tool=tool, opts=opts, run=run, log=log))
            if opts.profile:
                target = next(u for u in units if u.scenario.name == opts.profile)
                raw = TMP / f"profile-{started:%Y-%m-%d}-{target.script.stem}.raw"
                profile = profile_unit(target, tool=tool, opts=opts, out=raw, log=log)
                profile_label = target.label
            finished, load_after = dt.datetime.now().astimezone(), os.getloadavg()
            return Outcome(
                options=opts,
                tool=tool,
                units=units,
                samples=samples,
                started=started,
                finished=finished,
                load_before=load_before,
                load_after=load_after,
                profile=profile,
                profile_label=profile_label,
            )
    finally:
        if opts.work_dir is None:
            shutil.rmtree(work, ignore_errors=True)
