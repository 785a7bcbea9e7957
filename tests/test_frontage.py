"""Fronting roads, widths and continuity (normativa §3) on hand-built street networks."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import shapely

from quitogeo.rules import load_rules
from quitogeo.spatial import frontage
from quitogeo.spatial.frontage import dead_end_pieces, join_frontage, road_network
from quitogeo.testing import ORIGIN, layer, line, poly, rect

RULES = load_rules()


def texts(series):
    """Text column as a list with None for nulls (pandas may store them as NaN)."""
    return [None if pd.isna(v) else v for v in series]  # frente_tolerancia_m = 2, frente_min_m = 3


def ring(**extra):
    """A closed block ring 0…200 × 0…100 of 14 m streets plus ``extra`` roads."""
    rows = [
        {"id_via": "S", "nombre": "Sur", "ancho_m": 14.0, "geometry": line((0, 0), (200, 0))},
        {"id_via": "N", "nombre": "Norte", "ancho_m": 14.0, "geometry": line((0, 100), (200, 100))},
        {"id_via": "W", "nombre": "Oeste", "ancho_m": 14.0, "geometry": line((0, 0), (0, 100))},
        {"id_via": "E", "nombre": "Este", "ancho_m": 14.0, "geometry": line((200, 0), (200, 100))},
    ]
    rows += list(extra.values())
    return layer(rows)


def lots_of(*geoms):
    return layer([{"clave_catastral": f"P{i}", "geometry": g} for i, g in enumerate(geoms)])


def test_dead_end_pruning_keeps_cycles_and_removes_branches() -> None:
    vias = ring(
        pasaje={
            "id_via": "P",
            "nombre": "Pasaje",
            "ancho_m": 8.0,
            "geometry": line((100, 0), (100, 40), (120, 60)),
        },
        cruce={"id_via": "C", "nombre": "Cruce", "ancho_m": 10.0, "geometry": line((50, 0), (50, 100))},
    )
    pieces, road, dead = dead_end_pieces(np.asarray(vias.geometry.array), precision=0.01)
    dead_roads = set(road[dead].tolist())
    # only the pasaje (row 4) is a dead-end branch; Cruce (row 5) joins two sides of the ring
    assert dead_roads == {4}
    assert len(pieces) > len(vias)  # Sur is split at the pasaje and at Cruce


def test_isolated_road_is_sin_continuidad() -> None:
    vias = ring(lone={"id_via": "L", "ancho_m": 12.0, "geometry": line((500, 0), (600, 0))})
    red = road_network(vias, rules=RULES)
    assert red.sin_continuidad.tolist() == [False, False, False, False, True]


def test_override_column_wins_over_topology() -> None:
    vias = ring(pasaje={"id_via": "P", "ancho_m": 12.0, "geometry": line((100, 0), (100, 40))})
    vias["sin_continuidad"] = [None, True, None, None, False]
    red = road_network(vias, rules=RULES)
    # Norte forced sin continuidad; the topological dead end forced "con continuidad"
    assert red.sin_continuidad.tolist() == [False, True, False, False, False]


def test_frontage_band_minimum_length_and_corner_touch() -> None:
    vias = ring()
    # half-width 7 + tolerance 2 = 9 m band around each centreline
    lots = lots_of(
        rect(20, 7, 40, 30),  # front on Sur at y = 7: 20 m + 2 × 2 m of sides inside the band
        rect(20, 10, 40, 30),  # front at y = 10, 1 m beyond the band: does not front
        rect(7, 7, 30, 30),  # corner of Sur and Oeste: fronts both
        rect(60, 40, 80, 60),  # interior: fronts nothing
        # a diamond whose east vertex (192, 20) pokes 1 m into Este's band (x ≥ 191): 2 × 1.41 m < 3 m
        poly((185, 13), (192, 20), (185, 27), (178, 20)),
    )
    out = join_frontage(lots, road_network(vias, rules=RULES), rules=RULES)
    assert out["n_vias_frente"].tolist() == [1, 0, 2, 0, 0]
    assert texts(out["vias_frente_ids"]) == ["S", None, "S; W", None, None]
    assert out["min_ancho_frente_m"].iloc[0] == 14.0 and np.isnan(out["min_ancho_frente_m"].iloc[3])


def test_narrowest_road_named_and_widths_listed() -> None:
    vias = ring(
        cruce={
            "id_via": "C",
            "nombre": "Calle Angosta",
            "ancho_m": 9.0,
            "geometry": line((100, 0), (100, 100)),
        }
    )
    lots = lots_of(rect(104.5, 7, 130, 40))  # on Sur (14 m) and on Calle Angosta (9 m, band 4.5 + 2)
    out = join_frontage(lots, road_network(vias, rules=RULES), rules=RULES)
    assert out["vias_frente_nombres"].iloc[0] == "Calle Angosta; Sur"
    assert out["vias_frente_anchos"].iloc[0] == "9; 14"
    assert out["via_mas_angosta"].iloc[0] == "Calle Angosta"
    assert out["min_ancho_frente_m"].iloc[0] == 9.0


def test_lot_across_a_t_junction_does_not_front_the_side_road() -> None:
    # the pasaje (12 m) ends on Sur's centreline at (100, 0); a lot south of Sur faces its mouth
    vias = ring(
        pasaje={"id_via": "P", "nombre": "Pasaje", "ancho_m": 12.0, "geometry": line((100, 0), (100, 40))}
    )
    lots = lots_of(rect(90, -30, 110, -7), rect(106, 10, 130, 30))
    out = join_frontage(lots, road_network(vias, rules=RULES), rules=RULES)
    assert texts(out["vias_frente_ids"]) == ["S", "P"]
    assert out["frente_sin_continuidad"].tolist() == [False, True]
    assert texts(out["vias_sin_continuidad"]) == [None, "Pasaje"]


def test_unknown_width_is_flagged() -> None:
    vias = ring()
    vias.loc[0, "ancho_m"] = None
    out = join_frontage(lots_of(rect(20, 1, 40, 30)), road_network(vias, rules=RULES), rules=RULES)
    assert out["n_vias_frente"].iloc[0] == 1
    assert bool(out["ancho_desconocido"].iloc[0]) and np.isnan(out["min_ancho_frente_m"].iloc[0])


@pytest.mark.parametrize("precision", [0.01, 0.5])
def test_endpoints_snapped_together_connect(precision: float) -> None:
    # the pasaje's far end stops 4 mm short of Norte: with the 1 cm grid both meet, so no dead end
    vias = ring(p={"id_via": "P", "ancho_m": 12.0, "geometry": line((100, 0), (100, 99.996))})
    rules_dict = dict(RULES.data)
    rules_dict["tolerancias"] = {**RULES["tolerancias"], "red_vial_precision_m": precision}
    from quitogeo.rules import Rules

    red = road_network(vias, rules=Rules(data=rules_dict, source="test", sha256=""))
    assert not red.sin_continuidad[4]


# ------------------------------------------------------------------ numpy clipping against GEOS (issue 8)


def _random_lots_and_bands(seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Winding bands (some closed, with a hole) and lots of every awkward kind near them, in TM-Quito."""
    rng = np.random.default_rng(seed)
    x0, y0 = ORIGIN
    lines = [
        shapely.linestrings(np.cumsum(rng.normal(0, 12, (int(rng.integers(2, 7)), 2)), 0) + ORIGIN)
        for _ in range(40)
    ]
    lines += [shapely.Point(x0 + rng.normal(0, 20), y0 + rng.normal(0, 20)).buffer(15, quad_segs=2).exterior]
    bands = shapely.buffer(np.array(lines, dtype=object), rng.uniform(2, 9, len(lines)), cap_style="flat")
    lots: list = []
    for _ in range(400):
        c = np.array(ORIGIN) + rng.normal(0, 25, 2)
        kind = int(rng.integers(0, 5))
        if kind == 0:
            lots.append(shapely.box(*(c - rng.uniform(2, 12, 2)), *(c + rng.uniform(2, 12, 2))))
        elif kind == 1:  # a hole
            lots.append(
                shapely.Point(c).buffer(9, quad_segs=2).difference(shapely.Point(c).buffer(2, quad_segs=1))
            )
        elif kind == 2:  # two parts
            lots.append(
                shapely.MultiPolygon([shapely.box(*(c - 5), *(c + 5)), shapely.box(*(c + 6), *(c + 12))])
            )
        elif kind == 3:  # a piece of a band: edges along the band's edges, vertices on them
            piece = shapely.intersection(
                bands[int(rng.integers(0, len(bands)))], shapely.box(*(c - 15), *(c + 15))
            )
            lots += [p for p in shapely.get_parts(piece) if p.geom_type == "Polygon" and p.area > 1][:1]
        else:  # a band moved by a hair (along its own edges: ambiguous) or by 1 mm (not)
            shift = float(rng.choice([0.0, 1e-8, 1e-3]))
            lots.append(
                shapely.transform(bands[int(rng.integers(0, len(bands)))], lambda xy, d=shift: xy + d)
            )
    arr = np.array(lots, dtype=object)
    return arr[shapely.is_valid(arr)], bands


