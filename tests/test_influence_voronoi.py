"""The numpy Voronoi settle of the nearest station (influence._voronoi_settled): correct lot by lot."""

from __future__ import annotations

import numpy as np
import pytest
import shapely

import quitogeo.spatial.influence as influence
from quitogeo.spatial import LotIndex
from quitogeo.testing import layer, point, rect


def _lots(n_side: int, size: float, rng: np.random.Generator) -> LotIndex:
    """A grid of lots, some rotated, some skewed (non-rectangular), some large."""
    geoms = []
    for i in range(n_side):
        for j in range(n_side):
            x, y = i * size, j * size
            d = rng.uniform(-0.3, 0.3, size=4) * size
            w = size * (3 if (i * n_side + j) % 17 == 0 else 1)  # a few lots span several cells
            g = shapely.Polygon(
                [(x + d[0], y), (x + w, y + d[1]), (x + w + d[2], y + size), (x, y + size + d[3])]
            )
            base = rect(0, 0, 1, 1)  # the helpers place local metres in TM-Quito
            x0, y0 = shapely.get_coordinates(base)[0]
            geoms.append(shapely.affinity.translate(g, x0, y0))
    rows = [{"clave_catastral": str(k), "geometry": g} for k, g in enumerate(geoms)]
    return LotIndex.from_lots(layer(rows))


def _stations(xy: list[tuple[float, float]]) -> np.ndarray:
    return np.array([point(x, y) for x, y in xy], dtype=object)


def _check(idx: LotIndex, pts: np.ndarray) -> np.ndarray:
    (l0, s0), d0 = shapely.STRtree(pts).query_nearest(idx.geoms, return_distance=True, all_matches=False)
    settled, station = influence._voronoi_settled(idx, pts, np.ones(len(pts), dtype=bool))
    # a settled lot's station is its unique nearest: nearer than every other station by far more than rounding
    d = shapely.distance(idx.geoms[:, None], pts[None, :])
    for lot in np.flatnonzero(settled):
        others = np.delete(d[lot], station[lot])
        assert d[lot, station[lot]] < others.min() - 1e-6, lot
    # the whole search gives query_nearest's answer, lot by lot
    l1, s1, d1 = influence.nearest_station(idx, pts)
    assert l1.tolist() == l0.tolist() and s1.tolist() == s0.tolist() and d1.tolist() == d0.tolist()
    return settled


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_random_stations_settle_correctly(seed: int) -> None:
    rng = np.random.default_rng(seed)
    idx = _lots(30, 15.0, rng)  # 900 lots over 450 m
    # stations inside and around the block, some far away (the walk crosses several cells)
    xy = [tuple(v) for v in rng.uniform(-200, 650, size=(12, 2))] + [(3000.0, -2000.0)]
    settled = _check(idx, _stations(xy))
    # most lots lie well inside one cell (a 15 m lot near a bisector does not)
    assert settled.mean() > 0.6


def test_collinear_stations_and_a_lot_on_their_bisector() -> None:
    # three stations on one line: the triangulation has only the two edges between neighbours. Bisectors
    # at x = 100 and x = 250: the lots of column 100–115 touch the first (0 m past it: not settled), lots
    # wholly on one side are settled to the nearer station
    rng = np.random.default_rng(0)
    idx = _lots(20, 15.0, rng)
    settled = _check(idx, _stations([(50.0, 150.0), (150.0, 150.0), (350.0, 150.0)]))
    b = shapely.bounds(idx.geoms)
    x0 = shapely.get_coordinates(point(0, 0))[0][0]
    across = (b[:, 0] - x0 < 100) & (b[:, 2] - x0 > 100)
    assert across.any() and not settled[across].any()
    assert settled[(b[:, 2] - x0 < 99) | ((b[:, 0] - x0 > 101) & (b[:, 2] - x0 < 249))].all()


def test_two_stations_at_one_spot_settle_nothing() -> None:
    idx = _lots(6, 15.0, np.random.default_rng(0))
    settled = _check(idx, _stations([(10.0, 10.0), (10.0, 10.0), (80.0, 40.0)]))
    assert not settled.any()


def test_neighbours_are_the_delaunay_edges() -> None:
    # a square and its centre: the centre neighbours all four corners; each corner its two sides and the
    # centre (the square's diagonals are not Delaunay edges: the centre splits them)
    xy = np.array([(0.0, 0.0), (10.0, 0.0), (10.0, 10.0), (0.0, 10.0), (5.0, 5.0)])
    table = influence._voronoi_neighbours(xy)
    assert table is not None
    got = {i: sorted(int(j) for j in row if j >= 0) for i, row in enumerate(table)}
    assert got == {0: [1, 3, 4], 1: [0, 2, 4], 2: [1, 3, 4], 3: [0, 2, 4], 4: [0, 1, 2, 3]}
