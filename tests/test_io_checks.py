"""The fast paths of reading and of the cross-layer checks give exactly what the plain computations give."""

import geopandas as gpd
import numpy as np
import pytest
import shapely

from quitogeo.io.checks import (
    _BoundaryTreeDistance,
    _LotBoundaryDistance,
    _PointGrid,
    _reference,
    check_layers,
)
from quitogeo.io.crs import TM_QUITO, detect_psad56_mislabel, psad56_shift, reference_tree
from quitogeo.rules import load_rules

X0, Y0 = 498_000.0, 9_975_000.0


def _lots() -> np.ndarray:
    """Blocks of 20 m lots with 10 m streets, plus the awkward cases: a hole, two parts, an overlap."""
    xs = X0 + np.arange(0, 300, 30.0)
    ys = Y0 + np.arange(0, 300, 30.0)
    gx, gy = np.meshgrid(xs, ys)
    lots = list(shapely.box(gx.ravel(), gy.ravel(), gx.ravel() + 20.0, gy.ravel() + 20.0))
    holed = shapely.Polygon(
        [(X0 + 400, Y0), (X0 + 460, Y0), (X0 + 460, Y0 + 60), (X0 + 400, Y0 + 60)],
        holes=[[(X0 + 420, Y0 + 20), (X0 + 440, Y0 + 20), (X0 + 440, Y0 + 40), (X0 + 420, Y0 + 40)]],
    )
    two_parts = shapely.MultiPolygon(
        [shapely.box(X0 + 500, Y0, X0 + 510, Y0 + 10), shapely.box(X0 + 530, Y0, X0 + 540, Y0 + 10)]
    )
    overlapping = shapely.box(X0 + 10, Y0 + 10, X0 + 45, Y0 + 25)  # over two lots and the street between
    # a lot with an oblique edge: its neighbour measures the shared edge from the other end
    skew_a = shapely.Polygon(
        [(X0 + 600, Y0), (X0 + 613.7, Y0), (X0 + 607.3, Y0 + 19.1), (X0 + 600, Y0 + 19.1)]
    )
    skew_b = shapely.Polygon(
        [(X0 + 613.7, Y0), (X0 + 630, Y0), (X0 + 630, Y0 + 19.1), (X0 + 607.3, Y0 + 19.1)]
    )
    return np.array([*lots, holed, two_parts, overlapping, skew_a, skew_b], dtype=object)


def _points(lots: np.ndarray) -> np.ndarray:
    rng = np.random.default_rng(3)
    near = rng.uniform([X0 - 50, Y0 - 50], [X0 + 700, Y0 + 350], (3_000, 2))
    far = np.array([[X0 - 2_000.0, Y0 + 100.0], [X0 + 300.0, Y0 + 900.0], [X0 + 150.0, Y0 - 140.0]])
    vertices = shapely.get_coordinates(lots)[::7]  # on the boundaries: distance 0
    special = np.array(
        [
            [X0 + 430, Y0 + 30],  # in the hole
            [X0 + 520, Y0 + 5],  # between the two parts
            [X0 + 25, Y0 + 15],  # in the street, inside the overlapping lot
            [X0 + 15, Y0 + 15],  # inside two lots
            [X0 + 608.9, Y0 + 9.3],  # near the oblique shared edge
            [X0 + 610.2, Y0 + 4.4],
        ]
    )
    return shapely.points(np.concatenate([near, far, vertices, special]))


def test_lot_boundary_distance_is_the_boundary_tree_nearest_bit_for_bit():
    lots = _lots()
    points = _points(lots)
    _, expected = reference_tree(gpd.GeoSeries(lots)).query_nearest(
        points, return_distance=True, all_matches=False
    )
    got = _LotBoundaryDistance(lots)(points)
    assert np.array_equal(got, expected)  # not approximately: the same floats
    assert (got == 0).sum() >= len(shapely.get_coordinates(lots)[::7])  # boundary points measure 0
    assert got[-6] == pytest.approx(10.0)  # centre of the 20 m hole: 10 m from its ring
    assert got[-5] == pytest.approx(10.0)  # halfway across the 20 m gap between the two parts
    # 2 km west of the first block, level with lot rows: the nearest boundary is the block's west edge
    assert got[len(points) - 6 - len(shapely.get_coordinates(lots)[::7]) - 3] == pytest.approx(2_000.0)


