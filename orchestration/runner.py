"""`eventlake run`: the local runner of ``orchestration.pipeline.PIPELINE`` on the DuckDB lake.

One run, under a lock, walks the pipeline in order:

- the imports land what is pending; the gate then asks whether a new raw object arrived since
  the last successful run, and when none did, the rest is skipped (``force`` overrides); when
  some did, the main dbt build covers only what is downstream of the feeds that received them;
- dbt runs in this process (``WarmDbt``): the project is parsed once per run, and the DuckDB
  file is released between dbt commands for the ML steps and publish;
- a failed or interrupted run is resumed by the next one at the step where it stopped: the steps
  it completed are not repeated, a dbt step that failed is continued with ``dbt retry`` (only the
  nodes that errored or were skipped), the other steps are idempotent;
- every attempt that ends (succeeded, skipped, failed or interrupted by a signal) appends a run
  record to the lake (``orchestration.run_records``); a killed process (kill -9) writes none, and
  the next run resumes its pending state;
- SIGINT/SIGTERM let the current step finish (a dbt command included), then the run stops
  (resumable); a second signal aborts at once.

``EVENTLAKE_RUN_FAIL_AT=<step>`` injects a failure, for the resume tests and for rehearsing a
recovery: a non-dbt step does its work and then fails (so the re-run proves it idempotent); a
dbt step fails inside dbt, at one model's pre-hook (``macros/orchestration/injected_failure.sql``),
so nodes before it succeed and ``dbt retry`` has real work. ``<step>:<model>`` picks the model.
"""

from __future__ import annotations

import os
import signal
import socket
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

from ingestion.settings import LakePaths
from orchestration import run_state
from orchestration.pipeline import PIPELINE, Step
from orchestration.run_records import RunRecord, StepRecord, append_record
from orchestration.run_state import PendingRun, RunLock

if TYPE_CHECKING:
    from orchestration.dbt_runner import WarmDbt

FAIL_AT_ENV = "EVENTLAKE_RUN_FAIL_AT"
DBT_FAIL_NODE_ENV = "EVENTLAKE_DBT_FAIL_NODE"
# The model each dbt step fails at when a failure is injected without naming one: mid-graph,
# so some nodes have succeeded before it and others wait behind it.
DEFAULT_FAIL_NODES = {
    "dbt_build": "int_temperature_readings_unioned",
    "dbt_build_anomalies": "fct_temperature_anomalies",
}
EXIT_OK, EXIT_FAILED, EXIT_INTERRUPTED = 0, 1, 130


class InjectedFailure(RuntimeError):
    """The failure ``EVENTLAKE_RUN_FAIL_AT`` asked for."""


@dataclass(frozen=True)
class RunOptions:
    force: bool = False
    wait: bool = False
    restart: bool = False
    progress: bool = False


@dataclass
class RunResult:
    outcome: str  # succeeded, skipped, failed, interrupted, busy
    exit_code: int
    steps: list[StepRecord] = field(default_factory=list)
    run_id: str | None = None


class StopFlag:
    """Set by SIGINT/SIGTERM: the runner finishes the current step, then stops."""

    def __init__(self, wake: Callable[[], None] | None = None) -> None:
        self.signal_name: str | None = None
        self._wake = wake  # called on a stop request, e.g. to end the schedule's sleep

    @property
    def requested(self) -> bool:
        return self.signal_name is not None

    def request(self, name: str) -> None:
        self.signal_name = name
        if self._wake is not None:
            self._wake()

    @contextmanager
    def installed(self, say: Callable[[str], None]) -> Iterator[StopFlag]:
        """Handle SIGINT/SIGTERM while inside; a second signal restores the default (abort)."""
        previous: dict[int, object] = {}

        def handle(signum: int, _frame: FrameType | None) -> None:
            name = signal.Signals(signum).name
            say(f"{name} received: finishing the current step, then stopping (again to abort)")
            for sig, handler in previous.items():
                signal.signal(sig, handler)  # type: ignore[arg-type]
            self.request(name)

        for sig in (signal.SIGINT, signal.SIGTERM):
            previous[sig] = signal.signal(sig, handle)
        try:
            yield self
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)  # type: ignore[arg-type]


def _injected(step: Step) -> str | None:
    """The model to fail at (dbt) or "" (other kinds) when a failure is injected at ``step``."""
    wanted = os.environ.get(FAIL_AT_ENV, "")
    name, _, node = wanted.partition(":")
    if name != step.name:
        return None
    return node or DEFAULT_FAIL_NODES.get(step.name, "") if step.kind == "dbt" else ""


