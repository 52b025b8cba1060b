"""The raw reader's gunzip function: inflates what it can, NULL (never an error) otherwise."""

from __future__ import annotations

import gzip

import duckdb

from orchestration.duckdb_functions import GUNZIP_FUNCTION, gunzip, register_functions


def test_gunzip_inflates_every_member_and_refuses_the_rest() -> None:
    assert gunzip(gzip.compress(b"a\n") + gzip.compress(b"b\n")) == b"a\nb\n"
    assert gunzip(b'{"not": "gzip"}') is None
    assert gunzip(gzip.compress(b"x" * 10_000)[:30]) is None  # truncated
    assert gunzip(None) is None


def test_registered_function_returns_null_on_bad_bytes_in_sql() -> None:
    with register_functions(duckdb.connect()) as con:
        rows = con.execute(
            f"select {GUNZIP_FUNCTION}(data) from (values (?), (?), (null)) as t(data)",
            [gzip.compress(b"ok"), b"plain"],
        ).fetchall()
    assert rows == [(b"ok",), (None,), (None,)]