def test_reference_uses_the_boundary_tree_for_few_lots():
    lots = _lots()
    points = _points(lots)
    small = _reference(lots)  # 105 lots: below the threshold
    assert isinstance(small, _BoundaryTreeDistance)
    _, expected = reference_tree(gpd.GeoSeries(lots)).query_nearest(
        points, return_distance=True, all_matches=False
    )
    assert np.array_equal(small(points), expected)
    with_point = np.concatenate([lots, [shapely.Point(X0, Y0)]])
    assert isinstance(_reference(with_point), _BoundaryTreeDistance)


def test_mislabel_verdict_same_with_either_reference():
    lots = _lots()
    dx, dy = psad56_shift(X0 + 150, Y0 + 150)
    shifted = gpd.GeoSeries(shapely.transform(lots, lambda c: c - [dx, dy]), crs=TM_QUITO)
    for layer in (shifted, gpd.GeoSeries(lots, crs=TM_QUITO)):
        by_tree = detect_psad56_mislabel(layer, reference_tree(gpd.GeoSeries(lots)))
        by_distance = detect_psad56_mislabel(layer, _LotBoundaryDistance(lots))
        assert by_distance == by_tree
    assert detect_psad56_mislabel(shifted, _LotBoundaryDistance(lots)).mislabelled


def test_nearest_vertex_bound_settles_only_layers_that_fit():
    lots = _lots()
    grid = _PointGrid(shapely.get_coordinates(lots))
    points = _points(lots)
    xy = shapely.get_coordinates(points)
    bound = grid.nearest_bound(xy)
    exact = _LotBoundaryDistance(lots)(points)
    assert np.all(exact <= bound)  # a bound, never below the distance to the boundaries
    # next to a vertex the bound is that vertex's distance: (X0, Y0) is a lot corner, 3-4-5 m away
    assert grid.nearest_bound(np.array([[X0 - 3.0, Y0 - 4.0]]))[0] == pytest.approx(5.0)
    assert np.isinf(_PointGrid(np.zeros((0, 2))).nearest_bound(xy)).all()
    assert np.isinf(grid.nearest_bound(np.array([[np.nan, Y0]]))).all()
    reference = _LotBoundaryDistance(lots)
    fits = gpd.GeoSeries(lots, crs=TM_QUITO)
    screened = detect_psad56_mislabel(fits, reference, bound=grid.nearest_bound)
    assert not screened.mislabelled and np.isnan(screened.misfit_m)  # settled by the bound alone
    dx, dy = psad56_shift(X0 + 150, Y0 + 150)
    shifted = gpd.GeoSeries(shapely.transform(lots, lambda c: c - [dx, dy]), crs=TM_QUITO)
    # a mislabelled layer is far from every vertex: measured in full, the same verdict and figures
    assert detect_psad56_mislabel(shifted, reference, bound=grid.nearest_bound) == detect_psad56_mislabel(
        shifted, reference
    )


def test_point_grid_hits_match_the_prepared_tree_query():
    rng = np.random.default_rng(5)
    zones = np.array(
        [
            shapely.box(X0, Y0, X0 + 100, Y0 + 100),
            shapely.Polygon([(X0 + 100, Y0), (X0 + 250, Y0 + 40), (X0 + 120, Y0 + 160)]),  # shares x = X0+100
            shapely.Point(X0 + 500, Y0).buffer(30),
            None,
            shapely.Polygon(),
        ],
        dtype=object,
    )
    xy = rng.uniform([X0 - 20, Y0 - 20], [X0 + 540, Y0 + 180], (5_000, 2))
    # on zone edges and corners, and points that intersect nothing (NaN)
    edge = np.array([[X0 + 100, Y0 + 50], [X0, Y0], [X0 + 100, Y0 + 100], [np.nan, Y0], [X0 + 50, np.inf]])
    xy = np.concatenate([xy, edge])
    live = np.array([g is not None and not g.is_empty for g in zones])
    tree = shapely.STRtree(shapely.points(np.where(np.isfinite(xy), xy, np.nan)))
    expected = np.zeros(len(xy), dtype=bool)
    expected[tree.query(zones[live], predicate="intersects")[1]] = True
    got = _PointGrid(xy).hits(zones)
    assert np.array_equal(got, expected)
    assert got[-5] and got[-4] and got[-3]  # boundary counts as inside (intersects)
    assert not got[-2] and not got[-1]
    assert not _PointGrid(np.full((3, 2), np.nan)).hits(zones).any()
    # an absurd coordinate stays off the grid (it would overflow the cell arithmetic) and hits nothing
    huge = _PointGrid(np.array([[X0 + 10, Y0 + 10], [1e300, Y0]]))
    assert huge.hits(zones).tolist() == [True, False]
    assert np.isinf(huge.nearest_bound(np.array([[1e300, Y0]]))).all()