# ------------------------------------------------------------------------------- the steps


@dataclass
class _Context:
    paths: LakePaths
    pending: PendingRun
    options: RunOptions
    say: Callable[[str], None]
    resuming_step: str | None  # the step a resumed run failed at, if any
    warm_dbt: WarmDbt | None = None  # made by the first dbt step, kept for the run

    def dbt(self) -> WarmDbt:
        if self.warm_dbt is None:
            from orchestration.dbt_runner import WarmDbt

            self.warm_dbt = WarmDbt(self.paths)
        return self.warm_dbt


def _sources(paths: LakePaths, name: str) -> Path:
    return paths.data_dir / "sources" / name


def _import_history(ctx: _Context) -> tuple[str, int | None]:
    from ingestion.history.files import import_history_files

    folder = _sources(ctx.paths, "history_csv")
    if not folder.exists():
        return f"no {folder}: nothing to import", 0
    done = import_history_files(
        folder, paths=ctx.paths, progress=ctx.options.progress, require_files=False
    )
    return (
        f"{done.files_imported} files imported, {done.files_skipped} already imported,"
        f" {done.lines_landed:,} lines landed"
    ), done.lines_landed


def _extract_database(ctx: _Context) -> tuple[str, int | None]:
    from ingestion.history.database import default_demo_url, extract_database

    url = default_demo_url(ctx.paths)
    if not (ctx.paths.data_dir / "history_source.sqlite").exists():
        return "no sensor database (history_source.sqlite): nothing to extract", 0
    done = extract_database(url, paths=ctx.paths)
    return (
        f"{done.rows_extracted:,} rows extracted in {done.chunks} chunks"
        f" (high-water mark {done.describe_mark()})"
    ), done.rows_extracted


def _import_seismic(ctx: _Context) -> tuple[str, int | None]:
    from ingestion.seismic.importer import import_seismic_files

    folder = _sources(ctx.paths, "seismic_usgs")
    if not folder.exists():
        return f"no {folder}: nothing to import", 0
    done = import_seismic_files(folder, paths=ctx.paths, progress=ctx.options.progress)
    return done.describe(), done.files_imported


def _gate(ctx: _Context) -> tuple[str, int | None]:
    raw = run_state.raw_objects(ctx.paths)
    listing = raw | run_state.registry_versions(ctx.paths)
    before = run_state.last_success_objects(ctx.paths)
    new = listing if before is None else listing - before
    new_raw = raw if before is None else raw - before
    ctx.pending.new_data = before is None or bool(new) or ctx.options.force
    ctx.pending.new_raw_objects = len(new_raw)
    ctx.pending.seen = sorted(listing)
    ctx.pending.new_feeds = None if before is None or ctx.options.force else run_state.feeds_of(new)
    if before is None:
        detail = f"first run: {len(raw):,} raw objects"
    elif new:
        detail = f"{len(new_raw):,} new raw objects since the last successful run"
        if len(new) > len(new_raw):
            detail += ", and the device registry changed"
    else:
        detail = "no new raw object since the last successful run"
        if ctx.options.force:
            detail += " (--force: running every step)"
    return detail, len(new_raw)


def _dbt(step: Step, ctx: _Context) -> tuple[str, int | None]:
    node = _injected(step)
    env = {DBT_FAIL_NODE_ENV: node} if node else {DBT_FAIL_NODE_ENV: ""}
    state = run_state.dbt_state_dir(ctx.paths, ctx.pending.run_id, step.name)
    retry = ctx.resuming_step == step.name and (state / "run_results.json").exists()
    args = ["retry", "--state", str(state)] if retry else _dbt_command(step, ctx)
    # A dbt that fails before writing results must not leave an older command's results to be
    # kept as this step's (dbt retry would then find nothing to retry and pass).
    (run_state.dbt_target_dir() / "run_results.json").unlink(missing_ok=True)
    try:
        done = ctx.dbt().invoke(args, extra_env=env)
    except Exception:
        run_state.keep_dbt_results(ctx.paths, ctx.pending.run_id, step.name)
        raise
    statuses: dict[str, int] = {}
    for result in done.results:
        statuses[str(result.status)] = statuses.get(str(result.status), 0) + 1
    shown = ", ".join(f"{n} {status}" for status, n in sorted(statuses.items())) or "nothing to do"
    return f"dbt {' '.join(args[:1] if retry else args)}: {shown}", None


