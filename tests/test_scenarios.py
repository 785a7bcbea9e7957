"""Ae of each scenario and the reason a lot has none (``ae_problema``, stored as compact_text stores it)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from quitogeo.pipeline import compact_text
from quitogeo.rules import load_rules
from quitogeo.scenarios import area_excedente

RULES = load_rules()


def test_pugs_maxima_ae_and_reasons() -> None:
    frame = pd.DataFrame(
        {
            "area_m2": [500.0, 500.0, 500.0, np.nan, 500.0],
            "cos_pb": [50.0, 50.0, 50.0, 50.0, np.nan],
            "cos_total_basico": [200.0, np.nan, 300.0, 200.0, np.nan],
            "cos_total_maximo": [320.0, np.nan, 250.0, 320.0, np.nan],
            "pisos_basicos": [4.0, 4.0, 4.0, 4.0, 4.0],
            "pisos_maximos": [6.0, 7.0, 6.0, 6.0, 6.0],
        }
    )
    got = area_excedente(frame, rules=RULES, escenario=RULES.scenario("pugs_maxima"))
    # (320 − 200)/100 × 500 = 600; by floors (7 − 4) × 50/100 × 500 = 750; (250 − 300)/100 × 500 < 0;
    # no area; no COS totals nor COS PB
    assert got["ae_m2"].tolist()[:2] == [600.0, 750.0]
    assert got["ae_m2"].iloc[2:].isna().all()
    reasons = got["ae_problema"]
    assert isinstance(reasons.dtype, pd.CategoricalDtype)
    assert reasons.isna().tolist()[:2] == [True, True]
    assert reasons.iloc[2] == "edificabilidad máxima menor que la básica en el PIT"
    assert reasons.iloc[3] == "sin área del predio"  # the last reason marked wins
    assert reasons.iloc[4].startswith("sin edificabilidad máxima/básica en el PIT")
    plain = pd.DataFrame({"ae_problema": reasons.astype(object).where(reasons.notna(), None)})
    pd.testing.assert_series_equal(compact_text(plain)["ae_problema"], reasons)


def test_eligibility_scenario_without_problems_has_no_reason_column_values() -> None:
    frame = pd.DataFrame(
        {
            "area_m2": [500.0, 500.0],
            "cos_pb": [50.0, 50.0],
            "elegible_ecoeficiencia": pd.array([True, False], dtype="boolean"),
            "pisos_adicionales_max": pd.array([2, 0], dtype="Int64"),
        }
    )
    got = area_excedente(frame, rules=RULES, escenario=RULES.scenario("ecoeficiencia_90"))
    assert got["ae_m2"].tolist() == [500.0, 0.0]  # 2 floors × 50/100 × 500 m²; not eligible: 0
    assert got["ae_problema"].dtype == object and got["ae_problema"].isna().all()


def test_unknown_eligibility_is_a_reason() -> None:
    frame = pd.DataFrame(
        {
            "area_m2": [500.0, 500.0],
            "cos_pb": [np.nan, 50.0],
            "elegible_zuae": pd.array([True, pd.NA], dtype="boolean"),
        }
    )
    got = area_excedente(frame, rules=RULES, escenario=RULES.scenario("zuae_2_pisos"))
    assert got["ae_problema"].tolist() == ["sin COS PB en el PIT", "elegibilidad ZUAE sin dato"]
    assert got["ae_m2"].isna().all()
