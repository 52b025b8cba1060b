"""The `eventlake` command line: one entry point, one subcommand per pipeline step."""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import traceback
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any, NoReturn

from ingestion.settings import LakePaths, lake_paths

EXIT_USAGE = 2
EXIT_FAILURE = 1
TRACEBACK_ENV = "EVENTLAKE_TRACEBACK"
_STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class _Parser(argparse.ArgumentParser):
    """argparse that reports a usage mistake as one line (not a usage block) and exits 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _utc_datetime(text: str) -> datetime:
    try:
        value = datetime.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not an ISO date/time: {text!r}") from exc
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from exc
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _fraction(text: str) -> float:
    try:
        value = float(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from exc
    if not 0.0 <= value < 1.0:
        raise argparse.ArgumentTypeError(f"must be in [0, 1), got {value}")
    return value


def _utc_date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not an ISO date (YYYY-MM-DD): {text!r}") from exc


def _broker(text: str) -> tuple[str, int]:
    from ingestion.delivery.mqtt import parse_broker

    try:
        return parse_broker(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from exc
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be positive, got {value}")
    return value


def _interval(text: str) -> timedelta:
    from orchestration.runner import parse_interval

    try:
        return parse_interval(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


def build_parser() -> argparse.ArgumentParser:
    # Shared options work before or after the subcommand.
    common = _Parser(add_help=False)
    common.add_argument(
        "--data-dir",
        default=argparse.SUPPRESS,
        help="local lake and warehouse folder (default: $EVENTLAKE_DATA_DIR or ./data)",
    )
    common.add_argument(
        "--no-progress", action="store_true", default=argparse.SUPPRESS, help="no progress bars"
    )
    parser = _Parser(
        prog="eventlake",
        description="Sensor and event data lake: ingestion, dbt models, curated Parquet.",
        parents=[common],
    )
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    for name, text in (
        ("demo", "simulate demo data, then run the whole pipeline on the local DuckDB lake"),
        ("run", "run the pipeline: imports, dbt, ML per room, publish (locked, resumable)"),
        ("simulate", "simulate sensor readings and deliver them"),
        ("simulate-traffic", "simulate traffic detector measurements and land them"),
        ("import-history", "land historical CSV files (folder, file or s3://)"),
        ("simulate-seismic", "simulate daily EMSC earthquake files and land them"),
        ("import-seismic", "land FDSN/EMSC/USGS GeoJSON files (folder, file or s3://)"),
        ("extract-db", "extract the sensor database incrementally"),
        ("build", "dbt build on the local lake, then publish curated Parquet"),
        ("publish", "publish changed fact partitions as curated Parquet"),
        ("summary", "print rows per layer, quarantine reasons and room statistics"),
        ("dashboards", "write the dashboards (offline HTML pages) from the marts"),
        ("ml", "anomaly detection: export, train, score, evaluate, rebuild-marts"),
        (
            "mqtt-bridge",
            "land MQTT messages from a broker in the raw zone (stands in for IoT rule)",
        ),
    ):
        sub.add_parser(name, help=text, parents=[common])

    demo = sub.choices["demo"]
    demo.add_argument(
        "--end", type=_utc_datetime, help="end of the simulated week (default: this hour, UTC)"
    )
    demo.add_argument(
        "--days", type=_positive_int, default=7, help="days of live readings (default 7)"
    )
    demo.add_argument(
        "--rooms", type=_positive_int, default=5, help="rooms from the registry (default 5)"
    )
    demo.add_argument("--seed", type=int, default=7, help="simulation seed (default 7)")
    demo.add_argument(
        "--simulate-only", action="store_true", help="make the demo data, do not run the pipeline"
    )

    run = sub.choices["run"]
    run.add_argument("--force", action="store_true", help="run every step even with no new data")
    run.add_argument("--wait", action="store_true", help="wait for a run in progress, then run")
    run.add_argument(
        "--restart", action="store_true", help="start a new run instead of resuming a failed one"
    )
    run.add_argument(
        "--every", type=_interval, help="run now and then on this schedule, e.g. 15m, 1h, 1d"
    )

    sim = sub.choices["simulate"]
    sim.add_argument("--start", type=_utc_datetime, required=True, help="first reading time (UTC)")
    sim.add_argument(
        "--end", type=_utc_datetime, required=True, help="end of the range (UTC, exclusive)"
    )
    sim.add_argument("--rooms", type=_positive_int, default=5, help="rooms from the registry")
    sim.add_argument("--cadence-seconds", type=_positive_int, default=60)
    sim.add_argument("--seed", type=int, default=0)
    sim.add_argument("--malformed-fraction", type=_fraction, default=0.0)
    sim.add_argument("--duplicate-fraction", type=_fraction, default=0.0)
    sim.add_argument("--anomalies", action="store_true", help="inject labelled anomalies")
    sim.add_argument("--delivery", choices=("local", "firehose", "iot", "mqtt"), default="local")
    sim.add_argument("--gzip", action="store_true", help="GZIP objects (local delivery)")
    sim.add_argument("--stream-name", help="Firehose delivery stream (--delivery firehose)")
    sim.add_argument(
        "--topic", help="IoT Core topic (--delivery iot), MQTT topic (mqtt, eventlake/readings)"
    )
    sim.add_argument("--iot-endpoint", help="IoT data endpoint URL (--delivery iot)")
    sim.add_argument(
        "--broker",
        type=_broker,
        default=("127.0.0.1", 1883),
        help="MQTT broker host[:port] (--delivery mqtt, default 127.0.0.1:1883)",
    )

    traffic = sub.choices["simulate-traffic"]
    traffic.add_argument(
        "--start", type=_utc_datetime, required=True, help="first measurement minute (UTC)"
    )
    traffic.add_argument(
        "--end", type=_utc_datetime, required=True, help="end of the range (UTC, exclusive)"
    )
    traffic.add_argument(
        "--locations", type=_positive_int, default=48, help="detectors from the registry"
    )
    traffic.add_argument("--seed", type=int, default=0)
    for fault in ("malformed", "duplicate", "dropout", "no-data", "late"):
        traffic.add_argument(f"--{fault}-fraction", type=_fraction, default=0.0)
    traffic.add_argument("--gzip", action="store_true", help="GZIP the landed objects")

    bridge = sub.choices["mqtt-bridge"]
    bridge.add_argument(
        "--broker",
        type=_broker,
        default=("127.0.0.1", 1883),
        help="MQTT broker host[:port] (default 127.0.0.1:1883)",
    )
    bridge.add_argument(
        "--topic", default="eventlake/readings", help="topic filter, e.g. sensors/+/temperature"
    )
    bridge.add_argument(
        "--client-id",
        default="eventlake-mqtt-bridge",
        help="persistent session id: unacknowledged messages wait for the next run under it",
    )
    bridge.add_argument("--max-messages", type=_positive_int, help="stop after N messages")
    bridge.add_argument(
        "--idle-timeout", type=_positive_float, help="stop after S seconds without a message"
    )

    hist = sub.choices["import-history"]
    hist.add_argument("source", help="a local file or folder, or s3://bucket/prefix")
    hist.add_argument(
        "--allow-empty",
        action="store_true",
        help="a source with no CSV file imports nothing and succeeds (scheduled imports)",
    )

    quake = sub.choices["simulate-seismic"]
    quake.add_argument("--start", type=_utc_date, required=True, help="first day (UTC date)")
    quake.add_argument("--days", type=_positive_int, default=7, help="daily files (default 7)")
    quake.add_argument(
        "--events-per-day", type=_positive_int, default=300, help="mean events a day (default 300)"
    )
    quake.add_argument("--invalid-fraction", type=_fraction, default=0.0)
    quake.add_argument(
        "--broken-files", type=int, default=0, help="whole daily files landed broken (default 0)"
    )
    quake.add_argument("--seed", type=int, default=0)

    quake_import = sub.choices["import-seismic"]
    quake_import.add_argument("source", help="a local file or folder, or s3://bucket/prefix")

    db = sub.choices["extract-db"]
    db.add_argument("--url", help="SQLAlchemy URL (default: the demo SQLite file)")
    db.add_argument("--table", default="temperatures")
    db.add_argument("--chunk-size", type=_positive_int, default=10_000)
    db.add_argument("--format", choices=("ndjson", "parquet"), default="ndjson")

    build = sub.choices["build"]
    build.add_argument("--full-refresh", action="store_true")
    build.add_argument(
        "--reading-interval-seconds",
        type=_positive_int,
        help="cadence for rooms with none registered and too few readings to infer one"
        " (default: dbt var, 60)",
    )

    ml = sub.choices["ml"]
    ml.add_argument("step", choices=ML_STEPS)
    # No defaults here: a flag given to a step it does not apply to is refused (_check_ml_flags).
    ml.add_argument("--engine", choices=("local", "sagemaker"), help="default local (krcf)")
    ml.add_argument("--rooms", help="comma-separated room ids (default: every room)")
    ml.add_argument(
        "--shingle-size", type=_positive_int, help="readings per feature vector (feature_dim)"
    )
    ml.add_argument(
        "--max-gap-seconds",
        type=_positive_int,
        help="a window never spans a longer gap (default: 15 x each room's cadence)",
    )
    ml.add_argument("--threshold-sigmas", type=_positive_float, help="mean + N std (default 3)")
    ml.add_argument("--threshold-quantile", type=_fraction, help="flag above this quantile instead")
    ml.add_argument(
        "--when-due",
        action="store_true",
        default=None,
        help="train: only rooms whose model is missing, changed or older than"
        " $EVENTLAKE_RCF_RETRAIN_AFTER_HOURS (default 168)",
    )

    from ingestion import land
    from orchestration import deploy, devices

    land.add_parser(sub, common)
    deploy.add_parser(sub, common)
    devices.add_parser(sub, common)

    return parser


def _run(args: argparse.Namespace) -> int:
    paths = lake_paths(getattr(args, "data_dir", None))
    progress = not getattr(args, "no_progress", False) and sys.stderr.isatty()
    if args.command == "demo":
        from ingestion.sensors import load_room_ids
        from orchestration.demo import ROOM_REGISTRY, DemoConfig, default_end, run_demo

        _first(load_room_ids(ROOM_REGISTRY), args.rooms, "--rooms", "rooms")

        return run_demo(
            DemoConfig(
                end=args.end or default_end(),
                days=args.days,
                rooms=args.rooms,
                seed=args.seed,
                progress=progress,
            ),
            paths,
            simulate_only=args.simulate_only,
        )
    elif args.command == "run":
        from orchestration.runner import RunOptions, run_every, run_pipeline

        options = RunOptions(
            force=args.force, wait=args.wait, restart=args.restart, progress=progress
        )
        if args.every:
            return run_every(paths, args.every, options)
        return run_pipeline(paths, options).exit_code
    elif args.command == "simulate":
        from ingestion.sensors import SimulationConfig, load_room_ids
        from ingestion.sensors.landing import land_simulation
        from orchestration.demo import ROOM_REGISTRY

        options: dict[str, object] = {}
        if args.delivery == "firehose":
            if not args.stream_name:
                raise ValueError("--delivery firehose needs --stream-name")
            options["stream_name"] = args.stream_name
        if args.delivery == "iot":
            if not args.topic:
                raise ValueError("--delivery iot needs --topic")
            options.update(topic=args.topic, endpoint_url=args.iot_endpoint)
        if args.delivery == "mqtt":
            options.update(host=args.broker[0], port=args.broker[1])
            if args.topic:
                options["topic"] = args.topic
        report = land_simulation(
            SimulationConfig(
                rooms=_first(load_room_ids(ROOM_REGISTRY), args.rooms, "--rooms", "rooms"),
                start=args.start,
                end=args.end,
                cadence=timedelta(seconds=args.cadence_seconds),
                seed=args.seed,
                malformed_fraction=args.malformed_fraction,
                anomalies=args.anomalies,
                duplicate_fraction=args.duplicate_fraction,
            ),
            paths,
            delivery=args.delivery,
            gzip=args.gzip,
            progress=progress,
            delivery_options=options,
        )
        print(_batch_line(report, "records", "delivered"))
    elif args.command == "simulate-traffic":
        from ingestion.traffic import TrafficSimulationConfig, land_traffic, load_locations

        traffic = land_traffic(
            TrafficSimulationConfig(
                locations=_first(load_locations(), args.locations, "--locations", "detectors"),
                start=args.start,
                end=args.end,
                seed=args.seed,
                malformed_fraction=args.malformed_fraction,
                duplicate_fraction=args.duplicate_fraction,
                dropout_fraction=args.dropout_fraction,
                no_data_fraction=args.no_data_fraction,
                late_fraction=args.late_fraction,
            ),
            paths,
            gzip=args.gzip,
            progress=progress,
        )
        print(_batch_line(traffic, "measurements", "landed"))
    elif args.command == "import-history":
        from ingestion.history.files import import_history_files

        imported = import_history_files(
            args.source, paths=paths, progress=progress, require_files=not args.allow_empty
        )
        print(
            f"{imported.files_imported} files imported, {imported.files_skipped} already imported, "
            f"{imported.lines_landed:,} lines landed"
        )
    elif args.command == "land":
        from ingestion import land

        land.run_cli(args, paths)
    elif args.command == "simulate-seismic":
        from ingestion.seismic import SeismicConfig
        from ingestion.seismic.landing import land_seismic

        landing = land_seismic(
            SeismicConfig(
                start=args.start,
                days=args.days,
                events_per_day=args.events_per_day,
                seed=args.seed,
                invalid_fraction=args.invalid_fraction,
                broken_files=args.broken_files,
            ),
            paths,
        )
        print(f"batch {landing.batch_id}: {landing.describe()}")
    elif args.command == "import-seismic":
        from ingestion.seismic.importer import import_seismic_files

        print(import_seismic_files(args.source, paths=paths, progress=progress).describe())
    elif args.command == "extract-db":
        from ingestion.history.database import default_demo_url, extract_database

        extracted = extract_database(
            args.url or default_demo_url(paths),
            paths=paths,
            table=args.table,
            chunk_size=args.chunk_size,
            output_format=args.format,
        )
        print(
            f"{extracted.rows_extracted:,} rows extracted in {extracted.chunks} chunks "
            f"(high-water mark {extracted.describe_mark()})"
        )
    elif args.command == "build":
        from orchestration.dbt_runner import run_dbt
        from orchestration.publish import publish_curated

        dbt_args = ["build", *(["--full-refresh"] if args.full_refresh else [])]
        if args.reading_interval_seconds:  # e.g. after `simulate --cadence-seconds 2`
            interval = {"expected_reading_interval_seconds": args.reading_interval_seconds}
            dbt_args += ["--vars", json.dumps(interval)]
        run_dbt(dbt_args, paths)
        for published in publish_curated(paths):
            print(published.describe())
    elif args.command == "publish":
        from orchestration.publish import publish_curated

        _require_warehouse(paths)
        for published in publish_curated(paths):
            print(published.describe())
    elif args.command == "ml":
        return _run_ml(args, paths)
    elif args.command == "mqtt-bridge":
        _run_mqtt_bridge(args, paths)
    elif args.command == "dashboards":
        from orchestration.dashboards import write_dashboards

        print(f"dashboards written: {write_dashboards(paths)}")
    elif args.command == "summary":
        from orchestration.summary import read_summary

        _require_warehouse(paths)
        print(read_summary(paths).render())
    elif args.command == "deploy":
        from orchestration import deploy

        deploy.run_cli(args, paths)
    elif args.command == "devices":
        from orchestration import devices

        devices.run_cli(args, paths)
    return 0


def _require_warehouse(paths: LakePaths) -> None:
    if not paths.duckdb_file.exists():
        raise FileNotFoundError(f"no warehouse at {paths.duckdb_file}; run `eventlake demo` first")


def _first(registered: list[Any], wanted: int, flag: str, noun: str) -> list[Any]:
    """The first ``wanted`` registered devices; asking for more than exist is an error."""
    if wanted > len(registered):
        raise ValueError(
            f"{flag} {wanted}: the registry has only {len(registered)} {noun}; "
            f"ask for at most {len(registered)}, or register more in seeds/"
        )
    return registered[:wanted]


ML_STEPS = ("export", "train", "score", "evaluate", "rebuild-marts")
# The flags each ML step reads; any other flag given to it is a usage error, not ignored.
_ML_FLAGS: dict[str, tuple[str, ...]] = {
    "export": ("rooms", "shingle_size", "max_gap_seconds"),
    "train": (
        "engine",
        "rooms",
        "shingle_size",
        "max_gap_seconds",
        "threshold_sigmas",
        "threshold_quantile",
        "when_due",
    ),
    "score": ("engine", "rooms"),  # the model's own shingling and threshold score
    "evaluate": (),
    "rebuild-marts": (),
}
_ML_FLAG_HINTS = {
    "score": "; a model scores with the shingling and threshold it was trained with: pass it to"
    " `ml train`"
}


def _check_ml_flags(args: argparse.Namespace) -> str | None:
    """One line naming the flags the step does not apply, or None when every flag applies."""
    given = [
        name
        for names in _ML_FLAGS.values()
        for name in names
        if getattr(args, name, None) is not None
    ]
    refused = sorted({n for n in given if n not in _ML_FLAGS[args.step]})
    if not refused:
        return None
    shown = ", ".join("--" + name.replace("_", "-") for name in refused)
    return (
        f"eventlake ml {args.step}: {shown} does not apply to {args.step}"
        f"{_ML_FLAG_HINTS.get(args.step, '; see eventlake ml --help')}"
    )


def _run_ml(args: argparse.Namespace, paths: LakePaths) -> int:
    """One ML step; configuration from EVENTLAKE_RCF_* / EVENTLAKE_SAGEMAKER_* and the flags.

    Rooms fail one at a time: each failed room is printed with its reason, the others go on,
    and the step exits non-zero at the end when any room failed.
    """
    from ml import pipeline
    from ml.config import RcfConfig

    refused = _check_ml_flags(args)
    if refused:
        print(refused, file=sys.stderr)
        return EXIT_USAGE
    if args.step == "rebuild-marts":
        from orchestration.dbt_runner import run_dbt

        _require_warehouse(paths)
        run_dbt(["build", "--select", pipeline.REBUILD_MARTS_SELECTOR], paths)
        print(f"anomaly marts rebuilt (dbt build --select {pipeline.REBUILD_MARTS_SELECTOR})")
        return 0
    if args.step == "evaluate":
        from ml.evaluate import evaluate_warehouse

        print(evaluate_warehouse(paths))
        return 0
    engine = args.engine or "local"
    config = RcfConfig.from_env(
        shingle_size=args.shingle_size,
        max_gap_seconds=args.max_gap_seconds,
        threshold_sigmas=args.threshold_sigmas,
        threshold_quantile=args.threshold_quantile,
    )
    rooms = [r.strip() for r in args.rooms.split(",") if r.strip()] if args.rooms else None
    runner = pipeline.sagemaker_runner(config) if engine == "sagemaker" else None
    if args.step == "export":
        reports = pipeline.export(paths, config, rooms)
        for report in reports:
            print(f"{report.room_id}: {'FAILED: ' if report.failed else ''}{report.detail}")
    elif args.step == "train":
        from ml.config import retrain_after_from_env

        due = retrain_after_from_env() if args.when_due else None
        reports = pipeline.train(paths, config, engine, rooms, runner, retrain_after=due)
        for report in reports:
            print(f"{report.room_id}: {'FAILED: ' if report.failed else ''}{report.detail}")
    else:
        reports = pipeline.score(paths, engine, rooms, runner)
        for scored in reports:
            print(f"{scored.room_id}: {_score_line(scored)}")
    failed = pipeline.failed_rooms(reports)
    if failed:
        print(
            f"eventlake: error: ml {args.step} failed for {len(failed)} of {len(reports)} rooms"
            f" ({', '.join(failed)}); the reasons are above",
            file=sys.stderr,
        )
        return EXIT_FAILURE
    return 0


def _score_line(scored: Any) -> str:
    if scored.failed:
        return f"FAILED: {scored.error}"
    landed = scored.landed
    if landed.skipped:
        return f"{landed.rows:,} readings scored; already scored by this model, skipped"
    return (
        f"{landed.rows:,} readings scored; {scored.anomaly_events:,} anomaly events"
        f" ({scored.flagged_readings:,} readings flagged); {landed.partitions_written}"
        f" partitions written, {landed.partitions_removed} removed"
    )


def _batch_line(report: Any, noun: str, done: str) -> str:
    """One line for a simulated batch: landed now, or skipped because it already was."""
    state = "already landed, skipped" if report.skipped else done
    return (
        f"batch {report.batch_id}: {report.records:,} {noun} {state} ({report.objects:,} objects)"
    )


def _run_mqtt_bridge(args: argparse.Namespace, paths: LakePaths) -> None:
    """Run the bridge into the live feed until stopped; SIGINT/SIGTERM land the buffer first."""
    from ingestion.delivery import LocalFirehoseDelivery
    from ingestion.mqtt_bridge import MqttToFirehoseBridge
    from ingestion.raw_zone import RawZone
    from ingestion.sensors.landing import LIVE_FEED, LIVE_STREAM

    delivery = LocalFirehoseDelivery(RawZone(paths.raw), LIVE_FEED, LIVE_STREAM, progress=False)
    host, port = args.broker
    bridge = MqttToFirehoseBridge(
        delivery, host=host, port=port, topic=args.topic, client_id=args.client_id
    )
    previous = {sig: signal.signal(sig, lambda *_: bridge.stop()) for sig in _STOP_SIGNALS}
    try:
        report = bridge.run(max_messages=args.max_messages, idle_timeout=args.idle_timeout)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    print(
        f"{report.records:,} messages from {host}:{port} {args.topic!r} landed in "
        f"{report.objects:,} objects under {paths.raw / LIVE_FEED}"
    )


def _one_line(exc: BaseException) -> str:
    """The message on one line: drivers (DuckDB, psycopg) put hints on lines of their own."""
    return " ".join(part.strip() for part in str(exc).splitlines() if part.strip()) or repr(exc)


def main(argv: Sequence[str] | None = None) -> int:
    import duckdb

    args = build_parser().parse_args(argv)
    try:
        return _run(args)
    except KeyboardInterrupt:
        print("eventlake: interrupted", file=sys.stderr)
        return 130
    except (ValueError, OSError, RuntimeError, duckdb.Error) as exc:
        # Expected failures (bad input, missing files, a failed dbt node, a missing, corrupt or
        # locked warehouse) are one clear line.
        print(f"eventlake: error: {_one_line(exc)}", file=sys.stderr)
        return EXIT_FAILURE
    except Exception as exc:
        # A bug: still one line, with the way to get the traceback for the report.
        print(
            f"eventlake: internal error ({type(exc).__name__}): {_one_line(exc)}; this is a bug,"
            f" run again with {TRACEBACK_ENV}=1 for the traceback and report it",
            file=sys.stderr,
        )
        if os.environ.get(TRACEBACK_ENV):
            traceback.print_exc()
        return EXIT_FAILURE


if __name__ == "__main__":
    sys.exit(main())
