"""SQL functions the raw reader needs that DuckDB does not ship, for every DuckDB connection.

DuckDB can read a gzip *file* but has no function that inflates gzip *bytes*, and the raw reader
reads every object as a blob so that no object can fail a query
(macros/cross_engine/raw_reader.sql). dbt's connections get these functions from the dbt-duckdb
plugin (orchestration/duckdb_plugin.py, listed in profiles.yml); Python code that queries the raw
views (the run summary, the dashboards) calls :func:`register_functions` on its connection.
"""

from __future__ import annotations

import gzip
import zlib

from duckdb import DuckDBPyConnection

GUNZIP_FUNCTION = "eventlake_gunzip"


def gunzip(data: bytes | None) -> bytes | None:
    """The inflated bytes of a gzip stream (several members allowed), or None when the bytes
    are not gzip or the stream is corrupt or truncated: the reader quarantines it as
    ``bad_compression`` instead of failing the build."""
    if data is None:
        return None
    try:
        return gzip.decompress(data)
    except (OSError, EOFError, zlib.error):
        return None


def register_functions(conn: DuckDBPyConnection) -> DuckDBPyConnection:
    """Register the reader's functions on ``conn`` (once per connection) and return it."""
    conn.create_function(
        GUNZIP_FUNCTION,
        gunzip,
        ["BLOB"],
        "BLOB",
        # a failed inflation returns NULL, which DuckDB accepts only with SPECIAL handling
        null_handling="special",
        exception_handling="return_null",
        side_effects=False,
    )
    return conn
