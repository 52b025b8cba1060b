"""The training/scoring dataset: each room's series from dbt, shingled, as SageMaker's CSV.

One model per room (the seed splits the data by room before the estimator): rooms differ in base
level and daily swing, so a reading that is normal in a warm room can be a level shift in a cool
one. A room feature would let the forest learn that only if it isolated on the room column first.

Shingling turns the last k readings of a room into one point (``feature_dim = k``), so the forest
sees shape (a jump, a flat line), not just the level. A window never spans a gap longer than
``max_gap_seconds`` and never crosses rooms (each room is shingled on its own): the first k-1
readings of a room, and of every stretch after a long gap, get no window and are not scored.

The gap scales with the room's cadence unless ``max_gap_seconds`` is set: ``MAX_GAP_CADENCE_FACTOR``
times the room's ``expected_interval_seconds`` in ``dim_rooms`` when the warehouse has that column
and a value for the room, else times the median interval between its consecutive readings. So an
hourly room and a minute room both get windows with the default settings.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import duckdb
import numpy as np

from ml.config import MAX_GAP_CADENCE_FACTOR, RcfConfig
from orchestration.relations import Relations

SERIES_MODEL = "fct_room_temperature_series"  # located through dbt's manifest
ROOMS_MODEL = "dim_rooms"
CADENCE_COLUMN = "expected_interval_seconds"  # dim_rooms' registered or inferred cadence


@dataclass(frozen=True)
class RoomSeries:
    """One room's readings in time order, as ``fct_room_temperature_series`` holds them."""

    room_id: str
    reading_ids: np.ndarray  # object (str)
    reading_at: np.ndarray  # datetime64[us], UTC
    temperature_c: np.ndarray  # float64
    seconds_since_previous: np.ndarray  # float64, nan for the room's first reading
    expected_interval_seconds: float | None = None  # dim_rooms' cadence, when the column exists

    def __len__(self) -> int:
        return int(self.temperature_c.shape[0])

    @property
    def cadence_seconds(self) -> float | None:
        """The room's cadence: dim_rooms' value, else the median interval between readings."""
        if self.expected_interval_seconds is not None and self.expected_interval_seconds > 0:
            return float(self.expected_interval_seconds)
        return infer_cadence_seconds(self.seconds_since_previous)


def infer_cadence_seconds(seconds_since_previous: np.ndarray) -> float | None:
    """Median interval between consecutive readings (None with fewer than two readings)."""
    gaps = np.asarray(seconds_since_previous, dtype=np.float64)
    gaps = gaps[np.isfinite(gaps)]
    return float(np.median(gaps)) if gaps.size else None


def room_config(series: RoomSeries, config: RcfConfig) -> RcfConfig:
    """``config`` with the room's maximum gap filled in (kept when set explicitly).

    The resolved value is what a model records, so scoring shingles exactly as training did.
    """
    if config.max_gap_seconds is not None:
        return config
    cadence = series.cadence_seconds
    if cadence is None:
        raise ValueError(
            f"room {series.room_id} has {len(series)} reading(s): its cadence cannot be inferred;"
            " wait for more readings or pass --max-gap-seconds"
        )
    return config.with_(max_gap_seconds=max(1, int(np.ceil(MAX_GAP_CADENCE_FACTOR * cadence))))


@dataclass(frozen=True)
class RoomDataset:
    """A room's feature vectors and the reading each one scores (the last of its window)."""

    series: RoomSeries
    features: np.ndarray  # (windows, feature_dim) float64
    rows: np.ndarray  # index into series of each window's last reading

    @property
    def room_id(self) -> str:
        return self.series.room_id

    @property
    def feature_dim(self) -> int:
        return int(self.features.shape[1])

    def features_csv(self) -> bytes:
        """SageMaker RCF's CSV input: one point per line, no header, no label column."""
        return features_to_csv(self.features)

    def rows_csv(self) -> bytes:
        """reading_id,reading_at,temperature_c of each line of ``features_csv``, in order."""
        buffer = io.StringIO()
        buffer.write("reading_id,reading_at,temperature_c\n")
        at = np.datetime_as_string(self.series.reading_at[self.rows], unit="s")
        for rid, stamp, temp in zip(
            self.series.reading_ids[self.rows].tolist(),
            at.tolist(),
            self.series.temperature_c[self.rows].tolist(),
            strict=True,
        ):
            buffer.write(f"{rid},{stamp.replace('T', ' ')},{temp!r}\n")
        return buffer.getvalue().encode()

    def fingerprint(self) -> str:
        """Identifies exactly what the model sees: same data and shingling, same fingerprint."""
        digest = hashlib.sha256(self.room_id.encode())
        digest.update(self.features_csv())
        digest.update(self.rows_csv())
        return digest.hexdigest()[:16]


