"""Ámbitos (quitogeo.ambitos): per-lot texts, built once per distinct combination, returned as categoricals.

The texts must be exactly what the run stored before (an object column compacted by
``pipeline.compact_text``), whatever the input's dtypes: plain object columns or the run's categoricals.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from test_ambitos import hand_project

from quitogeo.ambitos import OUTPUT_COLUMNS, detect_ambitos, join_puos
from quitogeo.pipeline import compact_text
from quitogeo.rules import load_rules

TEXT_COLUMNS = (
    "clasificacion_anterior",
    "clasificacion_nueva",
    "uso_anterior",
    "uso_nuevo",
    "uso_equivalencia",
    "lote_minimo_motivo",
    "ir_cu_fuente",
    "ir_lm_fuente",
    "ir_fuente",
    "ambitos",
    "ambito_aplicado",
    "estado",
)


@pytest.fixture(scope="module")
def rules():
    return load_rules()


def _values(series: pd.Series) -> list[object]:
    return [None if pd.isna(v) else v for v in series.astype(object)]


def _messy_project() -> pd.DataFrame:
    """The hand project with padded, empty, lower-case and unknown codes, repeated with different rows."""
    lots = pd.concat([hand_project()] * 3, ignore_index=True)
    lots.index = pd.Index(np.arange(len(lots))[::-1] * 2 + 5)  # not positions: results align to it
    k = len(hand_project())
    lots.loc[lots.index[k + 1], "puos_uso"] = " R1 "  # stripped: the same R1 → Tipología 2 equivalence
    lots.loc[lots.index[k + 3], "uso_principal"] = "m"  # homologated as M (case-insensitive)
    lots.loc[lots.index[k + 4], "puos_uso"] = "XX"  # unknown code: said in estado
    lots.loc[lots.index[k + 5], "administracion_zonal"] = " "  # empty: no AZ
    lots.loc[lots.index[2 * k + 6], "puos_clasificacion"] = ""
    lots.loc[lots.index[2 * k + 7], "lote_minimo"] = np.nan
    return lots


def test_text_columns_are_the_compacted_texts(rules):
    out = detect_ambitos(_messy_project(), rules=rules)
    assert list(out.columns) == list(OUTPUT_COLUMNS)
    for col in TEXT_COLUMNS:
        series = out[col]
        if series.isna().all():
            assert series.dtype == object, col  # compact_text keeps an all-null column as object None
            continue
        assert isinstance(series.dtype, pd.CategoricalDtype), col
        cats = list(series.cat.categories)
        # the categories compact_text makes: the sorted distinct values present, none unused
        assert cats == sorted(set(series.dropna().astype(str))), col
    # compacting again changes nothing (the run's compact_text passes them through)
    again = compact_text(out)
    for col in TEXT_COLUMNS:
        assert _values(again[col]) == _values(out[col]), col


def test_categorical_inputs_give_the_same_results(rules):
    """The run hands detect_ambitos categoricals: the result equals that of plain object columns."""
    lots = _messy_project()
    plain = detect_ambitos(lots, rules=rules)
    coded = detect_ambitos(compact_text(lots), rules=rules)
    for col in OUTPUT_COLUMNS:
        assert _values(coded[col]) == _values(plain[col]), col
    assert coded.index.equals(lots.index)


def test_messy_codes_are_stripped_and_said(rules):
    lots = _messy_project()
    out = detect_ambitos(lots, rules=rules)
    k = len(hand_project())
    # " R1 " is R1: the Tabla 2 equivalence of A02 (R1, 2 floors → Tipología 2) holds
    a02 = lots.index[k + 1]
    assert out.loc[a02, "uso_anterior"] == "R1"
    assert out.loc[a02, "uso_equivalencia"] == "Tabla 2: R1 (1–3 pisos) → Tipología 2"
    # "XX" is no known use: no ámbito, no figure, and estado names the code and the fix
    xx = lots.index[k + 4]
    assert pd.isna(out.loc[xx, "ambito_uso"]) and pd.isna(out.loc[xx, "cod"])
    assert out.loc[xx, "estado"] == (
        "uso PUOS 'XX' sin homologación en las reglas (agréguelo a [usos.homologacion])"
    )
    # an empty PUOS classification is null, not ""
    assert pd.isna(out.loc[lots.index[2 * k + 6], "clasificacion_anterior"])


def test_several_messages_join_in_order(rules):
    """Every failing §2.2.2 condition is listed, in the order of the checks, and estado joins its messages."""
    lots = hand_project().iloc[:2].copy()
    first, second = lots.index
    # lote mínimo 600 → 300 with COS PB 50 → 35 %, 4 → 3 floors on 500 m² < 2 × 300 m²: three failures
    lots.loc[first, ["lote_minimo", "puos_cos_pb", "cos_pb", "puos_pisos", "pisos_basicos", "area_m2"]] = [
        300.0,
        50.0,
        35.0,
        4.0,
        3.0,
        500.0,
    ]
    # unknown PUOS use and no lote mínimo in the PUGS: two messages, joined with "; "
    lots.loc[second, ["puos_uso", "lote_minimo"]] = ["XX", np.nan]
    out = detect_ambitos(lots, rules=rules)
    assert out.loc[first, "lote_minimo_motivo"] == (
        "§2.2.2 no se cumple, no se cobra: COS PB nuevo 35 % < anterior 50 %; pisos nuevos 3 < anteriores 4; "
        "el predio (500.00 m²) no alcanza 2 × lote mínimo nuevo (300 m²): ningún lote resultante menor al "
        "lote mínimo anterior"
    )
    assert not out.loc[first, "lote_minimo_precondiciones"]
    assert out.loc[second, "lote_minimo_motivo"] == ""  # not reduced: nothing to check
    assert out.loc[second, "estado"] == (
        "uso PUOS 'XX' sin homologación en las reglas (agréguelo a [usos.homologacion]); "
        "sin lote mínimo del PUOS o del PUGS"
    )
    assert out.loc[second, "ambitos"] == "sin cambio (sin dato: uso, lote mínimo)"


def test_join_puos_texts_are_categoricals(rules):
    from quitogeo.testing import layer, rect

    lots = layer(
        [
            {"clave_catastral": "1", "geometry": rect(0, 0, 10, 10)},
            {"clave_catastral": "2", "geometry": rect(100, 0, 110, 10)},  # outside every zone
            {"clave_catastral": "3", "geometry": rect(30, 0, 40, 10)},
        ]
    )
    puos = layer(
        [
            {"uso_principal": "R2", "codigo_edificabilidad": "A603-35", "geometry": rect(-10, -10, 20, 20)},
            {"uso_principal": "M", "codigo_edificabilidad": None, "geometry": rect(25, -10, 50, 20)},
        ]
    )
    out = join_puos(lots, puos, rules=rules)
    assert isinstance(out["puos_uso"].dtype, pd.CategoricalDtype)
    assert list(out["puos_uso"].cat.categories) == ["M", "R2"]  # sorted, as compact_text orders them
    assert _values(out["puos_uso"]) == ["R2", None, "M"]
    assert _values(out["puos_codigo_edificabilidad"]) == ["A603-35", None, None]
    assert out["n_puos"].tolist() == [1, 0, 1]


def test_figures_print_as_format_does() -> None:
    # ".2f" is printed from whole cents in Arrow's kernels away from a half; halves (1.125 → "1.12", the
    # binary value's half-even), -0.0, NaN, infinities and huge values go through format()
    from quitogeo.ambitos import _figures

    rng = np.random.default_rng(3)
    values = np.concatenate(
        [
            rng.uniform(0, 50_000, 5000),
            np.round(rng.uniform(0, 5000, 2000), 3),
            [0.005, 0.015, 1.125, 2.675, 0.0, -0.0, -3.2, np.nan, np.inf, 1e12, 1e7 - 0.005, 400.0],
        ]
    )
    rng.shuffle(values)
    for spec in (".2f", "g"):
        got = _figures(values, spec).to_pylist()
        assert got == [format(x, spec) for x in values.tolist()]
