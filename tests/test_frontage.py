"""Fronting roads, widths and continuity (normativa §3) on hand-built street networks."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from quitogeo.rules import load_rules
from quitogeo.spatial.frontage import dead_end_pieces, join_frontage, road_network
from quitogeo.testing import layer, line, poly, rect

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
