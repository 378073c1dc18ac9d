"""The Markdown report: medians per row, each as a ratio to the ceiling measured in the same run."""

from __future__ import annotations

import dataclasses
import os
import platform
import subprocess
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from statistics import median

from bench.runner import RESULTS, TMP, Outcome, Sample, Unit
from bench.scenarios import for_backend, server_settings
from bench.store import LOADER_DESCRIPTION, SAMPLE_IDS

REPO = RESULTS.parents[1]


@dataclass(frozen=True, slots=True)
class Verdict:
    """One target of a row against its median: what is measured, the bound, the value, met or not."""

    what: str
    bound: str
    value: float | None
    met: bool | None  # None: not measured (e.g. no CPU reading, or the row it scales against did not run)

    def text(self) -> str:
        """Return e.g. 'CPU ratio ≥ 0.30: not met (0.21)'."""
        if self.met is None:
            return f"{self.what} {self.bound}: not measured"
        shown = f"{self.value:.1f}" if self.what == "p99 ms" else f"{self.value:.2f}"
        return f"{self.what} {self.bound}: {'met' if self.met else 'not met'} ({shown})"


@dataclass(frozen=True, slots=True)
class RowSummary:
    """Medians of one row over its runs."""

    label: str
    title: str
    rps: float
    p50_ms: float
    p99_ms: float
    ratio: float | None
    rps_min: float
    rps_max: float
    non2xx: int
    errors: int
    error_kinds: str
    cpu_us: float | None
    cpu_ratio: float | None
    verdicts: tuple[Verdict, ...] = ()


def _ceilings(outcome: Outcome) -> tuple[dict[int, float], dict[int, float]]:
    """Return the ceiling's req/s and CPU µs/request, by run."""
    rps: dict[int, float] = {}
    cpu: dict[int, float] = {}
    for s in outcome.samples:
        if _unit(outcome, label=s.label).scenario.ceiling:
            rps[s.run] = s.result.rps
            if s.cpu_us_per_request:
                cpu[s.run] = s.cpu_us_per_request
    return rps, cpu


def _cpu_ratio(sample: Sample, ceiling_cpu: dict[int, float]) -> float | None:
    own = sample.cpu_us_per_request
    return ceiling_cpu[sample.run] / own if own and sample.run in ceiling_cpu else None


def summarise_rows(outcome: Outcome) -> list[RowSummary]:
    """Return one summary per row: medians of req/s, p50, p99, and of the per-run ratio to the ceiling."""
    ceiling, ceiling_cpu = _ceilings(outcome)
    out = []
    for unit in outcome.units:
        runs = [s for s in outcome.samples if s.label == unit.label]
        if not runs:
            continue
        rps = [s.result.rps for s in runs]
        ratios = [s.result.rps / ceiling[s.run] for s in runs if ceiling.get(s.run)]
        cpus = [c for s in runs if (c := s.cpu_us_per_request)]
        cpu_ratios = [r for s in runs if (r := _cpu_ratio(s, ceiling_cpu))]
        kinds = "; ".join(f"run {s.run}: {s.result.error_kinds}" for s in runs if s.result.error_kinds)
        out.append(
            RowSummary(
                label=unit.label,
                title=unit.scenario.title,
                rps=median(rps),
                p50_ms=median(s.result.p50_ms for s in runs),
                p99_ms=median(s.result.p99_ms for s in runs),
                ratio=median(ratios) if ratios else None,
                rps_min=min(rps),
                rps_max=max(rps),
                non2xx=sum(s.result.non2xx for s in runs),
                errors=sum(s.result.errors for s in runs),
                error_kinds=kinds,
                cpu_us=median(cpus) if cpus else None,
                cpu_ratio=median(cpu_ratios) if cpu_ratios else None,
            )
        )
    return [_judged(outcome, row) for row in out]


def _at_least(what: str, bound: float | None, value: float | None) -> list[Verdict]:
    if bound is None:
        return []
    return [Verdict(what, f"≥ {bound:.2f}", value, None if value is None else value >= bound)]


def _scale(outcome: Outcome, unit: Unit) -> float | None:
    """Return the median over runs of this row's req/s over the req/s of the row it scales against."""
    target = unit.scenario.target_scale
    assert target is not None
    base = target.of + unit.fixture.label
    own = {s.run: s.result.rps for s in outcome.samples if s.label == unit.label}
    other = {s.run: s.result.rps for s in outcome.samples if s.label == base}
    ratios = [own[run] / other[run] for run in own if other.get(run)]
    return median(ratios) if ratios else None


