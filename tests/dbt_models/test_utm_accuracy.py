"""The UTM macro against pyproj on DuckDB: >= 10,000 points across the globe, zone edges, the
equator, the antimeridian, the latitude limits and the Norway/Svalbard exceptions."""

from __future__ import annotations

import duckdb
import numpy as np
import pytest
from lakehelpers import compile_inline
from pyproj import Transformer

from ingestion.settings import LakePaths, lake_paths

pytestmark = pytest.mark.dbt

BANDS = "CDEFGHJKLMNPQRSTUVWX"
# Just inside and just outside every limit the macro draws: zone edges, band edges, exceptions.
_EPS = (0.0, 1e-9, 1e-6, -1e-9, -1e-6)


def expected_zone(lat: float, lon: float) -> int | None:
    """The UTM zone by the standard's rules (written independently of the SQL)."""
    if lat > 84 or lat < -80:
        return None
    lon = -180.0 if lon == 180 else lon
    if 56 <= lat < 64 and 3 <= lon < 12:
        return 32
    if lat >= 72 and 0 <= lon < 42:
        for zone, east_edge in ((31, 9), (33, 21), (35, 33), (37, 42)):
            if lon < east_edge:
                return zone
    return min(int((lon + 180) // 6) + 1, 60)


def expected_band(lat: float) -> str | None:
    if lat > 84 or lat < -80:
        return None
    return BANDS[min(int((lat + 80) // 8), 19)]


def test_expected_zone_helper_knows_the_exceptions() -> None:
    assert [expected_zone(60, 5), expected_zone(60, 2.9), expected_zone(78, 8.9)] == [32, 31, 31]
    assert [expected_zone(78, 9), expected_zone(78, 20.9), expected_zone(78, 21)] == [33, 33, 35]
    assert [expected_zone(78, 33), expected_zone(78, 41.9), expected_zone(78, 42)] == [37, 37, 38]
    assert [expected_zone(0, 180), expected_zone(0, 179.9), expected_zone(84.1, 0)] == [1, 60, None]


def points(seed: int = 3) -> np.ndarray:
    """(lat, lon) rows: random over the globe plus every edge the macro has to get right."""
    rng = np.random.default_rng(seed)
    # uniform on the sphere, a little past the UTM limits
    lat = np.degrees(np.arcsin(rng.uniform(-1, 1, 8000)))
    lon = rng.uniform(-180, 180, 8000)
    rows = [np.column_stack([lat, lon])]
    edge_lats = np.array([-80, -72, -8, 0, 8, 56, 64, 72, 80, 84], dtype=float)
    zone_edges = np.arange(-180, 181, 6, dtype=float)
    exception_edges = np.array([0, 3, 9, 12, 21, 33, 42], dtype=float)
    for eps in _EPS:
        # every zone edge on a spread of latitudes, every band edge on a spread of longitudes
        grid_lat = np.linspace(-79.5, 83.5, 12)
        la, lo = np.meshgrid(grid_lat, zone_edges + eps)
        rows.append(np.column_stack([la.ravel(), lo.ravel()]))
        la, lo = np.meshgrid(edge_lats + eps, np.linspace(-177, 177, 13))
        rows.append(np.column_stack([la.ravel(), lo.ravel()]))
        # Norway and Svalbard corners
        la, lo = np.meshgrid(
            np.array([56, 60, 64, 72, 78, 84], dtype=float) + eps, exception_edges + eps
        )
        rows.append(np.column_stack([la.ravel(), lo.ravel()]))
    # the antimeridian and the equator, densely
    rows.append(np.column_stack([np.linspace(-80, 84, 200), np.full(200, 180.0)]))
    rows.append(np.column_stack([np.linspace(-80, 84, 200), np.full(200, -180.0)]))
    rows.append(np.column_stack([np.zeros(400), np.linspace(-180, 180, 400)]))
    # Norway 32V and Svalbard X band interiors
    rows.append(np.column_stack([rng.uniform(56, 64, 400), rng.uniform(0, 15, 400)]))
    rows.append(np.column_stack([rng.uniform(72, 84, 600), rng.uniform(-3, 45, 600)]))
    # just beyond the limits: flagged, never projected
    beyond = np.array([84 + 1e-9, 84.0001, 85, 89.99, 90, -80 - 1e-9, -80.0001, -85, -90])
    rows.append(np.column_stack([np.repeat(beyond, 5), np.tile([-180, -45, 0, 45, 180], 9)]))
    out = np.vstack(rows)
    out = out[(out[:, 1] >= -180) & (out[:, 1] <= 180)]
    return out


def compiled_utm_sql(paths: LakePaths, relation: str) -> str:
    """The macro rendered for DuckDB by dbt itself (no model needed)."""
    return compile_inline(
        paths,
        f"with pts as (select * from {relation}), "
        "{{ eventlake.utm_ctes('pts', 'lat', 'lon', ['point_id', 'lat', 'lon']) }} "
        "select * from utm_projected",
    )


@pytest.fixture(scope="module")
def projected(tmp_path_factory: pytest.TempPathFactory) -> list[tuple]:
    grid = points()
    con = duckdb.connect()
    # unnests in one select list are zipped: one insert for every point (row by row is slow)
    con.execute(
        "create table pts as select cast(unnest(range(len($lat))) as integer) as point_id,"
        " unnest($lat) as lat, unnest($lon) as lon",
        {"lat": [float(la) for la in grid[:, 0]], "lon": [float(lo) for lo in grid[:, 1]]},
    )
    sql = compiled_utm_sql(lake_paths(tmp_path_factory.mktemp("lake")), "pts")
    rows = con.execute(sql + " order by point_id").fetchall()
    con.close()
    return rows


def test_enough_points_and_every_kind_of_edge(projected: list[tuple]) -> None:
    assert len(projected) >= 10_000
    lats = {round(r[1], 6) for r in projected}
    lons = {r[2] for r in projected}
    assert {84.0, -80.0, 0.0} <= lats and {180.0, -180.0, 6.0, 3.0, 42.0} <= lons


def test_zone_band_hemisphere_and_outside_flag(projected: list[tuple]) -> None:
    for _, lat, lon, zone, band, hemisphere, easting, northing, outside in projected:
        assert zone == expected_zone(lat, lon), (lat, lon, zone)
        assert band == expected_band(lat), (lat, lon, band)
        if outside:
            assert lat > 84 or lat < -80
            assert (zone, band, hemisphere, easting, northing) == (None,) * 5, (lat, lon)
        else:
            assert -80 <= lat <= 84
            assert hemisphere == ("N" if lat >= 0 else "S")


def test_within_a_metre_of_pyproj_in_the_points_own_zone(projected: list[tuple]) -> None:
    by_epsg: dict[int, list[tuple]] = {}
    for row in projected:
        _, lat, _, zone, _, hemisphere, *_ = row
        if zone is not None:
            by_epsg.setdefault((32600 if hemisphere == "N" else 32700) + zone, []).append(row)
    worst = 0.0
    for epsg, rows in by_epsg.items():
        transformer = Transformer.from_crs(4326, epsg, always_xy=True)
        lon = np.array([r[2] for r in rows])
        lat = np.array([r[1] for r in rows])
        east, north = transformer.transform(lon, lat)
        d_east = np.abs(np.array([r[6] for r in rows]) - east)
        d_north = np.abs(np.array([r[7] for r in rows]) - north)
        worst = max(worst, float(d_east.max()), float(d_north.max()))
        assert d_east.max() < 1.0 and d_north.max() < 1.0, epsg
    assert len(by_epsg) > 100  # every zone, both hemispheres, mostly
    print(f"worst deviation from pyproj: {worst:.3e} m")
