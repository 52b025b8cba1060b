"""One FDSN-style FeatureCollection file -> one compact JSON line in the EMSC shape (pure).

The raw zone holds every seismic file in one canonical shape, the EMSC one of the seed, so a
single staging parser serves every provider:

- feature ``id``; geometry ``Point`` with ``coordinates [lon, lat, -depth_km]`` (EMSC's sign:
  negative below the surface);
- ``properties``: ``time`` and ``lastupdate`` as ISO 8601 UTC strings
  ('YYYY-MM-DDTHH:MM:SS[.fff]Z'), ``depth`` in km (positive down), ``mag``, ``magtype``,
  ``evtype``, ``auth``, ``lat``, ``lon``, ``unid``, ``source_id``, ``source_catalog`` and
  ``flynn_region``.

The USGS variant (``time``/``updated`` in epoch milliseconds, ``place`` instead of
``flynn_region``, ``coordinates [lon, lat, depth]`` with depth positive in km, ``magType``,
``net``, ``code``) is mapped field by field. Nothing is dropped or "fixed": a value that is
invalid (a null depth, a latitude of 95, a time that is not a number) is carried over as it is,
so the SQL quarantines the feature with its reason. Text that cannot be normalised (not JSON,
a repeated key, nesting too deep) is landed as it is, line by line, and quarantined by the SQL
with its reason; JSON that is not a FeatureCollection is landed compact and quarantined as
``missing_features_array``.
"""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime
from typing import Any

USGS_KEYS = frozenset({"place", "updated", "magType", "net", "code", "tsunami", "sig"})


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def epoch_ms_to_iso(value: Any) -> Any:
    """Epoch milliseconds -> 'YYYY-MM-DDTHH:MM:SS.fffZ'; anything else is returned unchanged."""
    if not _is_number(value) or not math.isfinite(value):
        return value
    try:
        moment = datetime.fromtimestamp(value / 1000, UTC)
    except (OverflowError, OSError, ValueError):
        return value  # out of any calendar: the SQL quarantines it as unparseable
    return f"{moment:%Y-%m-%dT%H:%M:%S}.{moment.microsecond // 1000:03d}Z"


def is_usgs_feature(feature: Any) -> bool:
    props = feature.get("properties") if isinstance(feature, dict) else None
    return (
        isinstance(props, dict) and "flynn_region" not in props and bool(USGS_KEYS & props.keys())
    )


def normalise_feature(feature: Any) -> Any:
    """An EMSC-shaped copy of a USGS feature; any other feature is returned unchanged."""
    if not is_usgs_feature(feature):
        return feature
    props = feature["properties"]
    geometry = feature.get("geometry")
    coords = geometry.get("coordinates") if isinstance(geometry, dict) else None
    lon = lat = depth = None
    if isinstance(coords, list):
        lon, lat, depth = [*coords, None, None, None][:3]
        coords = [lon, lat, -depth if _is_number(depth) else depth, *coords[3:]][: len(coords)]
        geometry = {**geometry, "coordinates": coords}
    return {
        "geometry": geometry,
        "type": feature.get("type", "Feature"),
        "id": feature.get("id"),
        "properties": {
            "source_id": props.get("code"),
            "source_catalog": "USGS",
            "lastupdate": epoch_ms_to_iso(props.get("updated")),
            "time": epoch_ms_to_iso(props.get("time")),
            "flynn_region": props.get("place"),
            "lat": lat,
            "lon": lon,
            "depth": depth,
            "evtype": props.get("type"),
            "auth": props.get("net"),
            "mag": props.get("mag"),
            "magtype": props.get("magType"),
            "unid": feature.get("id"),
        },
    }


def normalise_collection(doc: dict[str, Any]) -> dict[str, Any]:
    """A FeatureCollection with every feature in the EMSC shape and ``metadata.totalCount``."""
    features = [normalise_feature(f) for f in doc["features"]]
    metadata = doc.get("metadata")
    metadata = dict(metadata) if isinstance(metadata, dict) else {}
    metadata.setdefault("totalCount", len(features))
    return {**doc, "metadata": metadata, "features": features}


