"""The cloud SQL gate (tests/engines/cloud_sql.py): every statement the project can send to
Athena or Redshift parses with two grammars per engine, contracts use the engine's type names,
source schemas are created before use, raw reads prune to recent hours; and each defect of
issue 10, put back on purpose, makes the gate fail."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cloud_sql import (
    ENGINES,
    MODES,
    Statement,
    contract_type_problems,
    dbt,
    raw_pruning_problems,
    schema_creation_problems,
    split_statements,
    statement_problems,
)

from orchestration.dbt_runner import ensure_profiles

PROJECT = Path(__file__).resolve().parents[2]
# Every model the cloud engines build: the local runner's run records are disabled there.
MODELS = sorted(
    p.stem
    for p in (PROJECT / "models").rglob("*.sql")
    if p.stem != "stg_orchestration__pipeline_runs"
)
SOURCE_SCHEMAS = {"raw", "ml"}  # the defaults of EVENTLAKE_RAW_SCHEMA / EVENTLAKE_ML_SCHEMA
RAW_RELATIONS = {
    f'"raw"."{feed}"'
    for feed in re.findall(
        r"raw_feed: (\w+)",
        "".join(p.read_text() for p in (PROJECT / "models/staging").rglob("_*__sources.yml")),
    )
}


@pytest.fixture(scope="module", params=ENGINES)
def engine(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture(scope="module")
def statements(engine: str, compiled_statements, operation_statements) -> list[Statement]:
    found = [s for mode in MODES for s in compiled_statements(engine, mode)[1]]
    return found + operation_statements(engine)


def test_every_statement_parses_with_two_grammars(engine: str, statements: list[Statement]):
    origins = {s.origin for s in statements}
    for model in MODELS:  # every model, in both incremental branches
        assert sum(1 for o in origins if o.endswith(f"/{model}.sql")) == 1, model
    assert sum(s.origin == "run_query" for s in statements) >= 10  # recorded at run time
    assert any("/hooks/" in o for o in origins) and any(o.startswith("tests/dbt/") for o in origins)
    assert any("create_external_tables" in o for o in origins)
    assert any(o.startswith("source freshness") for o in origins)
    if engine == "redshift":
        assert any("register_raw_partitions" in o for o in origins)
    problems = [p for s in statements for p in statement_problems(engine, s)]
    count = sum(len(split_statements(s)) for s in statements)
    assert not problems, f"{len(problems)} of {count} {engine} statements fail:\n" + "\n".join(
        problems[:20]
    )


def test_contract_types_are_the_engines_own(engine: str, compiled_project):
    manifest = json.loads((compiled_project(engine, "full") / "manifest.json").read_text())
    assert not contract_type_problems(engine, manifest)


def test_source_schemas_are_created_before_use(engine: str, operation_statements):
    assert not schema_creation_problems(engine, operation_statements(engine), SOURCE_SCHEMAS)


def test_raw_reads_prune_to_recent_hours(engine: str, compiled_statements, operation_statements):
    incremental = compiled_statements(engine, "incremental")[1] + operation_statements(engine)
    assert not raw_pruning_problems(incremental, RAW_RELATIONS)


# --- each defect of issue 10, reintroduced: the gate must fail ------------------------------


def _mutated(statements: list[Statement], origin: str, old: str, new: str) -> list[Statement]:
    """The statements with `old` replaced in those whose origin contains `origin` (which must
    contain `old`, so a mutation can never silently miss)."""
    hit = [s for s in statements if origin in s.origin and old in s.sql]
    assert hit, f"mutation target {old!r} not found in {origin}"
    return [
        replace(s, sql=s.sql.replace(old, new)) if origin in s.origin else s for s in statements
    ]


def _problems(engine: str, statements: list[Statement]) -> list[str]:
    return [p for s in statements for p in statement_problems(engine, s)]


def test_defect_1_reserved_trailing_alias_fails(compiled_statements):
    statements = compiled_statements("redshift", "full")[1]
    window = "int_traffic_measurements_windowed.sql"
    mutated = _mutated(statements, window, "earlier", "trailing")
    assert any("'trailing'" in p or "pglast" in p for p in _problems("redshift", mutated))


def test_defect_2_reserved_raw_alias_in_run_query_fails(compiled_statements):
    statements = compiled_statements("redshift", "incremental")[1]
    mutated = _mutated(statements, "run_query", "landed.", "raw.")
    mutated = _mutated(mutated, "run_query", "as landed", "as raw")
    assert any("'raw'" in p for p in _problems("redshift", mutated))


@pytest.mark.parametrize("target", ENGINES)
def test_defect_3_uncreated_or_unquoted_schema_fails(target: str, operation_statements):
    operations = operation_statements(target)
    without_create = [
        s for s in operations if not re.match(r"create (schema|database) if not exists", s.sql)
    ]
    assert schema_creation_problems(target, without_create, SOURCE_SCHEMAS)
    if target == "redshift":
        unquoted = [replace(s, sql=re.sub(r'"raw"\."(\w+)"', r"raw.\1", s.sql)) for s in operations]
        assert any("'raw'" in p for p in _problems("redshift", unquoted))


def test_defect_4_double_contract_type_on_redshift_fails(compiled_project):
    manifest = json.loads((compiled_project("redshift", "full") / "manifest.json").read_text())
    for node in manifest["nodes"].values():
        for column in node["columns"].values():
            if column.get("data_type") == "double precision":
                column["data_type"] = "double"
    assert len(contract_type_problems("redshift", manifest)) >= 30


def test_defect_6_unpruned_freshness_fails(engine: str, operation_statements):
    operations = operation_statements(engine)
    mutated = [
        replace(s, sql=re.sub(r"where landed_hour >= '[^']*'", "", s.sql))
        if s.origin.startswith("source freshness")
        else s
        for s in operations
    ]
    assert raw_pruning_problems(mutated, RAW_RELATIONS)


def test_pruned_freshness_reaches_past_each_feeds_error_after(engine: str, operation_statements):
    """A feed staler than its error_after must still be seen as such: the pruned window reaches
    an hour past it (sensor_history errors after 2160 h, far beyond the 48 h relist window)."""
    # Window starts, compared with each other (not with the clock: the statements may have been
    # rendered long before this test runs): traffic's window is the 48 h floor.
    starts = {
        s.origin: datetime.strptime(since, "%Y/%m/%d/%H")
        for s in operation_statements(engine)
        if s.origin.startswith("source freshness")
        for since in re.findall(r"landed_hour >= '([^']*)'", s.sql)
    }
    history = next(start for origin, start in starts.items() if "sensor_history" in origin)
    traffic = next(start for origin, start in starts.items() if "traffic_firehose" in origin)
    # 2160 h + 1 against 48 h, give or take the hour boundary the rendering may straddle.
    assert timedelta(hours=2112) <= traffic - history <= timedelta(hours=2114)


def test_defect_9_unpartitioned_spectrum_staging_fails(compiled_statements, operation_statements):
    staging = compiled_statements("redshift", "incremental")[1]
    mutated = [
        replace(s, sql=re.sub(r"landed_hour in \([^)]*\)\s*and", "", s.sql)) for s in staging
    ]
    assert raw_pruning_problems(mutated, RAW_RELATIONS)
    ddl = _mutated(
        operation_statements("redshift"),
        "create_external_tables",
        "partitioned by (landed_hour varchar(13))\n",
        "",
    )
    assert any("Spectrum DDL" in p for p in _problems("redshift", ddl))


def _sqlfluff(sql: str, engine: str) -> list[dict]:
    import sqlfluff

    return sqlfluff.lint(sql, dialect=engine, config_path=str(PROJECT / ".sqlfluff-rendered"))


def test_defect_8_sqlfluff_lints_the_redshift_rendering(compiled_statements):
    """make sqllint lints the renderings in the engine's dialect: the windowed model passes as
    rendered and fails with the reserved alias put back."""
    window = next(
        s
        for s in compiled_statements("redshift", "full")[1]
        if s.origin.endswith("int_traffic_measurements_windowed.sql")
    )
    assert not _sqlfluff(window.sql, "redshift")
    mutated = window.sql.replace("earlier", "trailing")
    assert _sqlfluff(mutated, "redshift")


def test_defect_7_no_freshness_check_before_scoring():
    """The ml_scores source is fresh only once a run has scored: no pipeline step checks source
    freshness before the scoring step (the main job is orchestration/pipeline.py)."""
    from orchestration.pipeline import PIPELINE

    names = [step.name for step in PIPELINE]
    scoring = names.index("ml_score")
    for index, step in enumerate(PIPELINE):
        if "freshness" in " ".join(step.command or ()):
            assert index > scoring, names


def test_a_spectrum_backfill_registers_at_most_100_hours_per_statement(tmp_path: Path):
    """A backfill of weeks of hours is many ALTER TABLE statements, none of thousands of
    PARTITION clauses; together they cover every hour once."""
    since = (datetime.now(UTC) - timedelta(days=10)).strftime("%Y-%m-%d")
    template = (
        "{% for s in eventlake.raw_partition_statements('" + since + "') %}"
        "{{ s.split()[2] }}:{{ s.count('partition (') }} {% endfor %}"
    )
    done = dbt(
        ["compile", "--quiet", "--target", "redshift", "--no-populate-cache",
         "--target-path", str(tmp_path), "--inline", template],
        ensure_profiles(),
    )  # fmt: skip
    counts: dict[str, list[int]] = {}
    for item in done.stdout.split():
        table, n = item.rsplit(":", 1)
        counts.setdefault(table, []).append(int(n))
    assert len(counts) == len(RAW_RELATIONS)
    for table, sizes in counts.items():
        assert max(sizes) <= 100 and len(sizes) >= 3, (table, sizes)
        assert 240 <= sum(sizes) <= 11 * 24 + 1, (table, sizes)
