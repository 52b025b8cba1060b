"""Pure transforms shared by the local extractors and the AWS Glue job.

Every historical source lands the live feed's payload, one JSON object per line::

    {"timestamp": "YYYY-MM-DD HH:MM:SS", "room_id": "A101", "temperature": 21.37}

Validation happens later, in SQL, where a bad row is quarantined with a reason. So nothing here
drops or repairs a value; it only carries it across faithfully:

- ``timestamp``: a ``datetime`` is formatted ``YYYY-MM-DD HH:MM:SS`` (tz-aware values converted to
  UTC first; naive values are taken as already UTC; sub-seconds are truncated like the live feed's);
  a ``date`` becomes ``YYYY-MM-DD``; a string passes through unchanged, however malformed.
- ``temperature`` (source column ``temp``): a number stays a number (``Decimal`` becomes int/float);
  a numeric-looking string (``"21.37"``, ``" 7 "``, ``"-1e2"``) becomes a JSON number; any other
  string (``"21,4"``, ``"NaN"``, ``"warm"``) stays a JSON string; non-finite floats become strings
  because JSON has no NaN/Infinity.
- ``room_id``: passed through unchanged (a string stays a string, even ``"101"``).
- empty strings and ``None`` become ``null``; a column missing from the row is left out of the
  payload (SQL reports both as a missing field).

This module imports only the standard library: the Glue job ships it with ``--extra-py-files``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

PAYLOAD_FIELDS = ("timestamp", "room_id", "temperature")
TIMESTAMP_FORMAT = "%Y-%m-%d %H:%M:%S"

# A JSON-compatible decimal number, optionally signed and with surrounding whitespace.
_NUMERIC = re.compile(r"\s*[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?\s*")
_INTEGER = re.compile(r"\s*[+-]?\d+\s*")


@dataclass(frozen=True)
class ColumnMapping:
    """Source column names (and Glue types) for each payload field.

    The defaults are the seed's Glue ``ApplyMapping``: ``timestamp``, ``room_id`` and ``temp``.
    The seed maps ``temp`` as ``bigint``, which would truncate 21.37 to 21; the default type here is
    ``double``. Types are only used by the Glue job (``ApplyMapping`` keeps each column's type, it
    never casts, so a bad value reaches SQL as it was).
    """

    timestamp: str = "timestamp"
    room_id: str = "room_id"
    temperature: str = "temp"
    timestamp_type: str = "string"
    room_id_type: str = "string"
    temperature_type: str = "double"

    @property
    def source_columns(self) -> tuple[str, str, str]:
        """Source column names in payload order (timestamp, room_id, temperature)."""
        return (self.timestamp, self.room_id, self.temperature)

    def pairs(self) -> tuple[tuple[str, str, str], ...]:
        """``(payload field, source column, source type)`` for each payload field."""
        return (
            ("timestamp", self.timestamp, self.timestamp_type),
            ("room_id", self.room_id, self.room_id_type),
            ("temperature", self.temperature, self.temperature_type),
        )


DEFAULT_MAPPING = ColumnMapping()
"""The seed's CSV / Glue catalog columns."""

DB_MAPPING = ColumnMapping(timestamp="measured_at", timestamp_type="timestamp")
"""The ``temperatures`` table of the source database (``measured_at`` holds the reading time)."""


def format_timestamp(value: Any) -> Any:
    """The payload's ``timestamp``: datetimes formatted in UTC, anything else passed through."""
    if isinstance(value, datetime):
        if value.tzinfo is not None and value.utcoffset() is not None:
            value = value.astimezone(UTC)
        return value.strftime(TIMESTAMP_FORMAT)
    if isinstance(value, date):
        return value.isoformat()
    return _plain(value)


def to_number(value: Any) -> Any:
    """A temperature as a JSON number when it is one (or looks like one), else unchanged."""
    if isinstance(value, bool):
        return value
    if isinstance(value, Decimal):
        if not value.is_finite():
            return str(value)
        return (
            int(value)
            if value == value.to_integral_value() and "." not in str(value)
            else float(value)
        )
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, int):
        return value
    value = _plain(value)
    if isinstance(value, str) and _NUMERIC.fullmatch(value):
        if _INTEGER.fullmatch(value):
            return int(value)
        number = float(value)
        return number if math.isfinite(number) else value  # "1e999" stays the text it was
    return value


def _plain(value: Any) -> Any:
    """JSON-safe scalar: '' to None, bytes decoded, exotic objects as their text."""
    if value is None or isinstance(value, bool | int | float):
        if isinstance(value, float) and not math.isfinite(value):
            return str(value)
        return value
    if isinstance(value, bytes | bytearray | memoryview):
        value = bytes(value).decode("utf-8", errors="replace")
    if isinstance(value, str):
        return value if value != "" else None
    if isinstance(value, Decimal):
        return to_number(value)
    return str(value)


def to_payload(row: Mapping[str, Any], mapping: ColumnMapping = DEFAULT_MAPPING) -> dict[str, Any]:
    """One source row (CSV dict, DB row mapping, Spark ``Row.asDict()``) as the live payload.

    Columns the row does not have are left out; extra columns are ignored.
    """
    payload: dict[str, Any] = {}
    if mapping.timestamp in row:
        payload["timestamp"] = format_timestamp(row[mapping.timestamp])
    if mapping.room_id in row:
        payload["room_id"] = _plain(row[mapping.room_id])
    if mapping.temperature in row:
        payload["temperature"] = to_number(row[mapping.temperature])
    return payload
