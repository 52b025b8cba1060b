"""The cloud SQL gate: every statement the project can send to Athena or Redshift, rendered
offline, and the checks each one must pass.

What is rendered (no AWS account, no connection):
- `dbt compile --vars '{offline_compile: full|incremental}'`: every model in both incremental
  branches, every data test, snapshot and on-run-start hook; the queries the macros send through
  run_query at run time (eventlake.query_column) are recorded from dbt's debug log;
- one `dbt compile --inline` of the run-operations and the adapter-macro overrides:
  create_external_tables, register_raw_partitions and the source freshness queries.

How each statement is checked, per engine:
- Athena: sqlglot (athena) and trino-sql-validator (Trino grammar; Hive grammar for Athena's Hive
  DDL: CREATE DATABASE / CREATE EXTERNAL TABLE).
- Redshift: sqlglot (redshift), PostgreSQL's own parser (pglast), and Redshift's reserved words
  (no unquoted identifier may be one). PostgreSQL has no Redshift-only syntax, so REDSHIFT_ONLY
  below lists, with the documentation for each, what is rewritten or matched before pglast.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pglast
import sqlglot
import trino_sql_validator
from sqlglot import exp

from orchestration.dbt_runner import dbt_executable

# Fake settings only: nothing here can reach AWS, and nothing must.
FAKE_ENV = {
    "EVENTLAKE_ATHENA_S3_STAGING_DIR": "s3://offline-compile/athena-results/",
    "EVENTLAKE_ATHENA_S3_DATA_DIR": "s3://offline-compile/tables/",
    "EVENTLAKE_REDSHIFT_HOST": "offline-compile.invalid",
    "EVENTLAKE_REDSHIFT_USER": "offline",
    "EVENTLAKE_REDSHIFT_PASSWORD": "offline",
    "AWS_ACCESS_KEY_ID": "offline",
    "AWS_SECRET_ACCESS_KEY": "offline",
    "AWS_REGION": "eu-west-1",
    "AWS_DEFAULT_REGION": "eu-west-1",
    "EVENTLAKE_RAW_S3_URI": "s3://example-lake/raw/",
    "EVENTLAKE_ML_S3_URI": "s3://example-lake/ml",
    "EVENTLAKE_REDSHIFT_SPECTRUM_ROLE_ARN": "arn:aws:iam::123456789012:role/spectrum-read",
}
ENGINES = ("athena", "redshift")
MODES = ("full", "incremental")
RECORDED = re.compile(r"eventlake offline run_query <<<(.*?)>>>", re.S)

# Redshift's reserved words (Amazon Redshift Database Developer Guide, "Reserved words").
REDSHIFT_RESERVED = frozenset(
    word
    for line in (Path(__file__).parent / "redshift_reserved_words.txt").read_text().splitlines()
    if not line.startswith("#")
    for word in line.split()
)

# Redshift-only syntax PostgreSQL's grammar cannot read: (name, pattern, replacement for pglast).
# A replacement of None means the whole statement must match the pattern (Spectrum DDL).
REDSHIFT_ONLY: tuple[tuple[str, re.Pattern[str], str | None], ...] = (
    # PartiQL navigation over SUPER: FROM t, t.doc."features" AS element AT position
    # (docs: "Querying semistructured data", unnesting arrays).
    ("SUPER unnest AT", re.compile(r"(\bas\s+\w+)\s+at\s+\w+", re.I), r"\1"),
    # Late-binding views over external tables (docs: CREATE VIEW, WITH NO SCHEMA BINDING).
    ("late-binding view", re.compile(r"\bwith\s+no\s+schema\s+binding\s*$", re.I), ""),
    # Spectrum DDL (docs: CREATE EXTERNAL SCHEMA, CREATE EXTERNAL TABLE, ALTER TABLE ADD PARTITION).
    (
        "CREATE EXTERNAL SCHEMA",
        re.compile(
            r"create external schema if not exists \w+\s+from data catalog database '[\w-]+'\s+"
            r"iam_role 'arn:aws:iam::\d{12}:role/[\w+=,.@/-]+'\s+"
            r"create external database if not exists",
            re.I,
        ),
        None,
    ),
    (
        "CREATE EXTERNAL TABLE",
        re.compile(
            r"create external table (?P<table>\w+\.\w+) "
            r"\((?P<columns>[^()]*(?:\(\d+\)[^()]*)*)\)\s+"
            r"partitioned by \((?P<partitions>[^()]*(?:\(\d+\)[^()]*)*)\)\s+"
            r"(?:row format delimited fields terminated by '\\0\d\d'\s+)?"
            r"stored as (?:textfile|parquet)\s+location 's3://[\w./-]+/'",
            re.I,
        ),
        None,
    ),
    # The device registry's CSV (docs: CREATE EXTERNAL TABLE, ROW FORMAT SERDE OpenCSVSerde,
    # TABLE PROPERTIES 'skip.header.line.count').
    (
        "CREATE EXTERNAL TABLE (CSV with a header)",
        re.compile(
            r"create external table (?P<table>\w+\.\w+) "
            r"\((?P<columns>[^()]*(?:\(\d+\)[^()]*)*)\)\s+"
            r"row format serde 'org\.apache\.hadoop\.hive\.serde2\.OpenCSVSerde'\s+"
            r"stored as textfile\s+location 's3://[\w./-]+/'\s+"
            r"table properties \('skip\.header\.line\.count' = '1'\)",
            re.I,
        ),
        None,
    ),
    (
        "ALTER TABLE ADD PARTITION",
        re.compile(
            r"alter table \w+\.\w+ add if not exists"
            r"(?:\s+partition \(\w+ = '[\w/=-]+'\) location 's3://[\w./=-]+/')+",
            re.I,
        ),
        None,
    ),
)

# Column types each engine's contracts may declare (the engines' documented type names).
CONTRACT_TYPES = {
    "athena": {"boolean", "integer", "bigint", "double", "varchar", "date", "timestamp"},
    "redshift": {
        "boolean",
        "integer",
        "bigint",
        "double precision",
        "float8",
        "varchar",
        "date",
        "timestamp",
    },
}


@dataclass(frozen=True)
class Statement:
    origin: str  # what sends it: a compiled file, "run_query from <model>", an operation
    sql: str


def dbt(args: list[str], project: Path) -> subprocess.CompletedProcess[str]:
    completed = subprocess.run(
        [dbt_executable(), *args, "--project-dir", str(project), "--profiles-dir", str(project)],
        cwd=project,
        env={**os.environ, **FAKE_ENV},
        capture_output=True,
        text=True,
        check=False,
    )
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-2000:]
    return completed


def compile_engine(project: Path, engine: str, out: Path) -> None:
    """Make every rendered target of ``engine`` under ``out`` (rendered_target): the compile of
    each mode and the operations. Run in this process, one engine per process (dbt keeps global
    state): the project is parsed once for the engine and every compile reuses that manifest.

    The run_query statements are recorded from each compile's debug log, as an engine would be
    sent them (a parse renders models too, with unresolved relation names: never sent, not
    recorded)."""
    os.environ.update(FAKE_ENV)
    common = ["--project-dir", str(project), "--profiles-dir", str(project), "--target", engine]
    common += ["--no-populate-cache"]
    parse_target = rendered_target(out, engine, "parse")
    manifest = _dbt_result(["parse", *common, "--target-path", str(parse_target)], None)
    for mode in MODES:
        target = rendered_target(out, engine, mode)
        shutil.rmtree(target, ignore_errors=True)  # dbt appends to its log: start from nothing
        options = ["--vars", f"{{offline_compile: {mode}}}", "--target-path", str(target)]
        options += ["--log-path", str(target / "logs"), "--log-format-file", "json"]
        _dbt_result(["compile", *common, *options, "--log-level-file", "debug"], manifest)
    target = rendered_target(out, engine, "operations")
    options = ["--target-path", str(target), "--log-path", str(target / "logs")]
    done = _dbt_result(["compile", *common, *options, "--inline", OPERATIONS_TEMPLATE], manifest)
    (target / OPERATIONS_FILE).write_text(done.results[0].node.compiled_code.strip())


def _dbt_result(args: list[str], manifest: object) -> object:
    from dbt.cli.main import dbtRunner

    done = dbtRunner(manifest=manifest).invoke(["--quiet", *args])
    assert done.success, f"dbt {' '.join(args[:3])} failed: {done.exception}"
    return done.result


def make_engine_targets(project: Path, out: Path, engines: tuple[str, ...] = ENGINES) -> None:
    """compile_engine for each engine, each in a process of its own, side by side."""
    children = [
        subprocess.Popen(
            [sys.executable, __file__, "--engine", engine, str(out)],
            cwd=project,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for engine in engines
    ]
    for engine, child in zip(engines, children, strict=True):
        output, _ = child.communicate()
        assert child.returncode == 0, f"{engine} compile failed:\n{output[-3000:]}"


def read_compiled(target: Path) -> list[Statement]:
    """The statements of an (engine, mode) compile's target folder (compile_engine)."""
    compiled = target / "compiled" / "eventlake"
    statements = [
        Statement(str(path.relative_to(compiled)), path.read_text())
        for path in sorted(compiled.rglob("*.sql"))
    ]
    for line in (target / "logs" / "dbt.log").read_text().splitlines():
        message = json.loads(line).get("data", {}).get("msg", "")
        for sql in RECORDED.findall(message or ""):
            statements.append(Statement("run_query", sql))
    return statements