def _dbt_command(step: Step, ctx: _Context) -> list[str]:
    """The step's dbt arguments; narrowed to the feeds that landed new objects when it may be."""
    feeds = ctx.pending.new_feeds
    if not step.narrow_to_new_feeds or feeds is None:
        return list(step.command)
    return narrowed_command(step, ctx.dbt().manifest, feeds)


def narrowed_command(step: Step, manifest: Any, feeds: list[str]) -> list[str]:
    """A ``narrow_to_new_feeds`` step's dbt arguments when only ``feeds`` changed."""
    command = list(step.command)
    return [command[0], "--select", *downstream_of_feeds(manifest, feeds), *command[1:]]


def downstream_of_feeds(manifest: Any, feeds: list[str]) -> list[str]:
    """dbt selectors for what reads the given raw feeds (sources with a ``raw_feed`` meta), for
    a device registry file when it changed (run_state.registry_feed), and for the sources
    every run writes (the run records and the ML scores; the step's own ``--exclude`` still
    applies). An unchanged registry selects nothing: every feed's staging reads it, so
    selecting it would rebuild and test every feed."""
    selectors = []
    for source in sorted(manifest.sources.values(), key=lambda s: s.unique_id):
        if "raw_feed" in source.meta:
            selected = source.meta["raw_feed"] in feeds
        elif "registry_table" in source.meta:
            selected = run_state.registry_feed(source.meta["registry_table"]) in feeds
        else:
            selected = True
        if selected:
            selectors.append(f"source:{source.source_name}.{source.name}+")
    return selectors


def _ml(step: Step, ctx: _Context) -> tuple[str, int | None]:
    """One ML step over every room. A room that fails is named in the step's detail and the run
    goes on (its data would fail every resume the same way, and the other rooms' anomalies
    still reach the marts); the step fails only when rooms were tried and every one failed."""
    from ml import pipeline
    from ml.config import RcfConfig, retrain_after_from_env

    config = RcfConfig.from_env()
    if step.name == "ml_export":
        reports = pipeline.export(ctx.paths, config)
        detail = f"{len(reports)} rooms' features exported (shingle {config.shingle_size})"
        return _room_failures(step, reports, detail, ctx), None
    if step.name == "ml_train":
        due = retrain_after_from_env()
        reports = pipeline.train(ctx.paths, config, retrain_after=due)
        trained = sum(not r.skipped and not r.failed for r in reports)
        detail = (
            f"{trained} of {len(reports)} room models trained"
            f" (retrained after {due.total_seconds() / 3600:g} h or a new engine/configuration)"
        )
        return _room_failures(step, reports, detail, ctx), None
    if step.name == "ml_score":
        scored = pipeline.score(ctx.paths)
        landed = [r.landed for r in scored if r.landed is not None and not r.landed.skipped]
        flagged = sum(r.flagged_readings for r in scored)
        events = sum(r.anomaly_events for r in scored)
        detail = (
            f"{len(landed)} of {len(scored)} rooms re-scored ({events:,} anomaly events,"
            f" {flagged:,} readings flagged)"
        )
        return _room_failures(step, scored, detail, ctx), sum(r.rows for r in landed)
    raise ValueError(f"no local action for ML step {step.name!r}")


def _room_failures(step: Step, reports: Sequence[Any], detail: str, ctx: _Context) -> str:
    """``detail`` with the failed rooms named (each said with its reason); raises if all failed."""
    from ml.pipeline import failed_rooms

    failed = failed_rooms(reports)
    for report in reports:
        if report.failed:
            ctx.say(f"    room {report.room_id} FAILED: {report.detail}")
    if failed and len(failed) == len(reports):
        raise RuntimeError(f"{step.name} failed for every room ({', '.join(failed)}); see above")
    return f"{detail}; failed: {', '.join(failed)}" if failed else detail


def _publish(ctx: _Context) -> tuple[str, int | None]:
    from orchestration.publish import publish_curated

    published = publish_curated(ctx.paths)
    return "; ".join(p.describe() for p in published), sum(p.rows_written for p in published)


def _summary(ctx: _Context) -> tuple[str, int | None]:
    from orchestration.summary import read_summary

    summary = read_summary(ctx.paths)
    ctx.say(summary.render())
    return f"{len(summary.layer_rows)} layers counted", None


def _dashboards(ctx: _Context) -> tuple[str, int | None]:
    from orchestration.dashboards import write_dashboards

    run = ctx.pending
    # the run's own record is written after this last step: say so rather than leave it out
    this_run = (
        f"This run ({run.run_id}, started {run.started_at}, attempt {run.attempt}) wrote these"
        " pages as its last step; its record is added when it finishes (`eventlake dashboards`"
        " shows it)."
    )
    return f"written: {write_dashboards(ctx.paths, run_in_progress=this_run)}", None