# The longest line the raw reader takes for the seismic feed (meta raw_max_line_bytes of the
# seismic source in models/staging/seismic/_seismic__sources.yml; a unit test keeps them equal).
MAX_LINE_BYTES = 64 * 1024 * 1024


def _reject_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    keys = [key for key, _ in pairs]
    if len(keys) != len(set(keys)):
        repeated = sorted({key for key in keys if keys.count(key) > 1})
        raise ValueError(f"duplicate key {', '.join(repeated)}")
    return dict(pairs)


def _parse(text: str, *, allow_non_finite: bool) -> Any:
    """Strict JSON (no repeated key; NaN/Infinity only when ``allow_non_finite``), or ValueError."""
    options: dict[str, Any] = {"object_pairs_hook": _reject_duplicate_keys}
    if not allow_non_finite:
        options["parse_constant"] = _reject_constant
    try:
        return json.loads(text, **options)
    except RecursionError as exc:  # nesting deeper than Python's parser goes
        raise ValueError("JSON nested too deeply") from exc


def _compact(value: Any) -> str:
    """Compact JSON; NaN/Infinity are written as such so the SQL quarantines them by name."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=True)


def collection_lines(doc: dict[str, Any], max_line_bytes: int = MAX_LINE_BYTES) -> list[str]:
    """A FeatureCollection as lines of at most ``max_line_bytes`` (UTF-8) each: the features are
    spread over as many collections as needed, each with the file's other keys, so a large file
    never lands a line the reader refuses. A single feature over the limit gets a line alone."""
    head = _compact({key: value for key, value in doc.items() if key != "features"})
    prefix = (head[:-1] + ("," if head != "{}" else "") + '"features":[').encode()
    lines: list[str] = []
    chunk: list[bytes] = []
    size = len(prefix) + 2
    for feature in doc["features"]:
        part = _compact(feature).encode()
        if chunk and size + len(part) + 1 > max_line_bytes:
            lines.append((prefix + b",".join(chunk) + b"]}").decode())
            chunk, size = [], len(prefix) + 2
        chunk.append(part)
        size += len(part) + (1 if len(chunk) > 1 else 0)
    lines.append((prefix + b",".join(chunk) + b"]}").decode())
    return lines


def raw_lines(text: str) -> list[str]:
    """The file's text as it is, one raw line per line ('\n' only: a lone '\r' stays put)."""
    lines = text.split("\n")
    return lines[:-1] if lines and lines[-1] == "" else lines


def normalise_file_lines(text: str, max_line_bytes: int = MAX_LINE_BYTES) -> tuple[list[str], str]:
    """The raw-zone lines for one file's text, and what it was.

    ``emsc``/``usgs`` (a collection with at least one USGS feature): the normalised collection,
    split over several lines when it is longer than ``max_line_bytes``. A collection whose only
    fault is a NaN or Infinity is still normalised, the number written as such, so the SQL
    quarantines that feature (non_finite_number) and its valid neighbours pass.
    ``not_a_collection``: strict JSON that is not a FeatureCollection, one compact line.
    ``not_normalised``: anything else (not JSON, a repeated key, nesting too deep, a lone
    surrogate escape): landed as it is, line by line, for the SQL to quarantine with its reason.
    """
    for allow_non_finite in (False, True):
        try:
            doc = _parse(text, allow_non_finite=allow_non_finite)
        except ValueError:
            continue
        if not (isinstance(doc, dict) and isinstance(doc.get("features"), list)):
            if allow_non_finite:
                break
            return [_compact(doc)], "not_a_collection"
        kind = "usgs" if any(is_usgs_feature(f) for f in doc["features"]) else "emsc"
        try:
            return collection_lines(normalise_collection(doc), max_line_bytes), kind
        except UnicodeEncodeError:  # a lone surrogate escape (\ud800) decoded by json.loads
            break
    return raw_lines(text), "not_normalised"