def _judged(outcome: Outcome, row: RowSummary) -> RowSummary:
    """Return the row with its targets judged (the issue's bounds; some differ by backend)."""
    unit = _unit(outcome, label=row.label)
    sc, backend = unit.scenario, unit.fixture.backend
    verdicts = [
        *_at_least("req/s ratio", sc.target_ratio, row.ratio),
        *_at_least("CPU ratio", for_backend(sc.target_cpu_ratio, backend), row.cpu_ratio),
    ]
    p99 = for_backend(sc.target_p99_ms, backend)
    if p99 is not None:
        verdicts.append(Verdict("p99 ms", f"≤ {p99:g}", row.p99_ms, row.p99_ms <= p99))
    if sc.target_scale is not None:
        times = for_backend(sc.target_scale.times, backend)
        label = f"req/s × {sc.target_scale.of}"
        verdicts += _at_least(label, times, _scale(outcome, unit))
    return dataclasses.replace(row, verdicts=tuple(verdicts))


def _unit(outcome: Outcome, *, label: str) -> Unit:
    return next(u for u in outcome.units if u.label == label)


def _git_out(*args: str, check: bool) -> str:
    return subprocess.run(
        ["git", *args], cwd=REPO, capture_output=True, text=True, timeout=10, check=check
    ).stdout.strip()


def _git() -> str:
    try:
        sha = _git_out("rev-parse", "--short", "HEAD", check=True)
        dirty = _git_out("status", "--porcelain", "--untracked-files=no", check=False)
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return sha + (" with uncommitted changes in the working tree" if dirty else "")


def _cpu() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def _versions() -> str:
    names = ("fastapi", "starlette", "pydantic", "uvicorn", "uvloop", "httptools", "sqlalchemy", "asyncpg")
    found = []
    for name in names:
        try:
            found.append(f"{name} {metadata.version(name)}")
        except metadata.PackageNotFoundError:
            continue
    return ", ".join(found)


def _ratio(value: float | None) -> str:
    return f"{value:.2f}" if value is not None else "–"


def _load(avg: tuple[float, float, float]) -> str:
    return " ".join(f"{x:.2f}" for x in avg)


def render(outcome: Outcome) -> str:
    """Return the report as Markdown."""
    rows = summarise_rows(outcome)
    lines = [*_header(outcome), *_summary(rows), *_targets(rows), *_every_run(outcome), *_profile(outcome)]
    return "\n".join(lines) + "\n"


def _header(outcome: Outcome) -> list[str]:
    """Return the title and the conditions of the measurement."""
    o = outcome.options
    backends = sorted({u.fixture.backend for u in outcome.units if u.fixture.backend})
    conns = ", ".join(sorted({str(u.scenario.connections) for u in outcome.units}))
    return [
        f"# Bench {outcome.started:%Y-%m-%d}" + (" (quick smoke run: not a measurement)" if o.quick else ""),
        "",
        f"- when: {outcome.started:%Y-%m-%d %H:%M %Z} to {outcome.finished:%H:%M}; commit {_git()}",
        f"- machine: {os.cpu_count()} cores ({_cpu()}), shared with other work; load average "
        f"{_load(outcome.load_before)} before, {_load(outcome.load_after)} after",
        f"- software: Python {platform.python_version()}, {_versions()}",
        f"- server (every row, ceiling included): {server_settings()}; each run starts a fresh process",
        f"- load: {outcome.tool.version}"
        + (f" ({outcome.tool.note})" if outcome.tool.note else "")
        + (f", {o.threads} thread(s)" if outcome.tool.kind == "wrk" else "")
        + f", {conns} connections, from a separate process on 127.0.0.1",
        f"- runs: {o.runs} per row, rows interleaved within each run; {o.duration:g} s measured after "
        f"{o.warmup:g} s warm-up; figures are medians over runs",
        f"- store: {', '.join(backends) or 'none'}; {o.residents:,} residents; loader: {LOADER_DESCRIPTION}",
        f"- requests: rotated through {min(SAMPLE_IDS, o.residents):,} random resident ids "
        "(by-id: one id per request; list: one cursor per request)",
        *([f"- note: {o.note}"] if o.note else []),
        "",
    ]