OPERATIONS_TEMPLATE = """
{%- set out = [] -%}
{%- for sql in eventlake.external_table_statements() -%}
    {%- do out.append(['run-operation create_external_tables', sql]) -%}
{%- endfor -%}
{%- for sql in eventlake.raw_partition_statements('2026-11-30 20') -%}
    {%- do out.append(['run-operation register_raw_partitions', sql]) -%}
{%- endfor -%}
{%- for node in graph.sources.values() -%}
    {%- set field = node.loaded_at_field or node.config.get('loaded_at_field') -%}
    {%- do out.append(['source freshness ' ~ node.unique_id, eventlake.freshness_query(
        source(node.source_name, node.name), field, (node.freshness or {}).get('filter')
    )]) -%}
{%- endfor -%}
{{ tojson(out) }}
"""


OPERATIONS_FILE = "operations.json"


def read_operations(target: Path) -> list[Statement]:
    """The statements of an engine's operations target folder (compile_engine)."""
    rendered = json.loads((target / OPERATIONS_FILE).read_text())
    return [Statement(origin, sql) for origin, sql in rendered]


def split_statements(statement: Statement) -> list[str]:
    """The SQL statements of one: hooks join theirs with ';' (models, tests and operations are
    one statement each, and their comments may hold a ';')."""
    if "/hooks/" not in statement.origin:
        return [statement.sql]
    return [part.strip() for part in statement.sql.split(";") if part.strip()]


