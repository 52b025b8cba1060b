"""Simulated daily earthquake files in the EMSC format of the seed (FDSN event service, GeoJSON).

Each day is one FeatureCollection, ``{"type": "FeatureCollection", "metadata": {"totalCount": n},
"features": [...]}``; each feature has an ``id``, a Point geometry ``[lon, lat, -depth]`` and the
properties ``source_id, source_catalog, lastupdate, time, flynn_region, lat, lon, depth, evtype,
auth, mag, magtype, unid``. Events cluster along real plate boundaries (:mod:`plates`), deep along
subduction slabs and shallow at ridges. As agencies revise an event, it re-appears in the next
days' files with a newer ``lastupdate`` (and slightly revised values): the pipeline keeps the
latest. A controlled share of features, and optionally whole files, are broken, each with the
exact quarantine reason the SQL must give (:mod:`malformed`).

Numbers are drawn with numpy for all events at once; lines are assembled from pre-formatted
pieces column-wise by Arrow, so a million events take seconds.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, timedelta

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ingestion.seismic.malformed import (
    COLLECTION_REASONS,
    FEATURE_REASONS,
    malformed_collection,
    malformed_feature,
)
from ingestion.seismic.plates import region_names, sample_hypocentres

AUTHORITIES = ("EMSC", "USGS", "JMA", "GFZ", "INGV", "NOA", "CSN", "BMKG", "GA", "IGP")
MAX_VERSIONS = 3
_SECONDS_PER_DAY = 86_400


@dataclass(frozen=True)
class SeismicConfig:
    """What to simulate; the same config (seed included) always gives the same files.

    ``update_fraction``: share of events revised in the next day's file (and of those, the same
    share again the day after; at most 3 versions). ``invalid_fraction``: share of features
    replaced by a broken one. ``broken_files``: whole daily files landed broken (truncated JSON
    or a service error object instead of a FeatureCollection).
    """

    start: date
    days: int
    events_per_day: int = 300
    seed: int = 0
    update_fraction: float = 0.2
    invalid_fraction: float = 0.0
    broken_files: int = 0

    def __post_init__(self) -> None:
        if self.days < 1 or self.events_per_day < 1:
            raise ValueError("days and events_per_day must be at least 1")
        if not (0 <= self.update_fraction < 1 and 0 <= self.invalid_fraction < 1):
            raise ValueError("update_fraction and invalid_fraction must be in [0, 1)")
        if not 0 <= self.broken_files <= self.days:
            raise ValueError(f"broken_files must be between 0 and days ({self.days})")


@dataclass(frozen=True)
class DailyFile:
    day: date
    line: str  # one compact JSON line, no line break
    features: int  # features landed in it (0 when the whole file is broken)


@dataclass
class SeismicResult:
    files: list[DailyFile]
    events: int  # distinct events simulated
    features: int  # features inside parseable collections
    accepted_features: int
    accepted_events: int  # distinct events with at least one valid feature landed
    rejected: dict[str, int] = field(default_factory=dict)  # reason -> rows the SQL must give


def _times(start: date, deciseconds: np.ndarray) -> pa.Array:
    """EMSC timestamps 'YYYY-MM-DDTHH:MM:SS.dZ' for offsets from ``start`` in 0.1 s."""
    stamps = np.datetime64(start.isoformat(), "ms") + deciseconds.astype("timedelta64[ms]") * 100
    text = pc.strftime(pa.array(stamps), format="%Y-%m-%dT%H:%M:%S")  # seconds keep the .mmm
    return pc.binary_join_element_wise(pc.utf8_slice_codeunits(text, 0, 21), "Z", "")


def _numbers(values: np.ndarray) -> pa.Array:
    """JSON numbers, shortest form of the already-rounded values."""
    return pc.cast(pa.array(values, pa.float64()), pa.string())


def _event_ids(config: SeismicConfig, day: np.ndarray, seq: np.ndarray) -> pa.Array:
    """EMSC-style ids: the event's day and its number that day, YYYYMMDD_0000001."""
    days = pa.array(
        [(config.start + timedelta(days=d)).strftime("%Y%m%d") for d in range(config.days)]
    )
    numbers = pc.utf8_lpad(pc.cast(pa.array(seq), pa.string()), 7, "0")
    return pc.binary_join_element_wise(days.take(pa.array(day)), numbers, "_")


def _feature_texts(config: SeismicConfig, **columns: np.ndarray | pa.Array) -> pa.Array:
    """One feature's JSON text per row, assembled column-wise by Arrow (no per-row Python)."""
    c = columns
    regions = pa.array(region_names()).take(pa.array(c["region"]))
    auth = pa.array(AUTHORITIES).take(pa.array(c["auth"]))
    lat, lon = _numbers(np.round(c["lat"], 4)), _numbers(np.round(c["lon"], 4))
    depth = np.round(c["depth"], 1)
    pieces = [
        '{"geometry":{"type":"Point","coordinates":[', lon, ",", lat, ",", _numbers(-depth),
        ']},"type":"Feature","id":"', c["ids"],
        '","properties":{"source_id":"', pc.cast(pa.array(c["source_id"]), pa.string()),
        '","source_catalog":"EMSC-RTS","lastupdate":"', _times(config.start, c["lastupdate"]),
        '","time":"', _times(config.start, c["time"]),
        '","flynn_region":"', regions, '","lat":', lat, ',"lon":', lon,
        ',"depth":', _numbers(depth), ',"evtype":"ke","auth":"', auth,
        '","mag":', _numbers(c["mag"]), ',"magtype":"', pa.array(c["magtype"]),
        '","unid":"', c["ids"], '"}}',
    ]  # fmt: skip
    return pc.binary_join_element_wise(*pieces, "")


