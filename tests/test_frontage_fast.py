"""The fast frontage join (issue 8): vertex tables, the band screen, trusted lots and categorical texts."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
import shapely
from test_frontage import lots_of, ring  # the same block of streets and lot builder

from quitogeo.pipeline import compact_text
from quitogeo.rules import load_rules
from quitogeo.spatial import LotIndex, frontage
from quitogeo.spatial.frontage import join_frontage, ring_segments, ring_vertices, road_network
from quitogeo.testing import ORIGIN, layer, line, poly, rect

RULES = load_rules()  # frente_tolerancia_m = 2, frente_min_m = 3


def _mixed_polygons() -> np.ndarray:
    """Plain polygons, a polygon with a hole, a multipolygon, None and an empty one, out of order."""
    x0, y0 = ORIGIN
    box = shapely.box(x0, y0, x0 + 10, y0 + 5)
    holed = shapely.Point(x0 + 30, y0).buffer(8, quad_segs=2).difference(shapely.Point(x0 + 30, y0).buffer(2))
    multi = shapely.MultiPolygon(
        [shapely.box(x0, y0 + 20, x0 + 4, y0 + 24), shapely.box(x0 + 6, y0 + 20, x0 + 9, y0 + 23)]
    )
    tri = shapely.Polygon([(x0, y0 - 9), (x0 + 7, y0 - 9), (x0 + 2, y0 - 3)])
    return np.array([holed, box, None, multi, shapely.Polygon(), tri], dtype=object)


@pytest.mark.parametrize("local", [False, True])
def test_ring_vertices_give_the_edges_of_ring_segments(local: bool) -> None:
    geoms = _mixed_polygons()
    seg = ring_segments(geoms, oriented=True)
    ver = ring_vertices(geoms, oriented=True, local=local)
    assert ver.edges.tolist() == seg.count.tolist()  # 0 for None and empty
    for i in range(len(geoms)):
        e = ver.edge_vertex[ver.first_edge[i] : ver.first_edge[i] + ver.edges[i]]
        assert ver.link[e].all()
        got = np.column_stack(
            [ver.x[e] + ver.ox[i], ver.y[e] + ver.oy[i], ver.x[e + 1] + ver.ox[i], ver.y[e + 1] + ver.oy[i]]
        )
        s = slice(seg.start[i], seg.start[i] + seg.count[i])
        want = np.column_stack([seg.x0[s], seg.y0[s], seg.x1[s], seg.y1[s]])
        # the same edges in the same order, and the same orientation (shells against holes)
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-8)
        assert ver.side[e].tolist() == seg.side[s].tolist()
        # a polygon's vertices are contiguous, ring after ring: one vertex per ring ends without an edge
        v = slice(ver.start[i], ver.start[i] + ver.count[i])
        rings = len(shapely.get_rings(shapely.get_parts(geoms[i]))) if ver.count[i] else 0
        assert ver.count[i] == ver.edges[i] + rings and (~ver.link[v]).sum() == rings
    if local:  # each polygon's first vertex is its origin
        has = ver.count > 0
        assert np.all(ver.x[ver.start[has]] == 0) and np.all(ver.y[ver.start[has]] == 0)


def test_band_screen_keeps_every_intersecting_pair() -> None:
    # winding streets in every direction, and lots of every size near them: the screen may keep pairs that do
    # not intersect, never drop one that does
    rng = np.random.default_rng(7)
    pts = [np.cumsum(rng.normal(0, 15, (int(rng.integers(2, 8)), 2)), 0) + ORIGIN for _ in range(60)]
    lines = np.array([shapely.LineString(p) for p in pts], dtype=object)
    bands = shapely.buffer(lines, rng.uniform(2, 10, 60), cap_style="flat")
    centres = np.array(ORIGIN) + rng.normal(0, 40, (3000, 2))
    half = rng.uniform(1, 12, (3000, 2))
    lots = shapely.box(*(centres - half).T, *(centres + half).T)
    tree = shapely.STRtree(lots)
    band_pos, lot_pos = tree.query(bands)
    keep = frontage._may_meet(
        shapely.bounds(lots), frontage._band_frames(ring_vertices(bands, local=True)), lot_pos, band_pos
    )
    kept = set(zip(lot_pos[keep].tolist(), band_pos[keep].tolist(), strict=True))
    b_i, l_i = tree.query(bands, predicate="intersects")
    meeting = set(zip(l_i.tolist(), b_i.tolist(), strict=True))
    assert meeting <= kept
    assert len(kept) < len(lot_pos)  # the screen does drop pairs whose boxes only meet
    assert len(kept) < 1.5 * len(meeting)


# the repeated vertex's zero-length edge has no unit normal in the strict quads' rows (never read)
@pytest.mark.filterwarnings("ignore:invalid value encountered in divide:RuntimeWarning")
def test_only_strictly_convex_quadrilaterals_skip_the_validity_check() -> None:
    x0, y0 = ORIGIN
    geoms = np.array(
        [
            shapely.box(x0, y0, x0 + 10, y0 + 20),  # yes
            shapely.Polygon(
                [(x0, y0), (x0 + 9, y0 + 2), (x0 + 11, y0 + 14), (x0 - 1, y0 + 9)]
            ),  # yes, rotated
            shapely.Polygon([(x0, y0), (x0 + 10, y0), (x0 + 2, y0 + 2), (x0, y0 + 10)]),  # concave dart
            shapely.Polygon([(x0, y0), (x0 + 10, y0 + 10), (x0 + 10, y0), (x0, y0 + 10)]),  # bow tie
            shapely.Polygon([(x0, y0), (x0 + 5, y0), (x0 + 10, y0), (x0, y0 + 10)]),  # a straight corner
            shapely.Polygon([(x0, y0), (x0 + 10, y0), (x0 + 10, y0 + 10), (x0 + 10, y0 + 5)]),  # spike
            shapely.Polygon([(x0, y0), (x0 + 10, y0), (x0 + 10, y0), (x0, y0 + 10)]),  # repeated vertex
            shapely.Polygon([(x0, y0), (x0 + 4, y0), (x0 + 6, y0 + 3), (x0 + 3, y0 + 6), (x0, y0 + 4)]),  # 5
            shapely.box(x0, y0, x0 + 10, y0 + 10).difference(shapely.box(x0 + 4, y0 + 4, x0 + 6, y0 + 6)),
            None,
        ],
        dtype=object,
    )
    # the lot index's strict quadrilaterals (shared with the overlap joins), within the size bound
    quads = frontage._trusted_lots(LotIndex.from_lots(lots_of(*geoms)))
    assert quads.tolist() == [True, True] + [False] * 8
    assert shapely.is_valid(geoms[quads]).all()


def test_pairs_in_any_order_and_of_mixed_lots_match_geos() -> None:
    # boundary_length_inside groups the pairs by lot edge count and band vertex count itself: results aligned
    # to the pairs as given
    x0, y0 = ORIGIN
    bands = shapely.buffer(
        np.array(
            [
                shapely.LineString([(x0 - 50, y0), (x0 + 50, y0)]),
                shapely.LineString([(x0, y0 - 40), (x0 + 5, y0), (x0, y0 + 40), (x0 + 8, y0 + 60)]),
            ]
        ),
        6.0,
        cap_style="flat",
    )
    lots = _mixed_polygons()
    lots = np.array(
        [g for g in lots if g is not None and not g.is_empty] + [shapely.box(x0 - 3, y0 - 3, x0 + 3, y0 + 3)]
    )
    lot = np.repeat(np.arange(len(lots)), 2)[::-1].copy()
    band = np.tile([1, 0], len(lots))
    length, ambiguous = frontage.boundary_length_inside(
        ring_vertices(lots), ring_vertices(bands, oriented=True, local=True), lot, band
    )
    exact = shapely.length(shapely.intersection(shapely.boundary(lots[lot]), bands[band]))
    assert (exact > 0).sum() >= 4 and (ambiguous == 0).all()
    np.testing.assert_allclose(length, exact, rtol=0, atol=1e-7)


def test_texts_are_the_categoricals_compact_text_makes() -> None:
    # two roads named alike, a lot on one road, two lots on the same two roads, a lot on none
    vias = ring(
        cruce={"id_via": "C", "nombre": "Sur", "ancho_m": 9.0, "geometry": line((100, 0), (100, 100))},
    )
    lots = lots_of(
        rect(104.5, 7, 130, 40),  # Sur (C, 9 m) then Sur (S, 14 m): the narrowest first
        rect(20, 7, 40, 30),  # Sur only
        rect(60, 40, 80, 60),  # nothing
        rect(104.5, 7, 120, 30),  # the same two roads as the first lot
        rect(7, 7, 30, 30),  # S and W, both 14 m: by road position
    )
    out = join_frontage(lots, road_network(vias, rules=RULES), rules=RULES)
    texts = ["vias_frente_ids", "vias_frente_nombres", "vias_frente_anchos", "via_mas_angosta"]
    for col in texts:
        assert isinstance(out[col].dtype, pd.CategoricalDtype), col
        cats = list(out[col].cat.categories)
        assert cats == sorted(set(cats)), col  # sorted, distinct, each used
        assert set(out[col].dropna()) == set(cats), col
    assert [None if pd.isna(v) else v for v in out["vias_frente_ids"]] == ["C; S", "S", None, "C; S", "S; W"]
    assert list(out["vias_frente_nombres"].cat.categories) == ["Sur", "Sur; Oeste", "Sur; Sur"]
    assert out["vias_frente_anchos"].iloc[0] == "9; 14" and out["via_mas_angosta"].iloc[4] == "Sur"
    # what the pipeline's compaction makes of the same texts as plain strings
    plain = out.copy()
    for col in [*texts, "vias_sin_continuidad"]:
        plain[col] = np.asarray(out[col].astype(object).where(out[col].notna(), None), dtype=object)
    pd.testing.assert_frame_equal(compact_text(plain), compact_text(out))


def test_sequences_of_codes_never_share_a_text_by_accident() -> None:
    # a sequence and its prefix, and the same codes in another order, are different texts
    table = pa.array(["a", "b", "c"])
    lot = np.array([0, 1, 1, 2, 2, 3, 3, 3, 5])
    code = np.array([0, 0, 1, 1, 0, 0, 1, 2, 0])
    got = frontage._joined(lot, code, 6, table)
    assert [None if pd.isna(v) else v for v in got] == ["a", "a; b", "b; a", "a; b; c", None, "a"]


def test_masked_bands_of_a_partition_change_nothing_near_its_lots() -> None:
    # the dask backend masks (None) the buffers out of a partition's reach, keeping road positions
    vias = ring(
        far={"id_via": "F", "nombre": "Lejana", "ancho_m": 10.0, "geometry": line((900, 0), (990, 0))}
    )
    lots = lots_of(rect(20, 7, 40, 30), rect(7, 7, 30, 30), rect(170, 10, 193, 30))
    red = road_network(vias, rules=RULES)
    masked = red.buffers.copy()
    masked[[1, 4]] = None  # Norte reaches none of these lots; Lejana is far away
    a = join_frontage(lots, red, rules=RULES)
    b = join_frontage(lots, replace(red, buffers=masked), rules=RULES)
    pd.testing.assert_frame_equal(a, b)
    assert list(a["vias_frente_ids"].astype(object)) == ["S", "S; W", "E"]


def test_lots_away_from_every_band_and_no_roads() -> None:
    vias = ring()
    lots = lots_of(rect(60, 40, 80, 60), poly((500, 500), (510, 500), (505, 509)))
    out = join_frontage(lots, road_network(vias, rules=RULES), rules=RULES)
    assert out["n_vias_frente"].tolist() == [0, 0]
    assert out["vias_frente_ids"].isna().all() and not out["frente_sin_continuidad"].any()
    empty = road_network(vias.iloc[:0], rules=RULES)
    none = join_frontage(lots, empty, rules=RULES)
    assert none["n_vias_frente"].tolist() == [0, 0] and none["vias_sin_continuidad"].isna().all()


@pytest.mark.parametrize("seed", [3, 4])
def test_join_agrees_with_geos_on_winding_streets_and_odd_lots(seed: int) -> None:
    # streets in every direction, some crossing themselves (bands with holes, stored after the plain ones),
    # and lots of every kind: every lot's roads are those GEOS finds with ≥ frente_min_m of boundary inside
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(40):
        pts = np.cumsum(rng.normal(0, 25, (int(rng.integers(2, 9)), 2)), 0) + ORIGIN
        rows.append(
            {"id_via": f"V{i}", "ancho_m": float(rng.uniform(4, 16)), "geometry": shapely.LineString(pts)}
        )
    vias = layer(rows)
    geoms: list = []
    for _ in range(600):
        c = np.array(ORIGIN) + rng.normal(0, 45, 2)
        kind = int(rng.integers(0, 4))
        if kind == 0:
            geoms.append(shapely.box(*(c - rng.uniform(2, 12, 2)), *(c + rng.uniform(2, 12, 2))))
        elif kind == 1:  # a rotated quadrilateral
            a, w, h = rng.uniform(0, np.pi), rng.uniform(3, 15), rng.uniform(3, 15)
            u, v = np.array([np.cos(a), np.sin(a)]), np.array([-np.sin(a), np.cos(a)])
            geoms.append(shapely.Polygon([c, c + w * u, c + w * u + h * v, c + h * v]))
        elif kind == 2:  # a hole
            geoms.append(
                shapely.Point(c).buffer(9, quad_segs=2).difference(shapely.Point(c).buffer(3, quad_segs=1))
            )
        else:  # two parts
            geoms.append(
                shapely.MultiPolygon([shapely.box(*(c - 5), *(c + 5)), shapely.box(*(c + 6), *(c + 11))])
            )
    lots = lots_of(*geoms)
    red = road_network(vias, rules=RULES)
    out = join_frontage(lots, red, rules=RULES)
    lot_geoms = np.asarray(lots.geometry.array)
    band_pos, lot_pos = shapely.STRtree(lot_geoms).query(red.buffers, predicate="intersects")
    inside = shapely.length(shapely.intersection(shapely.boundary(lot_geoms[lot_pos]), red.buffers[band_pos]))
    fronts = inside >= 3.0
    expected = [set() for _ in range(len(geoms))]
    for lot_i, band_i in zip(lot_pos[fronts].tolist(), band_pos[fronts].tolist(), strict=True):
        expected[lot_i].add(f"V{band_i}")
    assert sum(len(e) for e in expected) > 200 and any(shapely.get_num_interior_rings(red.buffers) > 0)
    got = [set() if pd.isna(v) else set(v.split("; ")) for v in out["vias_frente_ids"]]
    assert got == expected
    assert out["n_vias_frente"].tolist() == [len(e) for e in expected]
