"""The AWS feature export (Athena SQL) shingles exactly like the local export (numpy).

The SELECT inside the UNLOAD is standard SQL; it runs here on DuckDB over a small series with
gaps and is compared with ``ml.features.shingle`` window by window.
"""

from __future__ import annotations

import duckdb
import numpy as np
import pytest

from ml.config import RcfConfig
from ml.features import (
    RoomSeries,
    build_dataset,
    shingle_select_sql,
    sql_string,
    unload_features_sql,
)

GAPS = [None, 60, 60, 60, 60, 3600, 60, 60, 60, 60, 60, 901, 60, 60, 60, 60, 60]


def _series(room: str, offset: float, scale: int = 1) -> RoomSeries:
    gaps = [None if g is None else g * scale for g in GAPS]
    seconds = np.cumsum([0, *gaps[1:]])
    at = np.datetime64("2026-11-30T00:00:00", "us") + seconds.astype("timedelta64[s]")
    return RoomSeries(
        room_id=room,
        reading_ids=np.asarray([f"{room}-{i}" for i in range(len(GAPS))], dtype=object),
        reading_at=at,
        temperature_c=offset + np.sin(np.arange(len(GAPS))),
        seconds_since_previous=np.asarray([np.nan if g is None else g for g in gaps], float),
    )


@pytest.mark.parametrize("shingle_size", [1, 2, 4])
@pytest.mark.parametrize("max_gap_seconds", [None, 900, 3600])
def test_sql_windows_equal_the_local_shingles(shingle_size: int, max_gap_seconds: int | None):
    config = RcfConfig(shingle_size=shingle_size, max_gap_seconds=max_gap_seconds)
    # A minute room, an hourly one (its cadence sets the default gap), a quote in a room id.
    rooms = [_series("A101", 20.0), _series("B'2", 30.0), _series("H1", 25.0, scale=60)]
    with duckdb.connect() as con:
        con.execute(
            "create table series (room_id varchar, reading_id varchar, reading_at timestamp,"
            " temperature_c double, seconds_since_previous double)"
        )
        for s in rooms:
            for i in range(len(s)):
                gap = s.seconds_since_previous[i]
                con.execute(
                    "insert into series values (?, ?, ?, ?, ?)",
                    [
                        s.room_id,
                        s.reading_ids[i],
                        s.reading_at[i].item(),
                        s.temperature_c[i],
                        None if np.isnan(gap) else float(gap),
                    ],
                )
        for s in rooms:
            sql = shingle_select_sql("series", sql_string(s.room_id), config)
            got = con.execute(sql + " order by reading_at").fetchall()
            expected = build_dataset(s, config)
            assert len(got) == len(expected.rows)
            if s.room_id == "H1" and max_gap_seconds == 900 and shingle_size > 1:
                assert not got  # every hourly gap is over the fixed 900 s: no window
                continue
            assert got
            assert [row[0] for row in got] == list(s.reading_ids[expected.rows])
            np.testing.assert_allclose(np.asarray([row[3:] for row in got]), expected.features)


def test_unload_writes_headerless_csv_where_the_state_machine_says():
    sql = unload_features_sql('"c"."s"."t"', "'{}'", RcfConfig(), "s3://lake/ml/export/{}/train/")
    assert sql.startswith("unload (select format('%.4f', f1) as f1,")
    assert "to 's3://lake/ml/export/{}/train/'" in sql
    assert "format = 'TEXTFILE', field_delimiter = ','" in sql
    keyed = unload_features_sql('"c"."s"."t"', "'{}'", RcfConfig(), "s3://x/{}/", with_keys=True)
    assert keyed.startswith("unload (select reading_id, format_datetime(reading_at")
    assert sql.count("{}") == keyed.count("{}") == 2  # room, then destination
