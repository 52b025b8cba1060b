"""The pipeline, written once: its steps, their order, what each reads and writes, when it skips.

Both runners are made from ``PIPELINE``: the local runner (``eventlake run``, in
``orchestration/runner.py``) executes it step by step on the DuckDB lake, and the AWS renderer
turns it into an Amazon States Language definition. Neither keeps an order of its own.

The contract a runner can rely on:

- ``PIPELINE`` is in execution order. Consecutive steps that share a ``parallel_group`` form one
  group whose steps are independent of each other (a Parallel state on AWS; run one after the
  other locally, where they share one machine).
- Exactly one step has kind ``"gate"``. It runs after the imports and answers "did a new raw
  object land since the last successful run?". When it says no, every later step with
  ``skip_when_no_new_data`` is skipped (a Choice state on AWS); ``--force`` overrides it.
- ``command`` is what the step runs. For kind ``"dbt"`` it is the dbt arguments (``dbt
  <command...>``; on AWS the dbt container's command, resumed with ``dbt retry``). For the other
  kinds it is the ``eventlake`` CLI arguments that do the same as the local step on its own, with
  ``{data_dir}`` standing for the lake folder (``eventlake --data-dir D <command...>``). The gate
  has no command: it is the runner's own decision.
- A dbt step with ``narrow_to_new_feeds`` may be narrowed by a runner that knows which raw
  feeds landed new objects to the models, snapshots and tests downstream of those feeds'
  sources (``source:<source>.<table>+``, sources named by their ``raw_feed`` meta); the first
  run and ``--force`` run the whole ``command``. The AWS renderer runs the whole command.
- ``per_room`` steps work room by room (a Map state over rooms on AWS; one loop locally).
- ``reads`` and ``writes`` name lake zones and dbt selections, for the docs and the renderers'
  comments; they are descriptive, not paths (paths come from ``ingestion.settings.LakePaths``).

Step names are stable identifiers: run records, ``EVENTLAKE_RUN_FAIL_AT`` and resume use them.
"""

from __future__ import annotations

from dataclasses import dataclass

KINDS = frozenset({"import", "gate", "dbt", "ml", "publish", "summary", "dashboards"})

# The anomaly marts are built after the models have been scored; everything else before.
ANOMALY_MARTS_SELECTOR = "stg_ml_scores__anomaly_scores+"
# The scheduled job runs no unit tests: their inputs are fixed in the yml, so they prove the SQL,
# not the data, and change only with the code (`make test` and `eventlake build` run them).
NO_UNIT_TESTS = ("--exclude-resource-type", "unit_test")


@dataclass(frozen=True)
class Step:
    """One step of the pipeline; see the module docstring for how runners read each field."""

    name: str
    kind: str
    description: str
    reads: tuple[str, ...]
    writes: tuple[str, ...]
    skip_when_no_new_data: bool
    command: tuple[str, ...]
    parallel_group: str | None = None
    per_room: bool = False
    narrow_to_new_feeds: bool = False

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"step {self.name}: kind must be one of {sorted(KINDS)}")
        if not self.name.isidentifier():
            raise ValueError(f"step name {self.name!r} must be an identifier (a-z, 0-9, _)")

    def cli_command(self, data_dir: str) -> tuple[str, ...]:
        """The command with ``{data_dir}`` filled in (dbt arguments for dbt steps)."""
        return tuple(part.format(data_dir=data_dir) for part in self.command)


IMPORTS = "imports"

