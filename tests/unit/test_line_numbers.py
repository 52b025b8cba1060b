"""DuckDB's line numbering stays exact when hash() collides (issue 13, item 5).

The macro partitions by the line's 64-bit hash() for speed; hash() is not collision-free, so the
test runs the macro's own SQL with every line forced into one hash partition (the worst
collision possible) and compares it with numbering by the exact text.
"""

from __future__ import annotations

import re

import duckdb

from ingestion.settings import PROJECT_ROOT

MACRO = PROJECT_ROOT / "macros" / "cross_engine" / "line_numbers.sql"


def duckdb_macro_sql(relation: str) -> str:
    text = MACRO.read_text()
    body = re.search(
        r"{% macro duckdb__number_identical_lines\(relation\) -%}(.*?){%- endmacro %}", text, re.S
    )
    assert body, "duckdb__number_identical_lines not found"
    return body.group(1).replace("{{ relation }}", relation)


def test_occurrences_are_exact_even_when_every_line_collides() -> None:
    sql = duckdb_macro_sql("lines")
    assert "hash(line)" in sql
    colliding = sql.replace("hash(line)", "42")  # every line in one partition
    with duckdb.connect() as con:
        con.execute(
            "create table lines as select * from (values"
            " ('o1', 'b'), ('o1', 'a'), ('o1', 'b'), ('o1', 'c'), ('o1', 'a'), ('o1', 'b'),"
            " ('o2', 'a'), ('o2', null), ('o2', null)) as t(source_file, line)"
        )
        con.execute("alter table lines add column landed_at timestamp")
        con.execute("alter table lines add column read_error varchar")
        exact = (
            "select source_file, line, row_number() over"
            " (partition by source_file, line order by line) from lines"
        )
        for query in (sql, colliding):
            got = con.execute(
                f"select source_file, line, line_occurrence from ({query}) order by all"
            ).fetchall()
            assert got == con.execute(f"{exact} order by all").fetchall()
            assert ("o1", "b", 3) in got and ("o2", None, 2) in got