def _action(step: Step) -> Callable[[_Context], tuple[str, int | None]]:
    by_name = {
        "import_history_files": _import_history,
        "extract_database": _extract_database,
        "import_seismic_files": _import_seismic,
    }
    by_kind: dict[str, Callable[[_Context], tuple[str, int | None]]] = {
        "gate": _gate,
        "dbt": lambda ctx: _dbt(step, ctx),
        "ml": lambda ctx: _ml(step, ctx),
        "publish": _publish,
        "summary": _summary,
        "dashboards": _dashboards,
    }
    action = by_name.get(step.name) or by_kind.get(step.kind)
    if action is None:
        raise ValueError(f"pipeline step {step.name!r} ({step.kind}) has no local action")
    return action


# ------------------------------------------------------------------------------- the run


def run_pipeline(
    paths: LakePaths,
    options: RunOptions = RunOptions(),
    say: Callable[[str], None] = print,
    stop: StopFlag | None = None,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> RunResult:
    """One run of the pipeline under the lock; see the module docstring."""
    if stop is None:
        stop = StopFlag()
        with stop.installed(say):
            return run_pipeline(paths, options, say, stop, now)
    lock = RunLock(paths)
    holder = f"pid {os.getpid()} on {socket.gethostname()} since {now():%Y-%m-%d %H:%M:%S} UTC"
    if not lock.acquire(wait=False, holder=holder):
        if not options.wait:
            say(f"a run is in progress ({lock.holder()}): not starting another")
            return RunResult("busy", EXIT_OK)
        say(f"a run is in progress ({lock.holder()}): waiting for it to finish")
        lock.acquire(wait=True, holder=holder)
    try:
        return _run_locked(paths, options, say, stop, now)
    finally:
        lock.release()


def _run_locked(
    paths: LakePaths,
    options: RunOptions,
    say: Callable[[str], None],
    stop: StopFlag,
    now: Callable[[], datetime],
) -> RunResult:
    pending = PendingRun.load(paths)
    if options.restart and pending is not None:
        say(f"--restart: run {pending.run_id} will not be resumed")
        run_state.forget_dbt_results(paths, pending.run_id)
        pending = None
    started = now()
    if pending is None:
        run_id = f"{started:%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:8]}"
        pending = PendingRun(run_id, started.isoformat(), options.force)
        resumed_at = None
    else:
        pending.attempt += 1
        pending.forced = pending.forced or options.force
        resumed_at = next((s.name for s in PIPELINE if s.name not in pending.completed), None)
        say(
            f"resuming run {pending.run_id} (attempt {pending.attempt}) at step {resumed_at}:"
            f" {len(pending.completed)} steps done by earlier attempts"
        )
    effective = RunOptions(pending.forced, options.wait, options.restart, options.progress)
    ctx = _Context(paths, pending, effective, say, pending.failed_step)
    records: list[StepRecord] = []
    outcome, failed, error = "succeeded", None, None
    total = len(PIPELINE)
    for number, step in enumerate(PIPELINE, 1):
        if step.name in pending.completed:
            records.append(StepRecord(step.name, "done", 0.0, "done by an earlier attempt"))
            continue
        if step.skip_when_no_new_data and pending.new_data is False:
            records.append(StepRecord(step.name, "skipped", 0.0, "no new raw data"))
            pending.completed.append(step.name)
            continue
        if stop.requested:
            outcome = "interrupted"
            break
        say(f"==> [{number}/{total}] {step.name}: {step.description}")
        began = time.perf_counter()
        try:
            detail, rows = _action(step)(ctx)
            if _injected(step) == "":
                raise InjectedFailure(f"{FAIL_AT_ENV}={step.name}: failure injected after the step")
        except Exception as exc:
            elapsed = time.perf_counter() - began
            outcome, failed, error = "failed", step.name, f"{type(exc).__name__}: {exc}"
            records.append(StepRecord(step.name, "failed", round(elapsed, 3), error))
            say(f"    FAILED after {elapsed:.1f}s: {exc}")
            pending.failed_step = step.name
            pending.save(paths)
            _finish(paths, pending, records, outcome, failed, error, resumed_at, started, now)
            say(f"the run stopped at {step.name}; `eventlake run` resumes it there")
            if isinstance(exc, (ValueError, OSError, RuntimeError)):
                return RunResult(outcome, EXIT_FAILED, records, pending.run_id)
            raise
        elapsed = time.perf_counter() - began
        records.append(StepRecord(step.name, "ran", round(elapsed, 3), detail, rows))
        say(f"    {detail} ({elapsed:.1f}s)")
        pending.completed.append(step.name)
        pending.failed_step = None
        pending.save(paths)
    if outcome == "succeeded" and pending.new_data is False:
        outcome = "skipped"
    _finish(paths, pending, records, outcome, failed, error, resumed_at, started, now)
    say(render_timings(records))
    if outcome == "skipped":
        skipped = sum(r.status == "skipped" for r in records)
        say(
            f"no new raw object since the last successful run: skipped {skipped} steps"
            " (`eventlake run --force` runs them anyway)"
        )
    if outcome == "interrupted":
        left = next(s.name for s in PIPELINE if s.name not in pending.completed)
        say(f"stopped on {stop.signal_name} before {left}; `eventlake run` resumes there")
        return RunResult(outcome, EXIT_INTERRUPTED, records, pending.run_id)
    return RunResult(outcome, EXIT_OK, records, pending.run_id)


def _finish(
    paths: LakePaths,
    pending: PendingRun,
    records: list[StepRecord],
    outcome: str,
    failed: str | None,
    error: str | None,
    resumed_at: str | None,
    started: datetime,
    now: Callable[[], datetime],
) -> None:
    """Write the attempt's run record; on success, remember what was seen and forget the run."""
    if outcome in ("succeeded", "skipped"):
        run_state.save_success(paths, pending.run_id, pending.seen)
        PendingRun.clear(paths)
        run_state.forget_dbt_results(paths, pending.run_id)
    elif outcome == "interrupted":
        pending.save(paths)
    append_record(
        paths,
        RunRecord(
            attempt_id=f"{pending.run_id}-{pending.attempt}",
            run_id=pending.run_id,
            attempt=pending.attempt,
            started_at=started.astimezone(UTC),
            finished_at=now().astimezone(UTC),
            outcome=outcome,
            forced=pending.forced,
            resumed_at_step=resumed_at,
            failed_step=failed,
            error=error,
            new_raw_objects=pending.new_raw_objects,
            steps=records,
        ),
    )


def render_timings(records: list[StepRecord]) -> str:
    width = max(len(r.name) for r in records) if records else 4
    lines = ["", f"{'step':<{width}}  {'status':<8} {'seconds':>8}  rows"]
    for r in records:
        rows = "" if r.rows is None else f"{r.rows:,}"
        lines.append(f"{r.name:<{width}}  {r.status:<8} {r.seconds:>8.1f}  {rows}")
    lines.append(f"{'total':<{width}}  {'':<8} {sum(r.seconds for r in records):>8.1f}")
    return "\n".join(lines)


# ------------------------------------------------------------------------------- the schedule


def parse_interval(text: str) -> timedelta:
    """``15m``, ``1h``, ``30s``, ``1d``: a positive whole number and a unit."""
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    number, unit = text[:-1], text[-1:]
    if unit not in units or not number.isdigit() or int(number) < 1:
        raise ValueError(f"not an interval like 15m, 1h, 30s or 1d: {text!r}")
    return timedelta(seconds=int(number) * units[unit])


def run_every(
    paths: LakePaths,
    interval: timedelta,
    options: RunOptions = RunOptions(),
    say: Callable[[str], None] = print,
) -> int:
    """Run now, then at every ``interval`` until SIGINT/SIGTERM (a run in progress finishes its
    current step first). A failed run does not stop the schedule: the next one resumes it."""
    import threading

    wake = threading.Event()
    stop = StopFlag(wake.set)
    with stop.installed(say):
        next_at = time.monotonic()
        while True:
            try:
                result = run_pipeline(paths, options, say, stop)
            except Exception as exc:  # a bug in one run must not end the schedule
                say(f"the run failed unexpectedly ({type(exc).__name__}: {exc}); next tick resumes")
                result = RunResult("failed", EXIT_FAILED, [], None)
            # --restart discards the unfinished run once, not at every tick.
            options = replace(options, restart=False)
            if stop.requested:
                say(f"schedule stopped on {stop.signal_name}")
                return EXIT_OK if result.outcome != "interrupted" else EXIT_INTERRUPTED
            # The next tick on the grid; ticks missed while a run overran are not made up.
            while next_at <= time.monotonic():
                next_at += interval.total_seconds()
            say(f"next run in {next_at - time.monotonic():.0f}s (every {interval})")
            wake.wait(next_at - time.monotonic())
            if stop.requested:
                say(f"schedule stopped on {stop.signal_name}")
                return EXIT_OK
