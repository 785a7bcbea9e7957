"""Frontage on the lot index's shared caches: one vertex table, the overlap joins' strict quadrilaterals."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import shapely

from quitogeo.rules import load_rules
from quitogeo.spatial import STRICT_TURN_MIN_M2, LotIndex, _strict_quads, frontage
from quitogeo.spatial.frontage import join_frontage, ring_vertices, road_network
from quitogeo.testing import ORIGIN, layer, line, poly, rect

RULES = load_rules()  # frente_tolerancia_m = 2, frente_min_m = 3


def _lots(geoms: list) -> object:
    return layer([{"clave_catastral": f"P{i}", "geometry": g} for i, g in enumerate(geoms)])


def _former_convex(geoms: np.ndarray) -> np.ndarray:
    """The criterion frontage used before sharing the index's (one ring of four edges, |sine| > 1e-6)."""
    ver = ring_vertices(geoms)
    out = np.zeros(len(geoms), dtype=bool)
    quad = np.flatnonzero((ver.edges == 4) & (ver.count == 5))
    at = ver.start[quad]
    xs = np.stack([ver.x[at + j] for j in range(5)])
    ys = np.stack([ver.y[at + j] for j in range(5)])
    ex, ey = xs[1:] - xs[:-1], ys[1:] - ys[:-1]
    sq = ex * ex + ey * ey
    nx, ny, nsq = ex[[1, 2, 3, 0]], ey[[1, 2, 3, 0]], sq[[1, 2, 3, 0]]
    turn = ex * ny - ey * nx
    sharp = turn * turn > 1e-12 * sq * nsq
    out[quad] = sharp.all(axis=0) & ((turn > 0).all(axis=0) | (turn < 0).all(axis=0))
    return out


# one straight road, 10 m wide: its band is |y| ≤ 5 + 2 = 7 for 0 ≤ x ≤ 400 (flat caps)
VIAS = layer([{"id_via": "R", "nombre": "Recta", "ancho_m": 10.0, "geometry": line((0, 0), (400, 0))}])

#: Lots on which the former criterion and the shared one disagree (and some on which they agree), with
#: (former, shared) classification.
ODD_LOTS = {
    # 5 m × 1 µm sliver inside the band (boundary 10 m inside: fronts): every turn 5 m × 1e-6 m = 5e-6 m² is
    # below the strict quads' 8e-6 m², though every corner is square (sine 1)
    "sliver": (rect(10, -6, 15, -6 + 1e-6), (True, False)),
    # a corner at B bent by 1e-5 m over 100 m edges: turn 100 × 1e-5 = 1e-3 m² (strict), sine 1e-7 (not
    # sharp for the former test). Inside the band: 4 m of its west side (y −7…−3) and 4/27 of its 201.8 m
    # diagonal side (29.9 m): fronts
    "nearly straight": (poly((20, -30), (120, -30), (220, -30 + 1e-5), (20, -3)), (False, True)),
    # clockwise: both accept it (the strict quads reverse it). Inside: 1 m of top (y = −6.5) and 0.5 m of each
    # side = 2 m, does not front
    "clockwise": (poly((250, -20), (250, -6.5), (251, -6.5), (251, -20)), (True, True)),
    # a triangle listed with a repeated vertex (valid for GEOS, zero turn): both refuse it
    "repeated vertex": (poly((270, -10), (280, -10), (280, -10), (270, -2)), (False, False)),
    # one ring of four edges in a MultiPolygon: only the former (any type) accepts it. Inside: 1 m of top and
    # 0.8 m of each side = 2.6 m, does not front
    "multipolygon": (shapely.MultiPolygon([rect(300, -10, 301, -6.2)]), (True, False)),
    # 12 km long, convex: beyond TRUSTED_QUAD_MAX_DIAG_M (its top edge, y = −6, lies 5 m inside the band)
    "huge": (rect(-12_000, -30, 5, -6), (True, False)),
    # bow tie (invalid): both refuse it, GEOS measures it
    "bow tie": (poly((320, -10), (330, -2), (330, -10), (320, -2)), (False, False)),
    # an ordinary lot
    "box": (rect(340, -12, 352, -3), (True, True)),
    # a spike folded back along its top edge (invalid): GEOS counts 0.6 m of top once + 1 m of each side =
    # 2.6 m, does not front; summing its edges would count the spike's 0.5 m twice more (3.6 m: fronts)
    "spike": (
        poly((360, -6), (360.6, -6), (360.1, -6), (360.6, -6), (360.6, -20), (360, -20)),
        (False, False),
    ),
}


