"""Lot → PIT, AIVA, zones and influence joins on tiny hand-built layers (local metres, quitogeo.testing)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import shapely

from quitogeo.rules import load_rules
from quitogeo.spatial import LotIndex, concat_by_lot, overlap_pairs
from quitogeo.spatial.influence import join_influence
from quitogeo.spatial.joins import join_aiva, join_membership, join_pit
from quitogeo.testing import layer, point, poly, rect

RULES = load_rules()


def texts(series):
    """Text column as a list with None for nulls (pandas may store them as NaN)."""
    return [None if pd.isna(v) else v for v in series]


def lots_of(*geoms):
    return layer([{"clave_catastral": f"P{i}", "geometry": g} for i, g in enumerate(geoms)])


def test_overlap_pairs_exact_only_where_needed() -> None:
    lots = lots_of(rect(0, 0, 10, 10), rect(20, 0, 30, 10), rect(50, 50, 60, 60))
    zones = np.array([rect(-5, -5, 25, 20), rect(25, -5, 40, 20)], dtype=object)
    lot, zone, area = overlap_pairs(LotIndex.from_lots(lots), zones)
    got = {(int(a), int(b)): float(c) for a, b, c in zip(lot, zone, area, strict=True)}
    # lot 0 covered by zone 0 (its own 100 m²); lot 1 split 5 × 10 / 5 × 10; lot 2 in no zone
    assert got == {(0, 0): 100.0, (1, 0): 50.0, (1, 1): 50.0}


def test_pit_largest_overlap_records_share() -> None:
    lots = lots_of(rect(0, 0, 10, 10), rect(100, 100, 110, 110))
    pugs = layer(
        [
            {
                "codigo_pit": "A",
                "uso_principal": "M",
                "cos_pb": 50,
                "geometry": rect(-10, -10, 3, 20),
            },  # 30 %
            {
                "codigo_pit": "B",
                "uso_principal": "R2",
                "cos_pb": 40,
                "geometry": rect(3, -10, 20, 20),
            },  # 70 %
        ]
    )
    out = join_pit(lots, pugs, rules=RULES)
    assert texts(out["codigo_pit"]) == ["B", None]
    assert out["pit_fraccion"].iloc[0] == pytest.approx(0.7)
    assert out["cos_pb"].iloc[0] == 40.0 and np.isnan(out["cos_pb"].iloc[1])
    assert list(out["n_pit"]) == [2, 0]


def test_pit_tie_is_deterministic() -> None:
    lots = lots_of(rect(0, 0, 10, 10))
    pugs = layer(
        [
            {"codigo_pit": "X", "uso_principal": "M", "geometry": rect(5, 0, 20, 10)},
            {"codigo_pit": "W", "uso_principal": "M", "geometry": rect(-10, 0, 5, 10)},
        ]
    )
    # 50/50: the first feature of the layer wins, whatever the machine
    assert join_pit(lots, pugs, rules=RULES)["codigo_pit"].iloc[0] == "X"


def test_aiva_highest_registered_with_sliver_tolerance() -> None:
    lots = lots_of(rect(0, 0, 10, 10), rect(20, 0, 30, 10), rect(40, 0, 50, 10))
    aiva = layer(
        [
            {"codigo_aiva": "low", "valor_m2": 100.0, "geometry": rect(-5, -5, 60, 20)},
            # overlaps lot 0 by 0.05 × 10 = 0.5 m² < 1 m²: a digitising sliver, does not register
            {"codigo_aiva": "sliver", "valor_m2": 900.0, "geometry": rect(9.95, -5, 15, 20)},
            # touches lot 1 only along x = 30: does not register
            {"codigo_aiva": "edge", "valor_m2": 800.0, "geometry": rect(30, -5, 35, 20)},
            # overlaps lot 2 by 2 × 10 = 20 m²: registers and is the highest
            {"codigo_aiva": "high", "valor_m2": 600.0, "geometry": rect(48, -5, 55, 20)},
        ]
    )
    out = join_aiva(lots, aiva, rules=RULES)
    assert list(out["aiva_valor"]) == [100.0, 100.0, 600.0]
    assert texts(out["aiva_codigos"]) == ["low", "low", "high; low"]


def test_aiva_absent_everywhere_is_nan() -> None:
    lots = lots_of(rect(0, 0, 10, 10))
    aiva = layer([{"codigo_aiva": "far", "valor_m2": 100.0, "geometry": rect(100, 100, 110, 110)}])
    assert np.isnan(join_aiva(lots, aiva, rules=RULES)["aiva_valor"].iloc[0])


def test_membership_absent_layer_is_null_not_false() -> None:
    lots = lots_of(rect(0, 0, 10, 10), rect(20, 0, 30, 10))
    layers = {
        "zuae": layer([{"codigo_zuae": "Z1", "geometry": rect(-5, -5, 15, 15)}]),
        "riesgo": layer(
            [
                {"id": "RM", "categoria": "mitigable", "geometry": rect(-5, -5, 40, 15)},
                {"id": "RN", "categoria": "No Mitigable", "geometry": rect(25, -5, 40, 15)},
            ]
        ),
    }
    out = join_membership(lots, layers, rules=RULES)
    assert list(out["en_zuae"]) == [True, False]
    assert texts(out["zuae_codigo"]) == ["Z1", None]
    # non-mitigable wins where both apply; the category text is normalised
    assert list(out["riesgo_categoria"]) == ["mitigable", "no_mitigable"]
    assert list(out["riesgo_no_mitigable"]) == [False, True]
    assert texts(out["riesgo_ids"]) == [None, "RN"]
    # no planes_especiales layer: unknown, never "not in a plan"
    assert out["en_plan_especial"].isna().all()
    assert str(out["en_plan_especial"].dtype) == "boolean"


def test_influence_buffers_metro_and_cet_apart() -> None:
    # Metro radius 500 m, CET 300 m (rules); distances measured lot → station point
    lots = lots_of(rect(0, 0, 10, 10), rect(490, 0, 500, 10), rect(700, 0, 710, 10), rect(2000, 0, 2010, 10))
    est = layer(
        [
            {"nombre": "Metro A", "sistema": "metro", "geometry": point(-10, 5)},  # lot 0: 10 m; lot 1: 500 m
            {"nombre": "CET B", "sistema": "CET", "geometry": point(1000, 5)},  # lot 2: 290 m; lot 1: 500 m
        ]
    )
    out = join_influence(lots, estaciones=est, areas_influencia=None, rules=RULES)
    assert list(out["influencia"]) == ["metro", "metro", "cet", "ninguna"]
    assert list(out["influencia_fuente"]) == ["buffer"] * 4
    assert list(out["estacion_cercana"]) == ["Metro A", "Metro A", "CET B", "CET B"]
    assert out["distancia_estacion_m"].tolist() == pytest.approx([10.0, 500.0, 290.0, 1000.0])


def test_influence_both_areas_is_metro_and_official_layer_wins() -> None:
    lots = lots_of(rect(0, 0, 10, 10), rect(100, 0, 110, 10))
    areas = layer(
        [
            {"sistema": "metro", "nombre": "A1", "geometry": rect(-5, -5, 15, 15)},
            {"sistema": "cet", "nombre": "A2", "geometry": rect(-5, -5, 200, 15)},
        ]
    )
    est = layer([{"nombre": "far", "sistema": "metro", "geometry": point(5000, 0)}])
    out = join_influence(lots, estaciones=est, areas_influencia=areas, rules=RULES)
    assert list(out["influencia"]) == ["metro", "cet"]
    assert list(out["en_influencia_cet"]) == [True, True]
    assert list(out["influencia_fuente"]) == ["capa", "capa"]


def test_influence_without_layers_is_null() -> None:
    out = join_influence(lots_of(rect(0, 0, 1, 1)), estaciones=None, areas_influencia=None, rules=RULES)
    assert out["en_influencia_metro"].isna().all() and out["influencia"].isna().all()


def test_lot_without_geometry_is_kept_and_matches_nothing() -> None:
    lots = lots_of(rect(0, 0, 10, 10), None)
    pugs = layer([{"codigo_pit": "A", "uso_principal": "M", "geometry": rect(-100, -100, 100, 100)}])
    out = join_pit(lots, pugs, rules=RULES)
    assert list(out.index) == [0, 1]
    assert texts(out["codigo_pit"]) == ["A", None]


def test_concat_by_lot_keeps_pair_order() -> None:
    out = concat_by_lot(np.array([0, 2, 2, 2]), np.array(["a", "c", "b", "d"], dtype=object), 4)
    assert list(out) == ["a", None, "c; b; d", None]


def test_results_align_to_a_chunk_index() -> None:
    lots = lots_of(rect(0, 0, 10, 10), rect(20, 0, 30, 10))
    lots.index = pd.Index([17, 4])
    aiva = layer([{"codigo_aiva": "A", "valor_m2": 10.0, "geometry": rect(15, -5, 40, 15)}])
    out = join_aiva(lots, aiva, rules=RULES)
    assert list(out.index) == [17, 4]
    assert np.isnan(out.loc[17, "aiva_valor"]) and out.loc[4, "aiva_valor"] == 10.0


# --------------------------------------------------------------------------------------------------------
# the fast paths give what the direct computations give, pair by pair


def _field_of_lots(n_side: int = 36, size: float = 20.0) -> list:
    """A block of lots: rectangles, rotated quadrilaterals and L-shaped (non-convex) lots."""
    rng = np.random.default_rng(7)
    geoms = []
    for i in range(n_side):
        for j in range(n_side):
            x, y = i * size, j * size
            kind = (i * n_side + j) % 3
            if kind == 0:
                geoms.append(rect(x, y, x + size, y + size * 0.9))
            elif kind == 1:
                d = rng.uniform(-3, 3, size=4)
                x1, y1 = x + size, y + size
                geoms.append(poly((x + d[0], y), (x1, y + d[1]), (x1 - d[2], y1), (x, y1 - d[3])))
            else:
                x1, y1 = x + size, y + size
                geoms.append(poly((x, y), (x1, y), (x1, y + 8), (x + 8, y + 8), (x + 8, y1), (x, y1)))
    return geoms


def _zones() -> np.ndarray:
    """Overlapping, irregular zones, a holed one and a thin sliver, across the block of lots."""
    outer = poly((-30, -30), (400, -10), (420, 300), (150, 420), (-20, 380))
    holed = outer.difference(poly((100, 100), (250, 110), (240, 230), (90, 220)))
    return np.array(
        [
            holed,
            poly((300, 300), (760, 280), (740, 760), (310, 730)),  # overlaps the first
            poly((200, -50), (740, -40), (760, 320), (210, 310)),
            poly((0, 355.02), (720, 355.02), (720, 355.07), (0, 355.07)),  # 0.05 m wide: slivers only
        ],
        dtype=object,
    )


def _exact(lots, zones):
    """(lot, zone) → overlap area the direct way: covered lots their own area, else the intersection."""
    geoms = np.asarray(lots.geometry.array, dtype=object)
    zi, li = shapely.STRtree(geoms).query(zones, predicate="intersects")
    covered = shapely.covers(zones[zi], geoms[li])
    inter = shapely.area(shapely.intersection(geoms[li], zones[zi]))
    area = np.where(covered, shapely.area(geoms[li]), inter)
    return {(int(a), int(b)): float(c) for a, b, c in zip(li, zi, area, strict=True)}


@pytest.mark.parametrize("quadtree", [True, False])
def test_overlaps_equal_direct_computation_on_a_block(
    quadtree: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    import quitogeo.spatial as spatial
    from quitogeo.spatial import largest_overlap, overlaps

    # both ways of pairing lots with zones: through the lots' quadtree (large zones) or their STRtree
    monkeypatch.setattr(spatial, "QUADTREE_MIN_LOTS_PER_ZONE", 0 if quadtree else 10**9)

    lots = lots_of(*_field_of_lots())
    zones = _zones()
    ref = _exact(lots, zones)
    idx = LotIndex.from_lots(lots)
    # every pair with positive overlap, with the very same area (exact or covered)
    lot, zone, area = overlap_pairs(idx, zones)
    got = {(int(a), int(b)): float(c) for a, b, c in zip(lot, zone, area, strict=True)}
    assert got == {k: v for k, v in ref.items() if v > 0}
    assert len(got) > 1000 and any(0 < v < 1 for v in got.values())  # slivers are part of the test
    # thresholds decided by bounds are those of the exact areas
    for threshold in (0.0, 1.0, 50.0):
        ov = overlaps(idx, zones)
        keep = ov.above(threshold)
        assert {(int(a), int(b)) for a, b in zip(ov.lot[keep], ov.zone[keep], strict=True)} == {
            k for k, v in ref.items() if v > threshold
        }
    # the largest overlap per lot, ties to the first zone
    ov, winners, pairs = largest_overlap(idx, zones)
    best: dict[int, tuple[float, int]] = {}
    for (a, b), v in sorted(ref.items()):
        if v > 0 and (a not in best or v > best[a][0]):
            best[a] = (v, b)
    chosen = {int(w): int(ov.zone[p]) for w, p in zip(winners, pairs, strict=True)}
    assert chosen == {a: b for a, (_, b) in best.items()}
    assert all(ov.area[p] == best[int(w)][0] for w, p in zip(winners, pairs, strict=True))
    # the winner alone (administración zonal): the same zones, with fewer exact intersections
    ov2, winners2, pairs2 = largest_overlap(idx, zones, exact_winner=False)
    assert {int(w): int(ov2.zone[p]) for w, p in zip(winners2, pairs2, strict=True)} == chosen


def test_nearest_station_equals_query_nearest_with_ties() -> None:
    from quitogeo.spatial.influence import nearest_station

    lots = lots_of(*_field_of_lots(12))
    pts = np.array(
        [
            point(5, 5),  # inside lot 0 …
            point(6, 6),  # … with another station: both at 0 m, query_nearest picks
            point(130, 90),
            point(300, -40),
            point(-200, 500),
        ],
        dtype=object,
    )
    idx = LotIndex.from_lots(lots)
    (l0, s0), d0 = shapely.STRtree(pts).query_nearest(idx.geoms, return_distance=True, all_matches=False)
    l1, s1, d1 = nearest_station(idx, pts)
    assert l1.tolist() == l0.tolist() and s1.tolist() == s0.tolist() and d1.tolist() == d0.tolist()


def test_lots_in_boxes_never_underestimates() -> None:
    import quitogeo.spatial as spatial

    # the estimate only chooses a strategy, but it must err high: a lot whose box meets a zone's box lies in
    # a counted cell (the cells' envelopes are those of their lots' boxes)
    idx = LotIndex.from_lots(lots_of(*_field_of_lots()))
    zones = np.append(_zones(), [rect(-5, -5, 5, 5), rect(1000, 1000, 1010, 1010)])
    for z in (zones, zones[:1], zones[-2:]):
        true = idx.tree.query(z).shape[1]
        assert spatial._lots_in_boxes(idx, z) >= true
    assert spatial._lots_in_boxes(idx, zones[-1:]) == 0  # far from every lot


@pytest.mark.parametrize("duplicate", [False, True])
def test_nearest_station_by_voronoi_cells_equals_query_nearest(duplicate: bool) -> None:
    import quitogeo.spatial.influence as influence

    # 1296 lots of 20 m; stations inside, beside and far from the block. Stations (100, 360) and (100, 400)
    # have their bisector on y = 380, where a row of lots begins (their nearest points are ties), and
    # (360, 100) sits at a corner of four lots (0 m to each)
    lots = lots_of(*_field_of_lots())
    xy = [(100, 360), (100, 400), (360, 100), (700, 700), (-400, 300), (2000, -900), (355, 500)]
    if duplicate:
        xy.append((700, 700))  # two stations at one spot: every nearest to it is a tie
    pts = np.array([point(x, y) for x, y in xy], dtype=object)
    idx = LotIndex.from_lots(lots)
    (l0, s0), d0 = shapely.STRtree(pts).query_nearest(idx.geoms, return_distance=True, all_matches=False)
    l1, s1, d1 = influence.nearest_station(idx, pts)
    assert l1.tolist() == l0.tolist() and s1.tolist() == s0.tolist() and d1.tolist() == d0.tolist()
    settled, _ = influence._voronoi_settled(idx, pts, np.ones(len(pts), dtype=bool))
    if duplicate:
        assert not settled.any()  # the general way for every lot
    else:
        # most lots lie inside one cell; the lots touching the bisector y = 380 do not
        assert 0.8 * len(idx) < settled.sum() < len(idx)
        x0, y0 = shapely.get_coordinates(point(0, 0))[0]  # the helpers shift local metres into TM-Quito
        b = shapely.bounds(idx.geoms)
        row = np.flatnonzero(np.isclose(b[:, 1] - y0, 380) & (b[:, 0] - x0 < 200))
        assert len(row) and not settled[row].any()


def test_prepared_pairs_in_threads_equal_one_call(monkeypatch: pytest.MonkeyPatch) -> None:
    from quitogeo import parallel

    monkeypatch.setenv(parallel.ENV_THREADS, "3")
    zones = _zones()
    geoms = np.asarray(lots_of(*_field_of_lots(20)).geometry.array, dtype=object)
    pos = np.arange(len(geoms)) % len(zones)
    copies = parallel.prepared_copies(zones)
    assert len(copies) == 3
    got = parallel.prepared_pairs(shapely.covers, copies, pos, geoms, min_chunk=10)
    assert got.tolist() == shapely.covers(zones[pos], geoms).tolist()
