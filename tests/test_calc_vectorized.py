"""The vectorised COD (cod_frame): alignment, invalid rows, exact cents at half-cent boundaries, larger-of."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from quitogeo.calc import compute_cod
from quitogeo.calc.vectorized import (
    OUTPUT_COLUMNS,
    _exact_floats,
    cod_arrays,
    cod_frame,
    mayor_frame,
    needed_columns,
)
from quitogeo.errors import CalcInputError
from quitogeo.rules import load_rules

R = load_rules()


def edif(n: int = 1, **over: object) -> pd.DataFrame:
    base = {"alfa": 0.12, "vc": 500.0, "fu": 1.0, "ae": 300.0, "area_terreno": 400.0, "aiva": 450.0}
    base.update(over)  # type: ignore[arg-type]
    return pd.DataFrame({k: np.full(n, v, dtype=float) for k, v in base.items()})


def test_acceptance_example_and_output_columns() -> None:
    # 60 × 300 × 0.22 = 3960.00
    out = cod_frame(edif(), ambito="edificabilidad", rules=R)
    assert list(out.columns) == list(OUTPUT_COLUMNS)
    row = out.iloc[0]
    assert row["cod"] == 3960.0 and row["cod_centavos"] == 396000 and row["cod_exonerado_centavos"] == 396000
    assert (row["beta"], row["beta_fila"], row["beta_columna"], row["ic"], row["vs"]) == (
        0.22,
        2,
        1,
        0.75,
        60.0,
    )
    assert row["valido"] and row["motivo_calc"] == ""
    assert str(out["cod_centavos"].dtype) == "Int64" and out["cod"].dtype == np.float64


def test_result_is_aligned_to_a_non_default_index() -> None:
    frame = edif(3, ae=[100.0, 300.0, 900.0])  # type: ignore[arg-type]
    frame.index = pd.Index(["17-001", "17-002", "17-003"], name="clave_catastral")
    out = cod_frame(frame.iloc[::-1], ambito="edificabilidad", rules=R)
    assert list(out.index) == ["17-003", "17-002", "17-001"]
    # 60 × 900 × 0.25 (IC = 2.25 → column 3) = 13500; 60 × 100 × 0.22 = 1320
    assert out.loc["17-003", "cod"] == 13500.0 and out.loc["17-001", "cod"] == 1320.0


def test_half_cent_boundaries_get_exact_cents() -> None:
    # Vs = 0.1 × 100 × 1 = 10, β = 0.20 (AIVA 100, IC 1.5): COD = 2 × Ae. Ae = 0.0725 → 0.145 → 0.15 half-up;
    # float64 gives 0.14499999… so a naive floor(x·100 + 0.5) says 14 cents. Likewise 0.5025 → 1.005 → 1.01.
    ae = np.array([0.0725, 0.1425, 0.5025, 0.5075, 3.0])
    frame = pd.DataFrame(
        {"alfa": 0.1, "vc": 100.0, "fu": 1.0, "ae": ae, "area_terreno": ae / 1.5, "aiva": 100.0}
    )
    naive = np.floor(0.1 * 100.0 * 1.0 * ae * 0.2 * 100 + 0.5)
    out = cod_frame(frame, ambito="edificabilidad", rules=R)
    assert out["cod_centavos"].tolist() == [15, 29, 101, 102, 600]
    assert (naive != out["cod_centavos"].to_numpy(np.int64)).any()  # the exact path made a difference


def test_ic_band_edges_are_exact() -> None:
    # IC = 1 and IC = 2 exactly are column 2 (1 ≤ IC ≤ 2); a hair above 2 is column 3.
    frame = edif(4, ae=[0.3, 0.6, 0.6000001, 0.2999999], area_terreno=0.3)  # type: ignore[arg-type]
    out = cod_frame(frame, ambito="edificabilidad", rules=R)
    assert out["beta_columna"].tolist() == [2, 2, 3, 1]


@pytest.mark.parametrize(
    "ambito", ["uso", "edificabilidad", "lote-minimo", "edificabilidad-uso", "edificabilidad-lote-minimo"]
)
def test_every_ambito_matches_the_scalar_form(ambito: str) -> None:
    rng = np.random.default_rng(7)
    n = 400
    frame = pd.DataFrame(
        {
            "alfa": rng.uniform(0.07, 0.2, n).round(3),
            "vc": rng.uniform(0, 900, n).round(2),
            "fu": rng.uniform(0, 1.5, n).round(2),
            "ae": rng.uniform(0, 2000, n).round(2),
            "area_terreno": rng.uniform(1, 1000, n).round(2),
            "aiva": rng.uniform(0, 900, n).round(0),
            "ir": rng.uniform(0, 1, n).round(2),
            "auv": rng.uniform(0, 900, n).round(1),
            "vsa": rng.uniform(0, 1e6, n).round(2),
            "vs_c": rng.uniform(0, 500, n).round(3),
        }
    )
    out = cod_frame(frame, ambito=ambito, rules=R)
    assert out["valido"].all()
    for i in range(0, n, 7):
        row = frame.iloc[i]
        s = compute_cod(ambito, rules=R, **{k: row[k] for k in needed_columns(ambito)})
        assert out["cod_centavos"].iloc[i] == int(s.cod * 100)
        assert out["beta"].iloc[i] == float(s.beta)
    if ambito == "lote-minimo":
        assert out["vs"].isna().all()
    if ambito in ("uso", "lote-minimo"):
        assert (out["ic"] == 0).all() and (out["beta_columna"] == 1).all()  # IC = 0 without Ae


def test_vis_exoneration_in_the_frame() -> None:
    # below 20 % (79.99 of 400): none; at 20 % (80): 3960 × 220/300 = 2904; Ae = VIS: total; NaN: no VIS
    frame = edif(4)
    frame["vis"] = [79.99, 80.0, 300.0, np.nan]
    frame["area_util_proyecto"] = [400.0, 400.0, 1000.0, np.nan]
    out = cod_frame(frame, ambito="edificabilidad", rules=R)
    assert out["cod_exonerado_centavos"].tolist() == [396000, 290400, 0, 396000]
    assert out["exoneracion"].tolist() == pytest.approx([0.0, 80 / 300, 1.0, 0.0])
    assert (out["cod_centavos"] == 396000).all()


def test_beneficio_frame_has_beta_one_and_needs_no_aiva() -> None:
    frame = edif().drop(columns="aiva")
    out = cod_frame(frame, ambito="edificabilidad", rules=R, beneficio=True)
    # B = 60 × 300 = 18000
    assert out["cod"].iloc[0] == 18000.0 and out["beta"].iloc[0] == 1.0
    assert out["beta_fila"].isna().all()


def test_invalid_rows_are_marked_not_zeroed() -> None:
    frame = edif(7)
    frame.loc[1, "ae"] = np.nan
    frame.loc[2, "area_terreno"] = -5.0
    frame.loc[3, "alfa"] = 0.25
    frame.loc[4, "vc"] = np.inf
    frame.loc[5, "area_terreno"] = 0.0
    frame["vis"] = np.nan
    frame["area_util_proyecto"] = np.nan
    frame.loc[6, "vis"] = 500.0
    frame.loc[6, "area_util_proyecto"] = 400.0
    out = cod_frame(frame, ambito="edificabilidad", rules=R)
    assert out["valido"].tolist() == [True, False, False, False, False, False, False]
    assert out["cod"].iloc[1:].isna().all() and out["cod_centavos"].iloc[1:].isna().all()
    assert out["cod_exonerado_centavos"].iloc[1:].isna().all()
    motivos = out["motivo_calc"].astype(str).tolist()
    assert motivos[0] == ""
    assert "falta ae" in motivos[1]
    assert "area_terreno negativo" in motivos[2]
    assert "alfa fuera de [0.07, 0.2]" in motivos[3]
    assert "vc no es un número finito" in motivos[4]
    assert "area_terreno = 0" in motivos[5]
    assert "vis mayor que area_util_proyecto" in motivos[6]


def test_estricto_raises_on_the_first_invalid_row() -> None:
    frame = edif(3)
    frame.index = pd.Index(["a", "b", "c"])
    frame.loc["b", "ae"] = -1.0
    with pytest.raises(CalcInputError, match=r"fila 'b'.*ae negativo") as exc:
        cod_frame(frame, ambito="edificabilidad", rules=R, estricto=True)
    assert exc.value.parameter == "ae"


def test_missing_column_and_unknown_ambito_raise() -> None:
    with pytest.raises(CalcInputError, match="falta la columna 'aiva'"):
        cod_frame(edif().drop(columns="aiva"), ambito="edificabilidad", rules=R)
    with pytest.raises(CalcInputError, match="desconocido"):
        cod_frame(edif(), ambito="otro", rules=R)
    frame = edif()
    frame["vis"] = 10.0
    with pytest.raises(CalcInputError, match="area_util_proyecto"):
        cod_frame(frame, ambito="edificabilidad", rules=R)


def test_vis_in_an_ambito_without_ae_marks_the_row() -> None:
    frame = pd.DataFrame(
        {
            "vsa": [1000.0, 1000.0],
            "ir": [0.1, 0.1],
            "aiva": [100.0, 100.0],
            "vis": [np.nan, 5.0],
            "area_util_proyecto": [np.nan, 10.0],
        }
    )
    out = cod_frame(frame, ambito="lote-minimo", rules=R)
    assert out["valido"].tolist() == [True, False]


def test_mayor_frame_picks_the_larger_per_row() -> None:
    # uso: 63 × 0.30 × 250 × 0.26 = 1228.50 on both rows; lote-mínimo: 9750.00 then 390.00
    uso = cod_frame(
        pd.DataFrame({"vs_c": [63.0, 63.0], "ir": [0.3, 0.3], "auv": [250.0, 250.0], "aiva": [600.0, 600.0]}),
        ambito="uso",
        rules=R,
    )
    lm = cod_frame(
        pd.DataFrame({"vsa": [250000.0, 10000.0], "ir": [0.15, 0.15], "aiva": [600.0, 600.0]}),
        ambito="lote-minimo",
        rules=R,
    )
    out = mayor_frame(uso, lm)
    assert out["ambito_ganador"].tolist() == ["lote-minimo", "uso"]
    assert out["cod_centavos"].tolist() == [975000, 122850]


def test_ic_edge_rows_in_whole_cents_match_the_decimal_comparison() -> None:
    # Ae exactly 2 × área (IC = 2, the closed upper edge of column 2) and one cent around it: the integer
    # comparison of whole-cent values must give the scalar form's Decimal answer (2, 2, 3 and 1 below 1)
    from decimal import Decimal

    from quitogeo.calc.beta import beta_bands, ic_column_from_ae
    from quitogeo.calc.params import calc_params

    params = calc_params(R)
    area = np.array([480.73, 480.73, 480.73, 0.07, 123456.78, 333.33])
    ae = np.array([961.46, 961.45, 961.47, 0.14, 246913.56, 333.32])
    _, columna, _ = beta_bands(np.full(6, 300.0), ae, area, params)
    want = [
        ic_column_from_ae(Decimal(repr(float(a))), Decimal(repr(float(t))), params)
        for a, t in zip(ae, area, strict=True)
    ]
    assert columna.tolist() == want == [2, 2, 3, 2, 2, 1]


# --- the vectorised exact path (rows near a half cent or a band edge) -------------------------------------


@settings(max_examples=300, deadline=None)
@given(
    values=st.lists(
        st.one_of(
            st.floats(0, 1e7, allow_nan=False),  # arbitrary binary floats: 17 significant digits
            st.integers(0, 10**9).map(lambda k: k / 100),  # figures with two decimals (Ae, areas, prices)
            st.integers(0, 10**6).map(lambda k: k / 1000),
            st.sampled_from([0.0, 0.1, 0.12, 0.3, 1e-5, 123456789.123, 2.0**52, 1e15, 1e22]),
        ),
        min_size=1,
        max_size=20,
    )
)
def test_exact_floats_read_each_float_as_its_repr(values: list[float]) -> None:
    # The scalar path reads a float as Decimal(repr(x)); the vectorised reading must give the same number.
    exact = _exact_floats(np.array(values, dtype=np.float64))
    for x, m, k in zip(values, exact.m.tolist(), exact.k.tolist(), strict=True):
        assert Decimal(m).scaleb(-k) == Decimal(repr(float(x))), (x, m, k)


def test_exact_path_prices_half_cent_ties_like_the_scalar_form() -> None:
    # COD = α × Vc × Fu × Ae × β = 0.1 × 500 × 1 × Ae × 0.17 (AIVA 100: row 1; IC = 1/1.5: column 1), i.e.
    # 8.5 × Ae: Ae = 1.01 gives 8.585 exactly, a half cent (hand: 858.5 cents → 859, half up), which the
    # float product may put either side. Many such rows at once (the vectorised exact path), each checked
    # against the scalar form.
    ae = np.array([0.01, 1.01, 12.03, 1234.57, 7.45, 100.11])
    frame = edif(len(ae), alfa=0.1, ae=ae, area_terreno=ae * 1.5, aiva=100.0)
    out = cod_frame(frame, ambito="edificabilidad", rules=R)
    assert out["cod_centavos"].iloc[1] == 859
    assert out["cod_centavos"].iloc[0] == 9  # 8.5 cents → 9
    for i, row in enumerate(frame.to_dict("records")):
        s = compute_cod("edificabilidad", rules=R, **row)
        assert out["cod_centavos"].iloc[i] == int(s.cod * 100), row


@pytest.mark.parametrize("ambito", ["uso", "edificabilidad", "lote-minimo", "edificabilidad-uso"])
def test_cod_arrays_gives_cod_frame_columns_and_only_those_asked(ambito: str) -> None:
    frame = pd.DataFrame(
        {
            "alfa": [0.12, 0.12, np.nan],
            "vc": [500.0, 480.0, 500.0],
            "fu": [1.0, 1.2, 1.0],
            "ae": [300.0, 1.0125, 10.0],
            "area_terreno": [400.0, 1.51875, 20.0],
            "aiva": [450.0, 100.0, 300.0],
            "ir": [1.2, 1.5, 1.1],
            "auv": [400.0, 1.51875, 20.0],
            "vsa": [10000.0, 2500.55, 100.0],
            "vs_c": [60.0, 57.6, 60.0],
        }
    )
    full = cod_frame(frame, ambito=ambito, rules=R)
    columns = {name: frame[name].to_numpy() for name in frame.columns}
    some = cod_arrays(columns, n=len(frame), ambito=ambito, rules=R, outputs=("cod_centavos", "ic"))
    assert list(some) == ["valido", "ic", "cod_centavos"]  # valido always, in OUTPUT_COLUMNS order
    for name, values in some.items():
        pd.testing.assert_series_equal(pd.Series(values, name=name), full[name], check_index=False)
    for name, values in cod_arrays(columns, n=len(frame), ambito=ambito, rules=R).items():
        pd.testing.assert_series_equal(pd.Series(values, name=name), full[name], check_index=False)
    assert not frame["alfa"].isna().iloc[:2].any()  # the inputs are only read