def _geos_fronts(lot_geoms: np.ndarray, bands: np.ndarray) -> list[set[int]]:
    band_pos, lot_pos = shapely.STRtree(lot_geoms).query(bands, predicate="intersects")
    inside = shapely.length(shapely.intersection(shapely.boundary(lot_geoms[lot_pos]), bands[band_pos]))
    out: list[set[int]] = [set() for _ in lot_geoms]
    for lot_i, band_i in zip(lot_pos[inside >= 3.0].tolist(), band_pos[inside >= 3.0].tolist(), strict=True):
        out[lot_i].add(band_i)
    return out


# the repeated vertex's zero-length edge has no unit normal in the strict quads' rows (never read)
@pytest.mark.filterwarnings("ignore:invalid value encountered in divide:RuntimeWarning")
def test_lots_the_two_criteria_disagree_on_front_as_geos_says(monkeypatch: pytest.MonkeyPatch) -> None:
    geoms = np.array([g for g, _ in ODD_LOTS.values()], dtype=object)
    lots = _lots(list(geoms))
    idx = LotIndex.from_lots(lots)
    former = _former_convex(geoms)
    shared = frontage._trusted_lots(idx)
    assert list(zip(former.tolist(), shared.tolist(), strict=True)) == [c for _, c in ODD_LOTS.values()]
    # the strict quads accept the sliver's shape at a larger scale, and the huge lot: the bound refuses it
    assert _strict_quads(idx)[0][list(ODD_LOTS).index("huge")] >= 0
    # every lot either criterion trusts is valid: which lots GEOS checks cannot change the frontage
    assert shapely.is_valid(geoms[former | shared]).all()
    assert not shapely.is_valid(geoms[list(ODD_LOTS).index("bow tie")])
    red = road_network(VIAS, rules=RULES)
    expected = [bool(s) for s in _geos_fronts(geoms, np.asarray(red.buffers))]
    # GEOS: sliver 10 m, nearly straight 33.9 m, repeated vertex 13 m, huge 6 m (5 m of top, 1 m of east
    # side), bow tie 26 m, box 20 m front; clockwise (2 m) and multipolygon (2.6 m) do not
    assert expected == [True, True, False, True, False, True, True, True, False]
    results = []
    for trusted in (
        frontage._trusted_lots,  # the shared criterion
        lambda i: _former_convex(i.geoms),  # the former one
        lambda i: np.zeros(len(i), dtype=bool),  # GEOS checks every lot
    ):
        monkeypatch.setattr(frontage, "_trusted_lots", trusted)
        out = join_frontage(lots, red, rules=RULES, index=LotIndex.from_lots(lots))
        assert out["n_vias_frente"].fillna(0).astype(bool).tolist() == expected
        results.append(out)
    pd.testing.assert_frame_equal(results[0], results[1])
    pd.testing.assert_frame_equal(results[0], results[2])
    # the check has teeth: trusting every lot (the spike too) measures the spike's edges in numpy
    monkeypatch.setattr(frontage, "_trusted_lots", lambda i: np.ones(len(i), dtype=bool))
    out = join_frontage(lots, red, rules=RULES, index=LotIndex.from_lots(lots))
    assert out["n_vias_frente"].fillna(0).astype(bool).tolist() == [*expected[:-1], True]


def test_an_invalid_lot_is_never_trusted() -> None:
    # a spike folded back along the top edge: GEOS would count the top edge once, summing edges twice
    x0, y0 = ORIGIN
    spike = shapely.Polygon(
        [(x0, y0), (x0 + 4, y0), (x0 + 2, y0), (x0 + 4, y0), (x0 + 4, y0 - 9), (x0, y0 - 9)]
    )
    bow = shapely.Polygon([(x0, y0), (x0 + 10, y0 + 10), (x0 + 10, y0), (x0, y0 + 10)])
    idx = LotIndex.from_lots(_lots([spike, bow, None, shapely.box(x0, y0, x0 + 3, y0 + 3)]))
    assert frontage._trusted_lots(idx).tolist() == [False, False, False, True]