def _summary(rows: list[RowSummary]) -> list[str]:
    """Return the table of medians, one row a line, and how to read it."""
    lines = [
        "| row | what | req/s | p50 ms | p99 ms | ratio to hello | server CPU µs/req | CPU ratio to hello "
        "| req/s min–max | non-2xx / errors | targets |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in rows:
        cpu = f"{r.cpu_us:,.0f}" if r.cpu_us else "–"
        targets = "; ".join(v.text() for v in r.verdicts) or "–"
        lines.append(
            f"| {r.label} | {r.title} | {r.rps:,.0f} | {r.p50_ms:.2f} | {r.p99_ms:.2f} | {_ratio(r.ratio)} | "
            f"{cpu} | {_ratio(r.cpu_ratio)} | {r.rps_min:,.0f}–{r.rps_max:,.0f} | {r.non2xx} / {r.errors} "
            f"| {targets} |"
        )
    lines += [
        "",
        "The ratio is the median over runs of (row req/s ÷ hello req/s of the same run). "
        "The CPU ratio is the median of (hello's server CPU µs per request ÷ the row's), "
        "read from /proc over the measured window: it moves far less than req/s when other work "
        "shares the box. Read ratios, not absolute figures.",
        "",
        *[f"- socket errors of {r.label}: {r.error_kinds}" for r in rows if r.error_kinds],
        "",
    ]
    return lines


def _targets(rows: list[RowSummary]) -> list[str]:
    """Return the verdicts of every row that has a target: met, not met, or not measured."""
    judged = [r for r in rows if r.verdicts]
    if not judged:
        return []
    lines = ["## Targets", ""]
    for r in judged:
        verdicts = [v.met for v in r.verdicts]
        overall = "met" if all(verdicts) else "not met" if False in verdicts else "not measured"
        lines.append(f"- {r.label}: {overall} — " + "; ".join(v.text() for v in r.verdicts))
    lines += [
        "",
        "Ratios are to hello in the same run (medians of the per-run ratios); p99 is the median over runs; "
        "`req/s × ROW` is this row's req/s over ROW's in the same run.",
        "",
    ]
    return lines


def _every_run(outcome: Outcome) -> list[str]:
    """Return the table of every run of every row."""
    lines = [
        "## Every run",
        "",
        "| run | row | req/s | p50 ms | p99 ms | ratio | CPU µs/req | CPU ratio |",
        "|---:|---|---:|---:|---:|---:|---:|---:|",
    ]
    ceiling, ceiling_cpu = _ceilings(outcome)
    for s in sorted(outcome.samples, key=lambda s: (s.run, [u.label for u in outcome.units].index(s.label))):
        ratio = s.result.rps / ceiling[s.run] if ceiling.get(s.run) else None
        lines.append(
            f"| {s.run} | {s.label} | {s.result.rps:,.0f} | {s.result.p50_ms:.2f} | "
            f"{s.result.p99_ms:.2f} | {_ratio(ratio)} | {s.cpu_us_per_request or 0:,.0f} | "
            f"{_ratio(_cpu_ratio(s, ceiling_cpu))} |"
        )
    return lines


def _profile(outcome: Outcome) -> list[str]:
    """Return the profile's summary, when a row was profiled."""
    if outcome.profile is None:
        return []
    return [
        "",
        f"## Profile of {outcome.profile_label}",
        "",
        f"Raw collapsed stacks: `{outcome.profile.raw.relative_to(REPO)}` (speedscope opens them).",
        "",
        "```",
        outcome.profile.summary.rstrip(),
        "```",
    ]


def default_path(outcome: Outcome) -> Path:
    """Return where this invocation's report goes: the dated file for the full suite, else a variant."""
    o = outcome.options
    day = f"{outcome.started:%Y-%m-%d}"
    if o.quick:
        return TMP / f"{day}-quick.md"
    if o.only:
        return RESULTS / f"{day}-{'-'.join(sorted(o.only))}.md"
    return RESULTS / f"{day}.md"


def write(outcome: Outcome, *, path: Path | None = None) -> tuple[Path, str]:
    """Write the report and return its path and text."""
    text = render(outcome)
    target = path or default_path(outcome)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text, encoding="utf-8")
    return target, text
