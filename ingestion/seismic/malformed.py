"""Invalid seismic records, each breaking exactly one quarantine rule of the ``seismic`` domain.

The staging SQL checks the rules in the order of ``seeds/quarantine_reasons.csv`` and assigns
the first that fails. A record built here passes every earlier rule, so the count per reason the
SQL assigns must equal the count the generator reports. Collection-level reasons replace a whole
daily file (one quarantined row); feature-level reasons replace one feature.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import numpy as np

COLLECTION_REASONS = ("invalid_json", "missing_features_array")
FEATURE_REASONS = (
    "feature_not_an_object",
    "missing_event_id",
    "missing_coordinates",
    "latitude_out_of_range",
    "longitude_out_of_range",
    "depth_not_numeric",
    "magnitude_not_numeric",
    "time_unparseable",
    "lastupdate_unparseable",
)
_BAD_TIMES = (
    "2024-13-01T00:00:00.0Z",
    "yesterday",
    "2024/05/01 10:00:00",
    "2024-05-01 10:00:00",
    "2024-02-30T10:00:00.0Z",
    1714557600000,  # epoch milliseconds that were never normalised
    "",
    None,
)


def _pick(rng: np.random.Generator, options: tuple[Any, ...]) -> Any:
    return options[int(rng.integers(len(options)))]


def malformed_feature(reason: str, feature: dict[str, Any], rng: np.random.Generator) -> str:
    """A feature's JSON text that fails ``reason`` and no earlier rule; ``feature`` is valid."""
    f = copy.deepcopy(feature)
    props = f["properties"]
    coords = f["geometry"]["coordinates"]
    if reason == "feature_not_an_object":
        return json.dumps(_pick(rng, (None, 42, f["id"], [coords[0], coords[1]])))
    if reason == "missing_event_id":
        choice = int(rng.integers(3))
        if choice == 0:
            del f["id"]
        else:
            f["id"] = None if choice == 1 else ""
    elif reason == "missing_coordinates":
        choice = int(rng.integers(4))
        if choice == 0:
            f["geometry"] = None
        elif choice == 1:
            del f["geometry"]["coordinates"]
        elif choice == 2:
            f["geometry"]["coordinates"] = [coords[0]]
        else:
            f["geometry"]["coordinates"] = [coords[0], str(coords[1]), coords[2]]
    elif reason == "latitude_out_of_range":
        coords[1] = round(float(_pick(rng, (1, -1))) * float(rng.uniform(90.01, 180.0)), 4)
    elif reason == "longitude_out_of_range":
        coords[0] = round(float(_pick(rng, (1, -1))) * float(rng.uniform(180.01, 360.0)), 4)
    elif reason == "depth_not_numeric":
        choice = int(rng.integers(3))
        if choice == 0:
            del props["depth"]
        else:
            props["depth"] = None if choice == 1 else f"{props['depth']} km"
    elif reason == "magnitude_not_numeric":
        props["mag"] = _pick(rng, (None, f"M{props['mag']}", str(props["mag"]), True))
    elif reason in ("time_unparseable", "lastupdate_unparseable"):
        props[reason.removesuffix("_unparseable")] = _pick(rng, _BAD_TIMES)
    else:
        raise ValueError(
            f"unknown feature reason {reason!r}; choose one of: {', '.join(FEATURE_REASONS)}"
        )
    return json.dumps(f, separators=(",", ":"))


def malformed_collection(reason: str, line: str, rng: np.random.Generator) -> str:
    """A daily file's line broken as a download or a service can break it."""
    if reason == "invalid_json":
        # cut off in transit: any strict prefix of an object's text is broken JSON
        return line[: int(rng.integers(1, max(2, len(line) - 1)))]
    if reason == "missing_features_array":
        return _pick(
            rng,
            (
                '{"error":{"code":503,"message":"Service temporarily unavailable"}}',
                '{"type":"FeatureCollection","metadata":{"totalCount":0}}',
                '{"type":"FeatureCollection","features":{"count":0}}',
            ),
        )
    raise ValueError(
        f"unknown collection reason {reason!r}; choose one of: {', '.join(COLLECTION_REASONS)}"
    )