def simulate_seismic(config: SeismicConfig) -> SeismicResult:
    rng = np.random.default_rng(config.seed)
    per_day = np.maximum(rng.poisson(config.events_per_day, config.days), 1)
    n = int(per_day.sum())
    day = np.repeat(np.arange(config.days), per_day)
    # events of a day in time order, numbered like EMSC ids (YYYYMMDD_0000001)
    time_ds = day * _SECONDS_PER_DAY * 10 + rng.integers(0, _SECONDS_PER_DAY * 10, n)
    time_ds.sort()  # days are contiguous and ascending, so sorting keeps each day's block
    seq = np.arange(n) - np.repeat(np.cumsum(per_day) - per_day, per_day) + 1
    where = sample_hypocentres(n, rng)
    deep = where.depth_km > 70
    mag = np.where(deep, 3.0 + rng.exponential(0.45, n), 2.0 + rng.exponential(0.5, n))
    mag = np.minimum(mag, 9.5)

    # versions: each revision lands in the next day's file, if that day is simulated
    extra = (rng.random(n) < config.update_fraction).astype(int)
    extra += (extra == 1) & (rng.random(n) < config.update_fraction)
    extra = np.minimum(extra, config.days - 1 - day)
    versions = extra + 1
    event = np.repeat(np.arange(n), versions)
    version = np.arange(len(event)) - np.repeat(np.cumsum(versions) - versions, versions)
    rows = len(event)
    file_day = day[event] + version
    revised = version > 0
    ev_time = time_ds[event] + np.where(revised, rng.integers(-10, 11, rows), 0)
    ev_time = np.maximum(ev_time, 0)
    first_update = time_ds[event] + rng.integers(1_200, 36_000, rows)  # 2-60 min after
    later_update = file_day * _SECONDS_PER_DAY * 10 + rng.integers(72_000, 860_000, rows)
    updated = np.where(revised, later_update, first_update)
    lat = where.latitude[event] + np.where(revised, rng.normal(0, 0.02, rows), 0)
    lon = where.longitude[event] + np.where(revised, rng.normal(0, 0.02, rows), 0)
    lat = np.clip(lat, -89.99, 89.99)
    lon = (lon + 180.0) % 360.0 - 180.0
    depth = np.maximum(where.depth_km[event] + np.where(revised, rng.normal(0, 3, rows), 0), 0)
    row_mag = np.round(mag[event] + np.where(revised, rng.normal(0, 0.15, rows), 0), 1)
    row_mag = np.maximum(row_mag, 0.5)
    magtype = np.where(row_mag >= 5.5, "mw", np.where(depth > 70, "mb", "ml"))

    invalid = rng.random(rows) < config.invalid_fraction
    reasons = rng.integers(len(FEATURE_REASONS), size=rows)
    feature_rng = np.random.default_rng([config.seed, 1])
    texts = _feature_texts(
        config,
        ids=_event_ids(config, day[event], seq[event]),
        source_id=1_000_000 + event,
        lastupdate=updated,
        time=ev_time,
        region=where.region[event],
        lat=lat,
        lon=lon,
        depth=depth,
        auth=rng.integers(len(AUTHORITIES), size=rows),
        mag=row_mag,
        magtype=magtype,
    )
    bad = np.flatnonzero(invalid)
    if len(bad):
        broken = [
            malformed_feature(
                FEATURE_REASONS[reasons[i]], json.loads(texts[i].as_py()), feature_rng
            )
            for i in bad.tolist()
        ]
        mask = np.zeros(rows, dtype=bool)
        mask[bad] = True
        texts = pc.replace_with_mask(texts, pa.array(mask), pa.array(broken, pa.string()))

    # one FeatureCollection per file day, features in event-time order
    order = np.lexsort((ev_time, file_day))
    bounds = np.searchsorted(file_day[order], np.arange(config.days + 1))
    bodies = pc.binary_join(
        pa.ListArray.from_arrays(pa.array(bounds, pa.int32()), texts.take(pa.array(order))), ","
    ).to_pylist()
    broken_days = set(rng.choice(config.days, size=config.broken_files, replace=False).tolist())
    rejected: Counter[str] = Counter()
    files: list[DailyFile] = []
    landed = np.ones(rows, dtype=bool)
    for d in range(config.days):
        members = order[bounds[d] : bounds[d + 1]]
        body = bodies[d]
        line = (
            f'{{"type":"FeatureCollection","metadata":{{"totalCount":{len(members)}}},'
            f'"features":[{body}]}}'
        )
        if d in broken_days:
            reason = COLLECTION_REASONS[len(files) % len(COLLECTION_REASONS)]
            line = malformed_collection(reason, line, feature_rng)
            rejected[reason] += 1
            landed[members] = False
            files.append(DailyFile(config.start + timedelta(days=d), line, 0))
        else:
            files.append(DailyFile(config.start + timedelta(days=d), line, len(members)))
    for i in np.flatnonzero(invalid & landed).tolist():
        rejected[FEATURE_REASONS[reasons[i]]] += 1
    valid_landed = landed & ~invalid
    return SeismicResult(
        files=files,
        events=n,
        features=int(landed.sum()),
        accepted_features=int(valid_landed.sum()),
        accepted_events=int(np.count_nonzero(np.bincount(event[valid_landed], minlength=n))),
        rejected=dict(rejected),
    )
