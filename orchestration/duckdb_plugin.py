"""dbt-duckdb plugin: gives every connection dbt opens the raw reader's SQL functions.

Listed under ``plugins:`` of the local target in ``profiles.yml`` (see profiles.yml.example);
dbt-duckdb calls ``configure_connection`` on every connection it opens. Without it, ``.gz``
objects are quarantined as ``unreadable_object`` rather than read.
"""

from __future__ import annotations

from dbt.adapters.duckdb.plugins import BasePlugin
from duckdb import DuckDBPyConnection

from orchestration.duckdb_functions import register_functions


class Plugin(BasePlugin):
    def configure_connection(self, conn: DuckDBPyConnection) -> None:
        register_functions(conn)
