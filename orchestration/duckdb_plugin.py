"""dbt-duckdb plugin: SQL functions the raw reader needs that DuckDB does not ship.

Listed under ``plugins:`` of the local target in ``profiles.yml``; dbt-duckdb calls
``configure_connection`` on every connection it opens. DuckDB can read a gzip *file* but has no
function that inflates gzip *bytes*, and the raw reader reads every object as a blob so that no
object can fail a query (macros/cross_engine/raw_reader.sql). Without this plugin, ``.gz``
objects are quarantined as ``unreadable_object`` rather than read.
"""

from __future__ import annotations

import gzip
import zlib

from dbt.adapters.duckdb.plugins import BasePlugin
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


class Plugin(BasePlugin):
    def configure_connection(self, conn: DuckDBPyConnection) -> None:
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