def test_outside_lots_keep_the_centroid_rule():
    rules = load_rules()
    zone = shapely.box(X0, Y0, X0 + 100, Y0 + 100)
    # An "L" lot hugging the zone's top and right edges 1 m away: its centroid (about 77 m, 77 m into the
    # zone) falls inside the zone although its body does not touch it. Covered (the centroid rule), as
    # before the vertex screen existed.
    u_lot = shapely.Polygon(
        [
            (X0, Y0 + 101),
            (X0 + 101, Y0 + 101),
            (X0 + 101, Y0),
            (X0 + 106, Y0),
            (X0 + 106, Y0 + 106),
            (X0, Y0 + 106),
        ]
    )
    assert not u_lot.intersects(zone)
    lots = [
        shapely.box(X0 + 10, Y0 + 10, X0 + 20, Y0 + 20),  # inside
        shapely.box(X0 + 95, Y0 + 40, X0 + 130, Y0 + 50),  # first vertex outside, body crosses in
        shapely.box(X0 + 300, Y0, X0 + 310, Y0 + 10),  # outside
        u_lot,
    ]
    claves = ["A", "B", "C", "D"]
    predios = gpd.GeoDataFrame({"clave_catastral": claves}, geometry=lots, crs=TM_QUITO)
    assert not shapely.intersects(shapely.Point(shapely.get_coordinates(lots[1])[0]), zone)
    assert shapely.intersects(shapely.centroid(u_lot), zone)
    pugs = gpd.GeoDataFrame({"codigo_pit": ["P1"]}, geometry=[zone], crs=TM_QUITO)
    problems = check_layers({"predios": predios, "pugs": pugs}, rules=rules)
    outside = problems[problems["problema"].str.contains("fuera de ningún polígono PIT")]
    assert outside["id"].tolist() == ["C"]


@pytest.mark.parametrize("dtype", [object, "string", "str"])
def test_mojibake_by_distinct_value_is_the_row_by_row_mask(dtype):
    import pandas as pd

    from quitogeo.io.encoding import mojibake_mask
    from quitogeo.io.project import _mojibake_rows

    names = ["Iñaquito", "Iñaquito".encode().decode("cp1252"), "Calderón", None, "Belisario Quevedo"]
    rng = np.random.default_rng(1)
    values = pd.Series(np.array(names, dtype=object)[rng.integers(0, len(names), 30_000)], dtype=dtype)
    got = _mojibake_rows(values)
    assert np.array_equal(got, mojibake_mask(values))
    assert got.sum() == (values == names[1]).sum() > 0  # only "IÃ±aquito" rows
    unique = pd.Series([f"clave {i}" for i in range(30_000)], dtype=dtype)  # no repetition: row by row
    assert not _mojibake_rows(unique).any()


def test_duplicated_claves_reported_whatever_the_screen():
    lots = shapely.box(X0 + np.arange(5) * 30.0, Y0, X0 + np.arange(5) * 30.0 + 20.0, Y0 + 20.0)

    def dups(claves):
        predios = gpd.GeoDataFrame({"clave_catastral": claves}, geometry=lots, crs=TM_QUITO)
        problems = check_layers({"predios": predios}, rules=load_rules())
        return problems.loc[problems["problema"].str.contains("duplicada"), "id"].tolist()

    assert dups(["01", "02", "03", "04", "05"]) == []  # all distinct: the set screen settles it
    assert dups(["01", "02", "01", "04", "05"]) == ["01", "01"]
    # repeated blanks and nulls are not duplicated keys (NaN objects hash apart in a set, equal in pandas)
    assert dups(["01", "", "", None, None]) == []
    assert dups(["01", float("nan"), float("nan"), "04", "05"]) == []


def test_repeated_keys_on_arrow_are_those_of_duplicated():
    import pandas as pd
    import pyarrow as pa

    from quitogeo.io.checks import _repeated

    claves = ["01", "02", "01", "", "", None, None, "03", "02", "01"]
    # in two chunks, as a column read in batches
    keys = pa.chunked_array([pa.array(claves[:4]), pa.array(claves[4:])])
    clave = pd.Series(claves, dtype=object)
    expected = clave.duplicated(keep=False) & clave.notna() & (clave != "")
    # "01" three times and "02" twice; blanks and nulls repeat without being keys
    assert _repeated(keys).tolist() == expected.tolist() == [1, 1, 1, 0, 0, 0, 0, 0, 1, 1]
    assert not _repeated(pa.array(["a", "b", None, ""])).any()