def test_the_size_bound_keeps_the_rounding_far_below_the_strict_margin() -> None:
    # a computed corner turn is off by at most 2^-51 · diagonal² (TRUSTED_QUAD_MAX_DIAG_M): 4.4e-8 m² at
    # 10 km, against the 8e-6 m² every strict quadrilateral's turns clear
    assert 2.0**-51 * frontage.TRUSTED_QUAD_MAX_DIAG_M**2 < STRICT_TURN_MIN_M2 / 100


@pytest.mark.filterwarnings("ignore:invalid value encountered in divide:RuntimeWarning")
def test_the_lots_vertices_are_extracted_once_per_index(monkeypatch: pytest.MonkeyPatch) -> None:
    geoms = [g for g, _ in ODD_LOTS.values()]
    lots = _lots(geoms)
    calls: list[int] = []
    real = frontage.ring_vertices

    def spy(g: np.ndarray, **kw: bool) -> frontage.RingVertices:
        if not kw:  # the lots' (the bands' are oriented)
            calls.append(len(g))
        return real(g, **kw)

    monkeypatch.setattr(frontage, "ring_vertices", spy)
    idx = LotIndex.from_lots(lots)
    red = road_network(VIAS, rules=RULES)
    out = join_frontage(lots, red, rules=RULES, index=idx)
    pos, quads = _strict_quads(idx)
    assert calls == [len(geoms)]
    # the shared table is every lot's, and the strict quadrilaterals' coordinates are its bits
    ver = idx.vertices
    assert ver.count.tolist() == real(np.asarray(geoms, dtype=object)).count.tolist()
    box = list(ODD_LOTS).index("box")
    at = ver.start[box] + np.arange(4)
    assert quads[pos[box], 0:4].tolist() == ver.x[at].tolist()  # counter-clockwise already: as listed
    assert quads[pos[box], 4:8].tolist() == ver.y[at].tolist()
    # the same frontage as on an index whose caches the overlap joins built first
    warm = LotIndex.from_lots(lots)
    warm.warm()
    pd.testing.assert_frame_equal(out, join_frontage(lots, red, rules=RULES, index=warm))


def test_dropped_vertices_free_their_table_and_come_back_the_same() -> None:
    """As process_lots does after frente (pipeline.CACHE_LAST_READER): the quads stay, the table goes."""
    from quitogeo.pipeline import CACHE_LAST_READER

    assert CACHE_LAST_READER["frente"] == ("vertices",)
    lots = _lots([g for g, _ in ODD_LOTS.values()])
    idx = LotIndex.from_lots(lots)
    before = idx.vertices
    quads = _strict_quads(idx)
    idx.drop("vertices", "not-a-cache")
    assert "vertices" not in idx.cache and "strict_quads" in idx.cache
    assert _strict_quads(idx) is quads  # not rebuilt: it holds its own copy of the coordinates
    again = idx.vertices
    assert again is not before
    for name in ("x", "y", "start", "count"):
        assert getattr(again, name).tolist() == getattr(before, name).tolist()


@pytest.mark.parametrize("mixed", [False, True])
def test_strict_quads_copy_the_coordinates_geos_gives(mixed: bool) -> None:
    # quadrilaterals one after the other in the vertex table (a slice of it), or among other lots (gathered)
    x0, y0 = ORIGIN
    geoms = [shapely.box(x0 + 20 * i, y0, x0 + 20 * i + 7.3, y0 + 11.1) for i in range(6)]
    if mixed:
        geoms[2] = shapely.Polygon([(x0, y0), (x0 + 4, y0), (x0 + 6, y0 + 3), (x0 + 3, y0 + 6), (x0, y0 + 4)])
        geoms[4] = shapely.MultiPolygon([shapely.box(x0, y0, x0 + 3, y0 + 3)])
    idx = LotIndex.from_lots(_lots(geoms))
    pos, quads = _strict_quads(idx)
    quad = [i for i in range(6) if not (mixed and i in (2, 4))]
    assert np.flatnonzero(pos >= 0).tolist() == quad
    for i in quad:
        xy = shapely.get_coordinates(geoms[i])[:4]  # shapely.box is counter-clockwise: rows as listed
        assert quads[pos[i], 0:4].tolist() == xy[:, 0].tolist()
        assert quads[pos[i], 4:8].tolist() == xy[:, 1].tolist()
