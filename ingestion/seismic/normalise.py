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
so the SQL quarantines the feature with its reason. Text that is not JSON at all is landed as
it is (line breaks escaped as ``\\n``) and quarantined as ``invalid_json``; JSON that is not a
FeatureCollection is landed compact and quarantined as ``missing_features_array``.
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


def escape_line_breaks(text: str) -> str:
    """Text on one line: line breaks (and the raw readers' field separator) escaped."""
    return text.replace("\r", "\\r").replace("\n", "\\n").replace("\x1f", "\\u001f")


def normalise_file_text(text: str) -> tuple[str, str]:
    """The raw-zone line for one file's text, and what it was: ``emsc``/``usgs`` (a collection
    with at least one USGS feature), ``not_a_collection`` or ``not_json``."""
    try:
        doc = json.loads(text, parse_constant=_reject_constant)
    except ValueError:
        return escape_line_breaks(text.strip()), "not_json"
    if not (isinstance(doc, dict) and isinstance(doc.get("features"), list)):
        return json.dumps(doc, separators=(",", ":"), ensure_ascii=False), "not_a_collection"
    kind = "usgs" if any(is_usgs_feature(f) for f in doc["features"]) else "emsc"
    line = json.dumps(normalise_collection(doc), separators=(",", ":"), ensure_ascii=False)
    return line, kind
