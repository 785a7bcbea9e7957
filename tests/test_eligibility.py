"""Eligibility conditions, Kleene logic for missing data, eco-eficiencia tiers and density points."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from quitogeo.eligibility import CONDITIONS, density_points, eco_extra_floors, evaluate, use_categories
from quitogeo.pipeline import compact_text
from quitogeo.rules import load_rules

RULES = load_rules()
SCENARIO = RULES.scenario("ecoeficiencia_90")


def frame(**over):
    """One eligible lot (M, 1 000 m², on a 14 m road, Metro, ZUAE); keyword arguments override columns."""
    base = {
        "codigo_pit": "P",
        "uso_principal": "M",
        "uso_categoria": "M",
        "clasificacion": "urbano",
        "lote_minimo": 400.0,
        "pisos_basicos": 4.0,
        "area_m2": 1000.0,
        "en_zuae": True,
        "n_vias_frente": 1,
        "min_ancho_frente_m": 14.0,
        "via_mas_angosta": "Av. X",
        "ancho_desconocido": False,
        "frente_sin_continuidad": False,
        "vias_sin_continuidad": None,
        "en_plan_especial": False,
        "plan_especial": None,
        "riesgo_no_mitigable": False,
        "riesgo_ids": None,
        "en_influencia_metro": True,
        "en_influencia_cet": False,
    }
    base.update(over)
    df = pd.DataFrame({k: [v] for k, v in base.items()})
    for col in (
        "en_zuae",
        "frente_sin_continuidad",
        "en_plan_especial",
        "riesgo_no_mitigable",
        "en_influencia_metro",
        "en_influencia_cet",
    ):
        df[col] = df[col].astype("boolean")
    df["n_vias_frente"] = df["n_vias_frente"].astype("Int64")
    return df


def one(**over):
    return evaluate(frame(**over), rules=RULES, escenario=SCENARIO).iloc[0]


def test_fully_eligible_lot() -> None:
    r = one()
    assert r["elegible_zuae"] and r["elegible_cos_pb"] and r["elegible_ecoeficiencia"]
    assert r["motivos"] == ""
    assert r["pisos_adicionales_max"] == 4  # score 90, Metro: 100 % of 4 floors
    assert r["pisos_adicionales_zuae"] == 2


def test_every_condition_is_a_nullable_boolean_column() -> None:
    out = evaluate(frame(), rules=RULES, escenario=SCENARIO)
    for names in CONDITIONS.values():
        for name in names:
            assert str(out[name].dtype) == "boolean", name


@pytest.mark.parametrize(
    ("over", "section", "text"),
    [
        ({"area_m2": 350.4}, "motivos_zuae", "área 350 m² < 400 m²"),
        ({"area_m2": 399.6}, "motivos_eco", "área 399 m² < 400 m²"),
        (
            {"min_ancho_frente_m": 10.0, "via_mas_angosta": "Calle Y"},
            "motivos_cos_pb",
            "frente a vía de 10 m < 12 m (Calle Y)",
        ),
        ({"n_vias_frente": 0, "min_ancho_frente_m": np.nan}, "motivos_zuae", "sin frente a vía"),
        (
            {"frente_sin_continuidad": True, "vias_sin_continuidad": "Pasaje Z"},
            "motivos_eco",
            "vía sin continuidad (Pasaje Z)",
        ),
        (
            {"riesgo_no_mitigable": True, "riesgo_ids": "R-3"},
            "motivos_eco",
            "en zona de riesgo no mitigable (R-3)",
        ),
        ({"en_plan_especial": True, "plan_especial": "Plan Z"}, "motivos_zuae", "en plan especial (Plan Z)"),
        ({"uso_principal": "R1", "uso_categoria": "R1"}, "motivos_cos_pb", "uso R1 excluido (Art. 13 i)"),
        ({"en_influencia_metro": False}, "motivos_eco", "fuera del área de influencia del SITM"),
        ({"en_zuae": False}, "motivos_zuae", "fuera de ZUAE"),
        ({"clasificacion": "rural"}, "motivos_cos_pb", "suelo rural (no urbano)"),
        ({"lote_minimo": 1200.0}, "motivos_cos_pb", "área 1000 m² < lote mínimo 1200 m²"),
    ],
)
def test_failed_condition_says_why(over, section, text) -> None:
    r = one(**over)
    assert r[section] == text
    assert text in r["motivos"]


def test_interior_lot_fails_road_rules_once() -> None:
    r = one(n_vias_frente=0, min_ancho_frente_m=np.nan)
    assert not r["zuae_frente"] and not r["zuae_ancho_via"] and r["zuae_continuidad"]
    assert r["motivos_zuae"] == "sin frente a vía"


def test_missing_layer_gives_null_never_eligible() -> None:
    r = one(en_zuae=pd.NA)
    assert pd.isna(r["zuae_en_zuae"]) and pd.isna(r["elegible_zuae"])
    assert r["motivos_zuae"] == "sin dato: capa zuae ausente"
    # …but a failing condition still decides: False & NA = False
    r = one(en_zuae=pd.NA, area_m2=100.0)
    assert r["elegible_zuae"] is False or r["elegible_zuae"] == False  # noqa: E712
    r = one(n_vias_frente=pd.NA, min_ancho_frente_m=np.nan, frente_sin_continuidad=pd.NA)
    assert pd.isna(r["elegible_cos_pb"]) and "sin dato: capa vias ausente" in r["motivos_cos_pb"]


def test_unknown_use_is_null_with_reason() -> None:
    r = one(uso_principal="XYZ", uso_categoria=None)
    assert pd.isna(r["cos_pb_uso"]) and pd.isna(r["eco_uso"])
    assert "sin dato: uso 'XYZ' desconocido" in r["motivos_cos_pb"]


def test_motivos_combined_has_section_prefixes() -> None:
    r = one(area_m2=300.0)
    assert r["motivos"] == (
        "ZUAE: área 300 m² < 400 m²; COS PB: área 300 m² < lote mínimo 400 m²; Eco: área 300 m² < 400 m²"
    )


def test_eco_tiers_metro_cet_and_rounding() -> None:
    metro = np.array([True, False, False, True])
    cet = np.array([False, True, False, True])
    base = np.array([6.0, 6.0, 6.0, 3.0])
    # 65 → 25 %: Metro 1.5 → 1, CET 1.5 → 1, none 0, both (Metro column) 0.75 → 0
    assert eco_extra_floors(65, metro, cet, base, rules=RULES).tolist() == [1, 1, 0, 0]
    # 85 → Metro 75 % (4.5 → 4); CET N/A → CET max 50 % (3); both → Metro 75 % of 3 = 2.25 → 2
    assert eco_extra_floors(85, metro, cet, base, rules=RULES).tolist() == [4, 3, 0, 2]
    # 95 → Metro 100 %; CET still 50 %
    assert eco_extra_floors(95, metro, cet, base, rules=RULES).tolist() == [6, 3, 0, 3]
    # below 60: nothing
    assert eco_extra_floors(59.9, metro, cet, base, rules=RULES).tolist() == [0, 0, 0, 0]


def test_density_points_bands() -> None:
    # Cuadro 2: 30–40 → 3; 20–29 → 5; < 20 → 7; above 40 → 0
    got = density_points([40.0, 30.0, 29.9, 20.0, 19.9, 45.0, np.nan], rules=RULES)
    assert got.tolist() == [3, 3, 5, 5, 7, 0, 0]


def test_use_categories_homologates_pugs_codes() -> None:
    got = use_categories(pd.Series(["RU1", " ru2 ", "Tipología 4", "XYZ", None]), rules=RULES)
    assert got.tolist() == ["R1", "R2", "R3", None, None]


def test_texts_built_per_distinct_combination_match_lot_by_lot() -> None:
    # motivos are assembled once per distinct combination of messages and taken for every lot: a batch of
    # varied lots (repeats included) must read exactly as each lot evaluated alone
    variants = [
        {"area_m2": 300.0},
        {"area_m2": 300.7},  # same floor (300) → same text as the row above
        {"min_ancho_frente_m": 10.0, "via_mas_angosta": "Calle Y"},
        {"min_ancho_frente_m": 10.0, "via_mas_angosta": "Calle Z"},
        {"uso_principal": "XYZ", "uso_categoria": None, "codigo_pit": None},
        {"en_zuae": pd.NA, "n_vias_frente": pd.NA, "min_ancho_frente_m": np.nan},
        {},
        {"area_m2": 300.0},
    ]
    batch = pd.concat([frame(**v) for v in variants], ignore_index=True)
    for col in ("en_zuae", "frente_sin_continuidad", "en_plan_especial", "en_influencia_metro"):
        batch[col] = batch[col].astype("boolean")
    batch["n_vias_frente"] = batch["n_vias_frente"].astype("Int64")
    got = evaluate(batch, rules=RULES, escenario=SCENARIO)
    for i, v in enumerate(variants):
        alone = one(**v)
        for col in ("motivos_zuae", "motivos_cos_pb", "motivos_eco", "motivos"):
            assert got[col].iloc[i] == alone[col], (i, col)
    # equal texts are one shared object (a categorical: one string per distinct text, a code per lot)
    assert got["motivos"].iloc[0] is got["motivos"].iloc[7]
    for col in ("motivos_zuae", "motivos_cos_pb", "motivos_eco", "motivos"):
        assert isinstance(got[col].dtype, pd.CategoricalDtype), col
        # exactly what compact_text makes of the plain texts: sorted categories, only those present
        plain = pd.DataFrame({col: got[col].astype(object)})
        pd.testing.assert_series_equal(compact_text(plain)[col], got[col])