# --- grammars ------------------------------------------------------------------------------------

HIVE_DDL = re.compile(r"^\s*create\s+(database|external\s+table)\b", re.I)


def athena_problems(sql: str) -> list[str]:
    problems = []
    try:
        for tree in sqlglot.parse(sql, read="athena", error_level=sqlglot.ErrorLevel.RAISE):
            if isinstance(tree, exp.Command):
                problems.append(f"sqlglot(athena) could not parse: {sql[:60]!r}")
    except sqlglot.errors.SqlglotError as error:
        problems.append(f"sqlglot(athena): {str(error)[:300]}")
    grammar = "hive" if HIVE_DDL.match(sql) else "trino"
    result = trino_sql_validator.validate(sql, dialect=grammar, jinja="reject")
    if not result.valid:
        problems.append(f"trino-sql-validator({grammar}): {result.error}")
    return problems


def redshift_problems(sql: str) -> list[str]:
    problems = []
    postgres_sql = sql
    whole_match = False
    for _name, pattern, replacement in REDSHIFT_ONLY:
        if replacement is None:
            if pattern.fullmatch(sql.strip()):
                whole_match = True
        else:
            postgres_sql = pattern.sub(replacement, postgres_sql)
    if re.match(r"^\s*(create\s+external|alter\s+table)", sql, re.I) and not whole_match:
        return [f"Spectrum DDL matches no documented form: {sql[:80]!r}"]
    if whole_match:
        return reserved_word_problems_in_ddl(sql)
    try:
        trees = sqlglot.parse(sql, read="redshift", error_level=sqlglot.ErrorLevel.RAISE)
        for tree in trees:
            if tree is None:
                continue
            if isinstance(tree, exp.Command):
                problems.append(f"sqlglot(redshift) could not parse: {sql[:60]!r}")
                continue
            problems.extend(reserved_word_problems(tree))
    except sqlglot.errors.SqlglotError as error:
        problems.append(f"sqlglot(redshift): {str(error)[:300]}")
    try:
        pglast.parse_sql(postgres_sql)
    except pglast.parser.ParseError as error:
        problems.append(f"pglast (PostgreSQL grammar): {error}")
    return problems


def reserved_word_problems(tree: exp.Expression) -> list[str]:
    return [
        f"unquoted Redshift reserved word {identifier.name!r} used as a name"
        for identifier in tree.find_all(exp.Identifier)
        if not identifier.quoted and identifier.name.upper() in REDSHIFT_RESERVED
    ]


def reserved_word_problems_in_ddl(sql: str) -> list[str]:
    """Names in Spectrum DDL: the schema.table, the column and partition names."""
    names = re.findall(r"(?:table|schema if not exists)\s+(\w+)(?:\.(\w+))?", sql, re.I)
    names += re.findall(r"[(,]\s*(\w+)\s+(?:varchar|double|boolean|date|timestamp)", sql, re.I)
    flat = [name for group in names for name in (group if isinstance(group, tuple) else (group,))]
    return [
        f"unquoted Redshift reserved word {name!r} used as a name"
        for name in flat
        if name and name.upper() in REDSHIFT_RESERVED
    ]


def statement_problems(engine: str, statement: Statement) -> list[str]:
    check = athena_problems if engine == "athena" else redshift_problems
    return [
        f"{statement.origin}: {problem}"
        for sql in split_statements(statement)
        for problem in check(sql)
    ]


