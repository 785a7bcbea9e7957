"""``motivos`` built once per distinct combination of messages, as the categoricals compact_text makes."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from test_eligibility import frame  # one eligible lot; keyword arguments override columns

from quitogeo.categories import labelled
from quitogeo.eligibility import evaluate
from quitogeo.pipeline import compact_text
from quitogeo.rules import load_rules

RULES = load_rules()
SCENARIO = RULES.scenario("ecoeficiencia_90")
MOTIVOS = ("motivos_zuae", "motivos_cos_pb", "motivos_eco", "motivos")


def lots(rows: list[dict]) -> pd.DataFrame:
    """Lots that are the eligible lot of ``test_eligibility.frame`` but for each row's overrides."""
    return pd.concat([frame(**row) for row in rows], ignore_index=True)


def test_unknown_message_already_said_inside_another_text_is_not_repeated() -> None:
    # the road's name contains the unknown-use message: COS PB says the road (Art. 13 e) before the use
    # (Art. 13 i), so the use's "sin dato" is already in the text and is not said again; Eco says the use
    # (Art. 16 b) first, and the road's failure is a failure: always said
    name = "sin dato: uso 'XYZ' desconocido"
    got = evaluate(
        lots(
            [
                {
                    "uso_principal": "XYZ",
                    "uso_categoria": None,
                    "min_ancho_frente_m": 10.0,
                    "via_mas_angosta": name,
                }
            ]
        ),
        rules=RULES,
        escenario=SCENARIO,
    ).iloc[0]
    road = f"frente a vía de 10 m < 12 m ({name})"
    assert got["motivos_cos_pb"] == road
    assert got["motivos_eco"] == f"{name}, {road}"
    assert got["motivos"] == f"ZUAE: {road}; COS PB: {road}; Eco: {name}, {road}"


def test_lot_without_pit_says_it_once_per_section() -> None:
    # COS PB: urbano, lote mínimo and uso are all unknown for want of a PIT: one "sin dato: predio sin PIT"
    got = evaluate(
        lots([{"codigo_pit": None, "clasificacion": None, "lote_minimo": np.nan, "uso_categoria": None}]),
        rules=RULES,
        escenario=SCENARIO,
    ).iloc[0]
    assert got["motivos_cos_pb"] == "sin dato: predio sin PIT"
    assert got["motivos_eco"] == "sin dato: predio sin PIT"
    assert got["motivos"] == "COS PB: sin dato: predio sin PIT; Eco: sin dato: predio sin PIT"


def test_texts_with_separators_and_any_unicode_sort_as_python_sorts() -> None:
    # road names with "; " and ", ", characters beyond Latin-1 and an empty name: the categories are the
    # sorted distinct texts (Python's code point order), exactly what compact_text makes of the plain texts
    names = ["Calle; X", "a, b", "Av. ≥ Z", "", "Ñandú", "Z"]
    rows = [{"min_ancho_frente_m": 10.0, "via_mas_angosta": v} for v in names]
    rows += [{"area_m2": a} for a in (120.0, 120.9, 399.99, 35.0)] + [{}]
    got = evaluate(lots(rows * 3), rules=RULES, escenario=SCENARIO)
    for col in MOTIVOS:
        assert isinstance(got[col].dtype, pd.CategoricalDtype), col
        cats = list(got[col].cat.categories)
        assert cats == sorted(set(got[col].astype(object))), col
        plain = pd.DataFrame({col: got[col].astype(object)})
        pd.testing.assert_series_equal(compact_text(plain)[col], got[col])
    # 120.0 and 120.9 both read "área 120 m²": one text, one category
    assert got["motivos_zuae"].iloc[6] == got["motivos_zuae"].iloc[7] == "área 120 m² < 400 m²"
    assert got["motivos"].iloc[10] == ""  # the eligible lot


@pytest.mark.parametrize("seed", [1, 2])
def test_random_batch_reads_as_each_lot_alone(seed: int) -> None:
    rng = np.random.default_rng(seed)
    choices = {
        "area_m2": [np.nan, 35.0, 350.4, 399.6, 1000.0, 1500.0],
        "lote_minimo": [np.nan, 200.0, 1200.0, 400.0],
        "codigo_pit": [None, "P"],
        "uso_principal": ["M", "R1", "XYZ", None],
        "uso_categoria": ["M", "R1", None],
        "clasificacion": ["urbano", "rural", None],
        "en_zuae": [True, False, pd.NA],
        "n_vias_frente": [0, 1, 2, pd.NA],
        "min_ancho_frente_m": [np.nan, 8.0, 10.5, 14.0],
        "via_mas_angosta": ["Calle A", "Calle B; C", None],
        "frente_sin_continuidad": [True, False, pd.NA],
        "vias_sin_continuidad": ["Calle A", None],
        "en_plan_especial": [True, False, pd.NA],
        "plan_especial": ["Plan Z", None],
        "riesgo_no_mitigable": [True, False, pd.NA],
        "riesgo_ids": ["R1", None],
        "en_influencia_metro": [True, False, pd.NA],
    }
    rows = [{k: v[rng.integers(len(v))] for k, v in choices.items()} for _ in range(40)]
    rows += rows[:10]  # repeats
    batch = evaluate(lots(rows), rules=RULES, escenario=SCENARIO)
    for i, row in enumerate(rows):
        alone = evaluate(lots([row]), rules=RULES, escenario=SCENARIO).iloc[0]
        for col in MOTIVOS:
            assert batch[col].iloc[i] == alone[col], (i, col)


def test_no_lot_gives_object_columns_and_columns_own_their_arrays() -> None:
    empty = evaluate(lots([{}]).iloc[:0], rules=RULES, escenario=SCENARIO)
    assert all(empty[col].dtype == object for col in MOTIVOS)
    got = evaluate(lots([{}, {"n_vias_frente": 0}]), rules=RULES, escenario=SCENARIO)
    # the road conditions are one evaluation for the three sections, but each column is its own array:
    # writing one never changes another
    got.loc[0, "zuae_frente"] = False
    assert bool(got.loc[0, "cos_pb_frente"]) and bool(got.loc[0, "eco_frente"])
    assert got["elegible_zuae"].tolist() == [True, False]


def test_sorted_distinct_labels_make_the_same_categorical() -> None:
    # eligibility hands its texts to labelled sorted and distinct (its fast path), unused ones included
    labels = np.array(["", "a", "b, c", "b; c", "ñ"], dtype=object)
    codes = np.array([4, 2, -1, 2, 0])
    got = labelled(codes, labels)
    plain = pd.DataFrame({"t": pd.Series([labels[c] if c >= 0 else None for c in codes], dtype=object)})
    pd.testing.assert_series_equal(pd.Series(got, name="t"), compact_text(plain)["t"])
    assert list(got.categories) == ["", "b, c", "ñ"]
