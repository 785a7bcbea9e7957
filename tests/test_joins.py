"""Lot → PIT, AIVA, zones and influence joins on tiny hand-built layers (local metres, quitogeo.testing)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from quitogeo.rules import load_rules
from quitogeo.spatial import LotIndex, concat_by_lot, overlap_pairs
from quitogeo.spatial.influence import join_influence
from quitogeo.spatial.joins import join_aiva, join_membership, join_pit
from quitogeo.testing import layer, point, rect

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
