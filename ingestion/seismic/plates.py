"""Where simulated earthquakes happen: a small table of real plate boundaries as polylines.

Coordinates are (longitude, latitude) in degrees, approximately following the trenches, ridges
and faults (good to tens of kilometres, which is all a simulation needs). A polyline crossing the
antimeridian continues past -180 (e.g. -182 = 178E); points are wrapped after sampling.

Kinds and how depth is drawn:
- ``subduction``: an oceanic slab dives under the overriding plate on side ``slab_side`` (+1 =
  left of the polyline's direction of travel, -1 = right). Events sit on the slab: the further
  from the trench, the deeper (``dip`` degrees), down to ``max_depth_km``; a share are shallow
  interface events near the trench. This is what makes subduction zones the deepest quartile.
- ``ridge``: spreading centres, shallow (2-15 km) and tight around the axis.
- ``transform`` and ``collision``: crustal faults, 3-25 and 10-70 km.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

KM_PER_DEGREE = 111.195


@dataclass(frozen=True)
class Boundary:
    region: str  # a Flynn-style region name, as EMSC reports it
    kind: str
    path: tuple[tuple[float, float], ...]
    weight: float  # relative activity per kilometre of boundary
    slab_side: int = 0
    dip_deg: float = 0.0
    max_depth_km: float = 0.0


# fmt: off
BOUNDARIES: tuple[Boundary, ...] = (
    Boundary(
        "KURIL ISLANDS - JAPAN",
        "subduction",
        ((142.0, 35.5), (144.2, 38.5), (144.8, 41.0), (147.5, 43.0), (153.0, 46.5),
         (158.5, 51.0), (162.5, 55.5)),
        1.5, slab_side=1, dip_deg=40, max_depth_km=650,
    ),
    Boundary(
        "IZU-BONIN - MARIANA ISLANDS",
        "subduction",
        ((142.0, 35.0), (142.5, 30.0), (143.0, 24.0), (146.0, 18.0), (147.5, 14.0), (145.0, 12.0)),
        0.8, slab_side=-1, dip_deg=55, max_depth_km=600,
    ),
    Boundary(
        "TONGA - KERMADEC ISLANDS",
        "subduction",
        ((-173.0, -15.0), (-173.5, -18.0), (-174.5, -21.0), (-175.5, -24.5), (-176.5, -28.0),
         (-177.5, -31.5), (-178.5, -35.0), (-179.5, -37.0), (-182.0, -39.0)),
        1.5, slab_side=-1, dip_deg=50, max_depth_km=690,
    ),
    Boundary(
        "VANUATU ISLANDS",
        "subduction",
        ((166.0, -10.0), (166.5, -14.0), (168.0, -18.0), (169.5, -21.5)),
        0.6, slab_side=1, dip_deg=60, max_depth_km=300,
    ),
    Boundary(
        "PERU - CHILE",
        "subduction",
        ((-80.0, -2.0), (-81.0, -6.0), (-78.0, -12.0), (-72.0, -18.0), (-71.0, -24.0),
         (-72.0, -32.0), (-74.0, -40.0), (-75.5, -46.0)),
        1.5, slab_side=1, dip_deg=25, max_depth_km=650,
    ),
    Boundary(
        "CENTRAL AMERICA",
        "subduction",
        ((-105.5, 19.0), (-101.0, 17.0), (-96.0, 15.3), (-92.5, 14.0), (-88.0, 12.5),
         (-85.5, 10.0), (-83.5, 8.0)),
        0.8, slab_side=1, dip_deg=35, max_depth_km=250,
    ),
    Boundary(
        "ALEUTIAN ISLANDS",
        "subduction",
        ((-150.0, 56.5), (-158.0, 54.0), (-165.0, 52.0), (-172.0, 51.0), (-180.0, 50.8),
         (-187.0, 51.2), (-193.0, 52.5)),
        1.0, slab_side=-1, dip_deg=45, max_depth_km=250,
    ),
    Boundary(
        "SUMATRA - JAVA",
        "subduction",
        ((92.5, 12.0), (93.0, 7.0), (95.0, 3.0), (97.5, 0.0), (100.5, -3.5), (104.0, -6.5),
         (108.0, -9.0), (113.0, -10.3), (118.0, -11.0), (122.0, -10.8)),
        1.2, slab_side=1, dip_deg=40, max_depth_km=650,
    ),
    Boundary(
        "CRETE - HELLENIC ARC",
        "subduction",
        ((20.5, 38.0), (21.5, 36.5), (23.5, 35.3), (26.0, 34.6), (28.0, 35.3), (29.5, 36.3)),
        0.5, slab_side=1, dip_deg=30, max_depth_km=200,
    ),
    Boundary(
        "MID-ATLANTIC RIDGE",
        "ridge",
        ((-8.0, 71.0), (-17.0, 66.5), (-24.0, 62.0), (-30.0, 57.0), (-33.0, 52.5), (-28.5, 47.0),
         (-33.0, 40.0), (-37.0, 35.0), (-44.0, 25.0), (-46.0, 15.0), (-38.0, 8.0), (-30.0, 3.0),
         (-18.0, -1.0), (-13.5, -10.0), (-14.0, -20.0), (-13.0, -30.0), (-16.0, -40.0),
         (-14.0, -50.0), (-5.0, -55.0)),
        0.6,
    ),
    Boundary(
        # Mohns and Knipovich ridges past Svalbard, then the Gakkel ridge beyond 84N (UPS area)
        "SVALBARD - ARCTIC RIDGE",
        "ridge",
        ((-8.0, 71.0), (3.0, 73.5), (8.0, 75.5), (8.0, 78.0), (3.0, 80.0), (-5.0, 82.5),
         (10.0, 84.5), (40.0, 86.0), (80.0, 86.5), (110.0, 84.0), (125.0, 80.0)),
        0.4,
    ),
    Boundary(
        "EAST PACIFIC RISE",
        "ridge",
        ((-108.5, 22.0), (-106.0, 15.0), (-104.0, 8.0), (-102.5, 0.0), (-111.0, -10.0),
         (-112.5, -20.0), (-113.5, -30.0), (-115.0, -40.0), (-118.0, -50.0), (-125.0, -57.0)),
        0.4,
    ),
    Boundary(
        "CARLSBERG - CENTRAL INDIAN RIDGE",
        "ridge",
        ((57.0, 14.0), (60.0, 10.0), (66.0, 3.0), (68.0, -5.0), (68.0, -15.0), (66.0, -22.0),
         (70.0, -30.0), (78.0, -38.0), (88.0, -42.0), (100.0, -45.0)),
        0.4,
    ),
    Boundary(
        "CALIFORNIA",
        "transform",
        ((-124.5, 40.3), (-122.5, 37.7), (-120.5, 35.5), (-116.5, 33.5), (-115.5, 32.5)),
        0.5,
    ),
    Boundary(
        "TURKEY",
        "transform",
        ((26.5, 40.5), (31.0, 40.8), (36.0, 40.7), (40.0, 39.8), (42.0, 39.3)),
        0.4,
    ),
    Boundary(
        "HIMALAYA",
        "collision",
        ((72.0, 35.0), (78.0, 32.0), (84.0, 28.5), (90.0, 27.8), (96.0, 28.5)),
        0.5,
    ),
)
# fmt: on

# Away from every boundary: intraplate events, uniform on the sphere (a few beyond UTM's range).
BACKGROUND_REGION = "INTRAPLATE"
BACKGROUND_FRACTION = 0.03
INTERFACE_FRACTION = 0.35  # subduction events on the shallow plate interface, near the trench


@dataclass(frozen=True)
class Hypocentres:
    longitude: np.ndarray
    latitude: np.ndarray
    depth_km: np.ndarray
    region: np.ndarray  # index into region_names()


def region_names() -> tuple[str, ...]:
    return (*(b.region for b in BOUNDARIES), BACKGROUND_REGION)


def _segments() -> tuple[np.ndarray, ...]:
    """Every boundary segment: start, end (lon, lat), boundary index, sampling weight."""
    starts, ends, owner, weight = [], [], [], []
    for index, boundary in enumerate(BOUNDARIES):
        path = np.asarray(boundary.path, dtype=float)
        mid_lat = np.radians((path[:-1, 1] + path[1:, 1]) / 2)
        d_east = (path[1:, 0] - path[:-1, 0]) * np.cos(mid_lat)
        d_north = path[1:, 1] - path[:-1, 1]
        length = np.hypot(d_east, d_north)
        starts.append(path[:-1])
        ends.append(path[1:])
        owner.append(np.full(len(length), index))
        weight.append(length * boundary.weight)
    w = np.concatenate(weight)
    return np.vstack(starts), np.vstack(ends), np.concatenate(owner), w / w.sum()


def sample_hypocentres(count: int, rng: np.random.Generator) -> Hypocentres:
    """``count`` event locations and depths along the boundaries (vectorised)."""
    starts, ends, owner, weights = _segments()
    seg = rng.choice(len(weights), size=count, p=weights)
    t = rng.random(count)
    lon = starts[seg, 0] + t * (ends[seg, 0] - starts[seg, 0])
    lat = starts[seg, 1] + t * (ends[seg, 1] - starts[seg, 1])
    # unit direction of travel (east, north) and its left normal
    cos_lat = np.cos(np.radians(lat))
    d_east = (ends[seg, 0] - starts[seg, 0]) * cos_lat
    d_north = ends[seg, 1] - starts[seg, 1]
    norm = np.hypot(d_east, d_north)
    left_east, left_north = -d_north / norm, d_east / norm

    boundary = owner[seg]
    kind = np.array([b.kind for b in BOUNDARIES])[boundary]
    side = np.array([b.slab_side for b in BOUNDARIES], dtype=float)[boundary]
    dip = np.radians(np.array([b.dip_deg for b in BOUNDARIES], dtype=float))[boundary]
    max_depth = np.array([b.max_depth_km for b in BOUNDARIES], dtype=float)[boundary]

    offset_km = rng.normal(0.0, 12.0, count)  # ridges and faults: close to the axis
    depth = np.empty(count)
    ridge = kind == "ridge"
    depth[ridge] = rng.uniform(2.0, 15.0, ridge.sum())
    transform = kind == "transform"
    depth[transform] = rng.uniform(3.0, 25.0, transform.sum())
    collision = kind == "collision"
    depth[collision] = rng.uniform(10.0, 70.0, collision.sum())
    offset_km[collision] = rng.normal(0.0, 60.0, collision.sum())

    subduction = kind == "subduction"
    interface = subduction & (rng.random(count) < INTERFACE_FRACTION)
    slab = subduction & ~interface
    reach = (max_depth - 10.0) / np.tan(np.where(subduction, dip, 1.0))  # trench to deepest
    across = np.where(interface, rng.exponential(40.0, count), rng.uniform(0.0, 1.0, count) * reach)
    across = np.minimum(across, reach)
    slab_depth = 10.0 + across * np.tan(dip) + rng.normal(0.0, 8.0, count)
    depth[slab] = np.clip(slab_depth[slab], 5.0, max_depth[slab])
    depth[interface] = np.clip(5.0 + across[interface] * 0.4, 5.0, 60.0)
    offset_km[subduction] = side[subduction] * across[subduction] + rng.normal(
        0.0, 10.0, subduction.sum()
    )
    along_noise = rng.normal(0.0, 8.0, count)
    east_km = offset_km * left_east + along_noise * d_east / norm
    north_km = offset_km * left_north + along_noise * d_north / norm
    lat = lat + north_km / KM_PER_DEGREE
    lon = lon + east_km / (KM_PER_DEGREE * np.maximum(cos_lat, 0.05))

    # intraplate background, uniform on the sphere
    background = rng.random(count) < BACKGROUND_FRACTION
    n_bg = int(background.sum())
    lat[background] = np.degrees(np.arcsin(rng.uniform(-1.0, 1.0, n_bg)))
    lon[background] = rng.uniform(-180.0, 180.0, n_bg)
    depth[background] = rng.uniform(2.0, 35.0, n_bg)
    region = np.where(background, len(BOUNDARIES), boundary)

    lat = np.clip(lat, -89.99, 89.99)
    lon = (lon + 180.0) % 360.0 - 180.0
    return Hypocentres(lon, lat, depth, region)