@pytest.mark.parametrize("seed", [1, 2])
def test_numpy_lengths_match_geos(seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    lots, bands = _random_lots_and_bands(seed)
    monkeypatch.setattr(frontage, "MAX_COMBOS_PER_PAIR", 10**6)  # every pair through numpy
    monkeypatch.setattr(frontage, "COMBOS_PER_BLOCK", 5_000)  # many blocks, several threads
    band_pos, lot_pos = shapely.STRtree(lots).query(bands, predicate="intersects")
    exact = shapely.length(shapely.intersection(shapely.boundary(lots[lot_pos]), bands[band_pos]))
    length, ambiguous = frontage.inside_lengths(lots, bands, lot_pos, band_pos)
    clear = ambiguous == 0
    assert len(lot_pos) > 1000 and clear.mean() > 0.5 and (~clear).sum() > 10
    # TM-Quito coordinates are ~1e7: a few ulps of them
    np.testing.assert_allclose(length[clear], exact[clear], rtol=0, atol=1e-7)
    # along a band's edge GEOS counts the lot's edge inside: its length lies in [length, length + ambiguous]
    assert np.all(exact[~clear] >= length[~clear] - 1e-7)
    assert np.all(exact[~clear] <= length[~clear] + ambiguous[~clear] + 1e-7)


def test_large_pairs_are_left_to_geos(monkeypatch: pytest.MonkeyPatch) -> None:
    lots, bands = _random_lots_and_bands(3)
    monkeypatch.setattr(frontage, "MAX_COMBOS_PER_PAIR", 60)
    band_pos, lot_pos = shapely.STRtree(lots).query(bands, predicate="intersects")
    length, _ = frontage.inside_lengths(lots, bands, lot_pos, band_pos)
    combos = shapely.get_num_coordinates(lots[lot_pos]) * frontage.ring_segments(bands).count[band_pos]
    assert np.array_equal(np.isnan(length), combos > 60) and np.isnan(length).any()


def test_ring_orientation_of_shells_and_holes() -> None:
    # a clockwise shell with a counter-clockwise hole: the interior is on the right of every edge
    shell = [(0, 0), (0, 10), (10, 10), (10, 0), (0, 0)]
    hole = [(4, 4), (6, 4), (6, 6), (4, 6), (4, 4)]
    edges = frontage.ring_segments(np.array([None, shapely.Polygon(shell, [hole])]), oriented=True)
    assert edges.count.tolist() == [0, 8] and edges.side.tolist() == [-1.0] * 8


def test_ties_band_edges_and_invalid_lots_decided_by_geos(monkeypatch: pytest.MonkeyPatch) -> None:
    # the lone road's band: 6 + 2 = 8 m, so |y| ≤ 8 for 500 ≤ x ≤ 600 (flat end at x = 500)
    vias = ring(lone={"id_via": "L", "ancho_m": 12.0, "geometry": line((500, 0), (600, 0))})
    lots = lots_of(
        rect(497, -20, 501.5, -6.5),  # 1.5 m of top + 1.5 m of east side inside: 3 m = frente_min_m, fronts
        rect(497, -20, 501.4, -6.6),  # 1.4 + 1.4 = 2.8 m: does not front
        rect(520, 8, 523, 30),  # its 3 m south edge lies on the band's edge: inside for GEOS, fronts
        rect(530, 8, 532.5, 30),  # 2.5 m along the band's edge: does not front
        # a spike back along its own top edge (invalid): inside, GEOS counts 1 m of top (x 500…501, once) +
        # 1 m of east side = 2 m, does not front; summing edges would count the spike twice (3.6 m)
        poly((497, -7), (501, -7), (500.2, -7), (501, -7), (501, -20), (497, -20)),
    )
    calls: list[int] = []
    geos = frontage._inside_length_geos

    def spy(lot_geoms, bands):
        calls.append(len(lot_geoms))
        return geos(lot_geoms, bands)

    monkeypatch.setattr(frontage, "_inside_length_geos", spy)
    out = join_frontage(lots, road_network(vias, rules=RULES), rules=RULES)
    assert texts(out["vias_frente_ids"]) == ["L", None, "L", None, None]
    # the tie, the 3 m along the band's edge and the invalid lot went to GEOS; 2.5 m along the edge cannot
    # reach 3 m even counted inside, so numpy settles it (the second call: the lone road's dead-end pieces)
    assert calls and calls[0] == 3


def test_piece_roads_match_the_nearest_road() -> None:
    # two identical overlapping roads (several roads within the precision of a piece) and a crossing
    vias = ring(
        a={"id_via": "A", "ancho_m": 8.0, "geometry": line((0, 50), (200, 50))},
        b={"id_via": "B", "ancho_m": 8.0, "geometry": line((0, 50), (200, 50))},
        c={"id_via": "C", "ancho_m": 8.0, "geometry": line((100, 0), (100, 100))},
    )
    lines = np.asarray(vias.geometry.array)
    pieces, road, dead = dead_end_pieces(lines, precision=0.01)
    mid = shapely.line_interpolate_point(pieces, 0.5, normalized=True)
    _, nearest = shapely.STRtree(lines).query_nearest(mid, all_matches=False)
    assert np.array_equal(road, nearest)
    assert not dead.any()  # A/B and C cross the ring from side to side


def test_layer_marking_every_road_skips_the_topology_with_the_same_result() -> None:
    # the pasaje is the only dead end: marking every road as the topology finds it changes nothing
    pasaje = {"id_via": "P", "nombre": "Pasaje", "ancho_m": 12.0, "geometry": line((100, 0), (100, 40))}
    by_topology = ring(pasaje=pasaje)
    marked = ring(pasaje=pasaje)
    marked["sin_continuidad"] = [False, False, False, False, True]
    lots = lots_of(rect(106, 10, 130, 30), rect(20, 7, 40, 30), rect(90, -30, 110, -7))
    red_marked = road_network(marked, rules=RULES)
    assert len(red_marked.dead_buffers) == 0  # not computed
    a = join_frontage(lots, road_network(by_topology, rules=RULES), rules=RULES)
    b = join_frontage(lots, red_marked, rules=RULES)
    pd.testing.assert_frame_equal(a, b)
    assert b["frente_sin_continuidad"].tolist() == [True, False, False]