# --- project rules the grammars cannot see --------------------------------------------------------


def contract_type_problems(engine: str, manifest: dict) -> list[str]:
    problems = []
    for node in manifest["nodes"].values():
        if not node.get("config", {}).get("contract", {}).get("enforced"):
            continue
        for column in node["columns"].values():
            declared = (column.get("data_type") or "").strip().lower()
            base = re.sub(r"\(.*\)$", "", declared).strip()
            if base not in CONTRACT_TYPES[engine]:
                problems.append(
                    f"{node['name']}.{column['name']}: {declared!r} is not a {engine} type"
                )
    return problems


def schema_creation_problems(
    engine: str, operations: list[Statement], schemas: set[str]
) -> list[str]:
    """create_external_tables creates every source schema before any DDL uses it, quoted."""
    ddl = [s.sql for s in operations if "create_external_tables" in s.origin]
    create = (
        "create database if not exists `{}`"
        if engine == "athena"
        else 'create schema if not exists "{}"'
    )
    problems = []
    for schema in sorted(schemas):
        statement = create.format(schema)
        uses = [i for i, sql in enumerate(ddl) if re.search(rf'[`"]?\b{schema}\b[`"]?\.', sql)]
        if statement not in ddl:
            problems.append(f"create_external_tables never creates schema {schema!r} ({statement})")
        elif uses and ddl.index(statement) > min(uses):
            problems.append(f"schema {schema!r} is created after DDL that uses it")
    return problems


def raw_pruning_problems(statements: list[Statement], raw_relations: set[str]) -> list[str]:
    """Queries of a raw feed that must prune to recent processing hours: the run-time object
    listing of incremental staging, incremental staging itself and source freshness."""
    problems = []
    for statement in statements:
        pruned_kind = (
            statement.origin == "run_query"
            or statement.origin.startswith("source freshness")
            or statement.origin.startswith("models/staging/")
        )
        reads = [r for r in raw_relations if r in statement.sql]
        if pruned_kind and reads and "landed_hour" not in statement.sql:
            problems.append(f"{statement.origin}: reads {reads[0]} without a landed_hour predicate")
    return problems


# Statements sqlfluff's dialects cannot read though the engines document them; the gate's two
# grammars still check them, sqlfluff does not see them: Spectrum's ALTER TABLE ... ADD PARTITION
# (redshift) and Athena's CREATE EXTERNAL TABLE ... STORED AS PARQUET (athena: TEXTFILE only).
SQLFLUFF_LACKS = {
    "redshift": re.compile(r"\s*alter table \w+\.\w+ add if not exists\s+partition", re.I),
    "athena": re.compile(r"\s*create external table .*\bstored as parquet\b", re.I | re.S),
}


def rendered_target(out: Path, engine: str, mode: str) -> Path:
    """Where write_rendered keeps the dbt target of an (engine, mode) compile, or of the
    operations (mode "operations"): tests/engines reuses them within one `make test`."""
    return out / "targets" / f"{engine}-{mode}"


def write_rendered(project: Path, out: Path) -> dict[str, int]:
    """Every distinct statement of each engine as a file under out/<engine>/ (for sqlfluff with
    the engine's dialect: `make sqllint`); returns the count per engine."""
    make_engine_targets(project, out)
    counts = {}
    for engine in ENGINES:
        folder = out / engine
        folder.mkdir(parents=True, exist_ok=True)
        for stale in folder.glob("*.sql"):
            stale.unlink()
        targets = [rendered_target(out, engine, mode) for mode in MODES]
        statements = [s for target in targets for s in read_compiled(target)]
        statements += read_operations(rendered_target(out, engine, "operations"))
        seen: set[str] = set()
        for statement in statements:
            for sql in split_statements(statement):
                if sql in seen or SQLFLUFF_LACKS[engine].match(sql):
                    continue
                seen.add(sql)
                name = re.sub(r"[^\w]+", "_", statement.origin).strip("_")[-80:]
                (folder / f"{len(seen):04d}_{name}.sql").write_text(sql.rstrip() + "\n")
        counts[engine] = len(seen)
    return counts


if __name__ == "__main__":
    # make sqllint: python tests/engines/cloud_sql.py <folder>
    # make_engine_targets, for one engine: python tests/engines/cloud_sql.py --engine E <folder>
    from orchestration.dbt_runner import ensure_profiles

    if sys.argv[1] == "--engine":
        compile_engine(ensure_profiles(), sys.argv[2], Path(sys.argv[3]))
    else:
        written = write_rendered(ensure_profiles(), Path(sys.argv[1]))
        print(", ".join(f"{engine}: {count} statements" for engine, count in written.items()))