PIPELINE: tuple[Step, ...] = (
    Step(
        name="import_history_files",
        kind="import",
        description="land the historical CSV exports not imported yet",
        reads=("{data_dir}/sources/history_csv (CSV exports)",),
        writes=("raw/sensor_history",),
        skip_when_no_new_data=False,
        command=("import-history", "{data_dir}/sources/history_csv", "--allow-empty"),
        parallel_group=IMPORTS,
    ),
    Step(
        name="extract_database",
        kind="import",
        description="extract the sensor database's new rows above the high-water mark",
        reads=("sensor database (JDBC/SQLAlchemy)", "state (high-water mark)"),
        writes=("raw/sensor_db_extract", "state (high-water mark)"),
        skip_when_no_new_data=False,
        command=("extract-db",),
        parallel_group=IMPORTS,
    ),
    Step(
        name="import_seismic_files",
        kind="import",
        description="land the seismic GeoJSON files (FDSN/EMSC/USGS) not imported yet",
        reads=("{data_dir}/sources/seismic_usgs (GeoJSON files)",),
        writes=("raw/seismic_events",),
        skip_when_no_new_data=False,
        command=("import-seismic", "{data_dir}/sources/seismic_usgs"),
        parallel_group=IMPORTS,
    ),
    Step(
        name="check_new_data",
        kind="gate",
        description="did a new raw object land since the last successful run?",
        reads=("raw (object listing)", "run state (listing at the last successful run)"),
        writes=(),
        skip_when_no_new_data=False,
        command=(),
    ),
    Step(
        name="dbt_build",
        kind="dbt",
        description=(
            "dbt build of every model, seed, snapshot and data test except the anomaly marts"
            " (locally, after the first run: those downstream of the feeds that landed and of a"
            " changed device registry)"
        ),
        reads=("raw", "seeds"),
        writes=("warehouse: staging, intermediate, marts, quarantine",),
        skip_when_no_new_data=True,
        command=("build", "--exclude", ANOMALY_MARTS_SELECTOR, *NO_UNIT_TESTS),
        narrow_to_new_feeds=True,
    ),
    Step(
        name="ml_export",
        kind="ml",
        description="export each room's shingled features (SageMaker RCF's CSV input)",
        reads=("fct_room_temperature_series",),
        writes=("ml/export/room_id=<room>",),
        skip_when_no_new_data=True,
        command=("ml", "export"),
        per_room=True,
    ),
    Step(
        name="ml_train",
        kind="ml",
        description=(
            "train a room's Random Cut Forest when due: no model, the model's engine or"
            " configuration changed, or it is older than EVENTLAKE_RCF_RETRAIN_AFTER_HOURS"
        ),
        reads=("fct_room_temperature_series", "ml/models"),
        writes=("ml/models/room_id=<room>",),
        skip_when_no_new_data=True,
        command=("ml", "train", "--when-due"),
        per_room=True,
    ),
    Step(
        name="ml_score",
        kind="ml",
        description="score each room's readings with its model and land the scores",
        reads=("fct_room_temperature_series", "ml/models"),
        writes=("ml/anomaly_scores/room_id=<room>/reading_date=<date>",),
        skip_when_no_new_data=True,
        command=("ml", "score"),
        per_room=True,
    ),
    Step(
        name="dbt_build_anomalies",
        kind="dbt",
        description="dbt build of the anomaly marts over the landed scores",
        reads=("ml/anomaly_scores", "marts"),
        writes=("warehouse: anomaly staging, intermediate and marts",),
        skip_when_no_new_data=True,
        command=("build", "--select", ANOMALY_MARTS_SELECTOR, *NO_UNIT_TESTS),
    ),
    Step(
        name="publish",
        kind="publish",
        description="publish the changed fact partitions as curated Parquet",
        reads=("marts (partitioned facts)",),
        writes=("curated/<fact>/<partition>/part-0.parquet",),
        skip_when_no_new_data=True,
        command=("publish",),
    ),
    Step(
        name="summary",
        kind="summary",
        description="rows per layer, quarantine reasons, room statistics and anomalies",
        reads=("warehouse",),
        writes=(),
        skip_when_no_new_data=True,
        command=("summary",),
    ),
    Step(
        name="dashboards",
        kind="dashboards",
        description="write the offline HTML dashboards from the marts",
        reads=("marts", "pipeline_runs"),
        writes=("{data_dir}/dashboards/*.html",),
        skip_when_no_new_data=True,
        command=("dashboards",),
    ),
)


def step(name: str) -> Step:
    """The step called ``name``; a ValueError naming the valid steps otherwise."""
    for candidate in PIPELINE:
        if candidate.name == name:
            return candidate
    raise ValueError(f"no pipeline step {name!r}; steps: {', '.join(s.name for s in PIPELINE)}")


def step_names() -> tuple[str, ...]:
    return tuple(s.name for s in PIPELINE)


def gate_index() -> int:
    """Position of the gate in ``PIPELINE``."""
    return next(i for i, s in enumerate(PIPELINE) if s.kind == "gate")


def _check(pipeline: tuple[Step, ...]) -> None:
    names = [s.name for s in pipeline]
    if len(set(names)) != len(names):
        raise ValueError(f"pipeline step names repeat: {names}")
    if sum(s.kind == "gate" for s in pipeline) != 1:
        raise ValueError("the pipeline needs exactly one gate step")
    groups = [s.parallel_group for s in pipeline]
    for i, group in enumerate(groups):
        if group is not None and group in groups[:i] and groups[i - 1] != group:
            raise ValueError(f"parallel group {group!r} must be consecutive steps")


_check(PIPELINE)