def shingle(
    values: np.ndarray, seconds_since_previous: np.ndarray, size: int, max_gap_seconds: float
) -> tuple[np.ndarray, np.ndarray]:
    """Windows of the last ``size`` values that do not span a gap over ``max_gap_seconds``.

    Returns ``(features, rows)``: ``features[i]`` is ``values[rows[i] - size + 1 : rows[i] + 1]``
    (oldest first). ``seconds_since_previous[0]`` is ignored (a series' first reading).
    """
    values = np.asarray(values, dtype=np.float64)
    gaps = np.asarray(seconds_since_previous, dtype=np.float64)
    if values.ndim != 1 or gaps.shape != values.shape:
        raise ValueError("values and seconds_since_previous must be 1-D arrays of equal length")
    if size < 1:
        raise ValueError(f"shingle size must be at least 1, got {size}")
    n = values.shape[0]
    if n < size:
        return np.empty((0, size)), np.empty(0, dtype=np.int64)
    breaks = np.zeros(n, dtype=np.int64)
    breaks[1:] = ~(gaps[1:] <= max_gap_seconds)  # nan (unknown gap) breaks too
    segment = np.cumsum(breaks)
    ends = np.arange(size - 1, n)
    valid = segment[ends] == segment[ends - size + 1]
    rows = ends[valid]
    windows = np.lib.stride_tricks.sliding_window_view(values, size)[rows - size + 1]
    return np.ascontiguousarray(windows), rows


def build_dataset(series: RoomSeries, config: RcfConfig) -> RoomDataset:
    """The room's windows; ``config.max_gap_seconds`` unset means the room's cadence decides."""
    config = room_config(series, config)
    features, rows = shingle(
        series.temperature_c,
        series.seconds_since_previous,
        config.shingle_size,
        config.max_gap_seconds,
    )
    return RoomDataset(series=series, features=features, rows=rows)


def features_to_csv(features: np.ndarray) -> bytes:
    buffer = io.StringIO()
    np.savetxt(buffer, features, delimiter=",", fmt="%.4f")
    return buffer.getvalue().encode()


def read_room_series(
    duckdb_file: Path, rooms: list[str] | None = None, relation: str | None = None
) -> Iterator[RoomSeries]:
    """Every room's series (or the given rooms'), read from the dbt warehouse in time order.

    ``relation`` defaults to ``fct_room_temperature_series`` as dbt's manifest places it.
    """
    if not Path(duckdb_file).exists():
        raise FileNotFoundError(
            f"no warehouse at {duckdb_file}; run `eventlake demo` or `eventlake build` first"
        )
    rooms_relation = None
    if relation is None:
        relations = Relations.from_manifest()
        relation = relations.model(SERIES_MODEL)
        rooms_relation = relations.find(ROOMS_MODEL)
    with duckdb.connect(str(duckdb_file), read_only=True) as con:
        cadences = _registered_cadences(con, rooms_relation)
        try:
            found = con.execute(f"select distinct room_id from {relation}").fetchall()
            known = [room for (room,) in found]
        except duckdb.CatalogException as exc:
            raise FileNotFoundError(
                f"{relation} is not built in {duckdb_file}; run `eventlake build` first"
            ) from exc
        chosen = sorted(known) if rooms is None else rooms
        missing = sorted(set(chosen) - set(known))
        if missing:
            raise ValueError(f"rooms {missing} have no readings in {relation}")
        for room in chosen:
            table = con.execute(
                "select reading_id, reading_at, temperature_c, seconds_since_previous"
                f" from {relation} where room_id = ? order by reading_at",
                [room],
            ).fetchnumpy()
            yield RoomSeries(
                room_id=room,
                reading_ids=np.asarray(table["reading_id"], dtype=object),
                reading_at=np.asarray(table["reading_at"]).astype("datetime64[us]"),
                temperature_c=np.asarray(table["temperature_c"], dtype=np.float64),
                seconds_since_previous=np.ma.filled(
                    np.ma.asarray(table["seconds_since_previous"], dtype=np.float64), np.nan
                ),
                expected_interval_seconds=cadences.get(room),
            )


def _registered_cadences(con: duckdb.DuckDBPyConnection, relation: str | None) -> dict[str, float]:
    """Each room's ``dim_rooms.expected_interval_seconds``, when the warehouse has that column.

    Older warehouses (and builds before the device registry) have no such column: then every
    room's cadence is inferred from its readings.
    """
    if relation is None:
        return {}
    try:
        columns = con.execute(f"select * from {relation} limit 0").fetchnumpy().keys()
    except duckdb.Error:
        return {}
    if CADENCE_COLUMN not in columns:
        return {}
    found = con.execute(
        f"select room_id, {CADENCE_COLUMN} from {relation} where {CADENCE_COLUMN} > 0"
    ).fetchall()
    return {room: float(seconds) for room, seconds in found}


# --- The same export on AWS: Athena SQL, so no step there reads a local file ------------------
#
# The AWS path cannot call ``read_room_series``: it reads the warehouse table where it lives.
# These builders write the shingling above as SQL (one window function per lag; a new segment
# after every gap over ``max_gap_seconds``, as ``shingle`` does; unset, the room's median
# interval times MAX_GAP_CADENCE_FACTOR, as ``room_config`` infers it: the AWS path does not
# read dim_rooms' expected_interval_seconds) and wrap it in Athena
# ``UNLOAD`` to S3 in SageMaker RCF's CSV format: no header, ``%.4f`` values, oldest first.
# ``relation`` comes from dbt's manifest for the Athena target; ``room_sql`` is a SQL
# expression for the room (a quoted literal, or a ``'{}'`` placeholder that the state machine
# fills per room with ``States.Format``).


def sql_string(text: str) -> str:
    """``text`` as a SQL string literal (quotes doubled)."""
    return "'" + text.replace("'", "''") + "'"


BY_TIME = "over (order by reading_at)"


def shingle_select_sql(relation: str, room_sql: str, config: RcfConfig) -> str:
    """One row per window of a room: reading_id, reading_at, temperature_c, f1..fk (oldest first).

    Standard SQL (runs on Athena/Trino and DuckDB alike), so the test runs it on DuckDB against
    :func:`shingle`.
    """
    k = config.shingle_size
    lags = ",\n        ".join(
        (f"lag(temperature_c, {k - i}) {BY_TIME}" if k - i else "temperature_c") + f" as f{i}"
        for i in range(1, k + 1)
    )
    first_segment = f"lag(segment, {k - 1}) {BY_TIME}" if k > 1 else "segment"
    if config.max_gap_seconds is not None:
        max_gap, cadence_cte, cadence_join = str(config.max_gap_seconds), "", ""
    else:
        # The room's median interval, as infer_cadence_seconds takes it: the middle one (or the
        # mean of the middle two) of the known intervals, in SQL every engine runs.
        max_gap = "cadence.max_gap_seconds"
        cadence_cte = f"""
intervals as (
    select
        seconds_since_previous,
        row_number() over (order by seconds_since_previous) as position,
        count(*) over () as known
    from series
    where seconds_since_previous is not null
),
cadence as (
    select ceiling({MAX_GAP_CADENCE_FACTOR} * avg(seconds_since_previous)) as max_gap_seconds
    from intervals
    where position between known / 2.0 and known / 2.0 + 1
),"""
        cadence_join = "\n    cross join cadence"
    # A window never spans a gap over max_gap_seconds: rows whose window starts in an earlier
    # segment are dropped, and so are a room's first k-1 rows (their lag is null).
    return f"""with series as (
    select reading_id, reading_at, temperature_c, seconds_since_previous
    from {relation}
    where room_id = {room_sql}
),{cadence_cte}
segmented as (
    select
        series.*,
        sum(case when seconds_since_previous <= {max_gap} then 0 else 1 end)
            over (order by reading_at rows between unbounded preceding and current row) as segment
    from series{cadence_join}
),
windows as (
    select
        reading_id,
        reading_at,
        temperature_c,
        {lags},
        {first_segment} as first_segment,
        segment
    from segmented
)
select reading_id, reading_at, temperature_c, {", ".join(f"f{i}" for i in range(1, k + 1))}
from windows
where first_segment = segment"""


def unload_features_sql(
    relation: str, room_sql: str, config: RcfConfig, destination: str, with_keys: bool = False
) -> str:
    """Athena ``UNLOAD`` of a room's windows to ``destination`` as headerless CSV.

    Without keys: SageMaker RCF's training input (the seed's format, ``features_csv``). With
    keys: ``reading_id,reading_at,temperature_c,f1..fk`` per line, the batch-transform input; the
    transform's ``InputFilter`` drops the three keys and ``JoinSource`` puts them back beside each
    score, so scores join by key, not by line position.
    """
    k = config.shingle_size
    values = ", ".join(f"format('%.4f', f{i}) as f{i}" for i in range(1, k + 1))
    keys = (
        "reading_id, format_datetime(reading_at, 'yyyy-MM-dd HH:mm:ss') as reading_at, "
        "format('%s', temperature_c) as temperature_c, "
        if with_keys
        else ""
    )
    windows = shingle_select_sql(relation, room_sql, config)
    return (
        f"unload (select {keys}{values} from (\n{windows}\n))"
        f"\nto {sql_string(destination)}"
        "\nwith (format = 'TEXTFILE', field_delimiter = ',', compression = 'NONE')"
    )
